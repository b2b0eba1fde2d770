"""Exit 0 when systemd boots to running (or degraded) in IMAGE as a guest would run it.

Usage: image_boots.py IMAGE [SECONDS]. The container gets the flags of every
guest (guest.create_options) and the host's half of the boot (guest.prepare),
so an image counts only if it boots confined.
"""
import sys
import time

import docker

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest


def main(image, seconds=60):
    client = docker.from_env()
    container = client.containers.create(image, name="sciaas-imagecheck-%d" % int(time.time() * 1000),
                                         labels={"secure_cloud.iaas.managed": "true"},
                                         **guest.create_options(512 * 1024 * 1024))
    try:
        container.start()
        container.reload()
        guest.prepare(container.attrs["State"]["Pid"], container.name)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            state = container.exec_run(["systemctl", "is-system-running"]).output.decode().strip()
            if state in ("running", "degraded"):
                return 0
            time.sleep(0.5)
        print("%s: systemd says %r after %ss" % (image, state, seconds), file=sys.stderr)
        return 1
    finally:
        container.remove(force=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 60))
