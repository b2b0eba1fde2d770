"""Provisioning time as the fleet grows: the instance module against plain `docker run`.

For each N (default 1 5 10 20 40), in one run and alternating which goes first:
  module   bench/provisioning.yml creates N instances on one private vlan (one play
           over the fleet, forks = N), each waited for until systemd reports running;
  rerun    the same playbook again: the idempotent no-op;
  plain    `docker run` of the same image onto the same network, N times, with the
           same capabilities, then waiting until systemd reports running in each.
Prints a table (seconds, ratio module/plain, rerun as a share of the first run) and
writes bench/results/provisioning.json. Run as root on the Docker host after
make setup and make images:

  .venv/bin/python bench/provisioning.py [N ...]
"""

import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "provisioning.json")
IMAGE = "secure-cloud-iaas/instance:debian12"
NETWORK = "sciaas-vlan-bench-prov"
# What the docker provider gives an instance, so the plain side boots the same way.
PLAIN_RUN = ["--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW",
             "--cap-add", "NET_BROADCAST", "--security-opt", "seccomp=unconfined", "--cgroupns=host",
             "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
             "--tmpfs", "/tmp", "-e", "container=docker", "--label", "secure_cloud.iaas.managed=true"]


def timed(func, *args):
    start = time.monotonic()
    func(*args)
    return time.monotonic() - start


def playbook(n, state):
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as inv:
        json.dump({"fleet": {"hosts": dict(("bench-%02d" % i, None) for i in range(n))}}, inv)
        inv.flush()
        subprocess.run(["ansible-playbook", "-i", inv.name, "-f", str(max(n, 1)), "-e", "fleet_state=%s" % state,
                        os.path.join(ROOT, "bench", "provisioning.yml")],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def wait_running(names, timeout=300):
    pending, deadline = set(names), time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            # Not booted yet is an answer here, not an error.
            state = subprocess.run(["docker", "exec", name, "systemctl", "is-system-running"],
                                   capture_output=True, text=True, check=False).stdout.strip()
            if state in ("running", "degraded"):
                pending.discard(name)
        time.sleep(0.1)
    if pending:
        sys.exit("plain containers did not boot: %s" % ", ".join(sorted(pending)))


def plain(n):
    names = ["sciaas-bench-plain-%02d" % i for i in range(n)]
    for i, name in enumerate(names):
        subprocess.run(["docker", "run", "-d", "--name", name, "--network", NETWORK, "--ip", "10.215.0.%d" % (100 + i)]
                       + PLAIN_RUN + [IMAGE], check=True, stdout=subprocess.DEVNULL)
    wait_running(names)
    return names


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [1, 5, 10, 20, 40]
    rows = []
    playbook(0, "present")  # the vlan, outside the timings
    try:
        for index, n in enumerate(sizes):
            row = {"n": n}
            order = ("module", "plain") if index % 2 == 0 else ("plain", "module")
            for side in order:
                if side == "module":
                    row["module_s"] = timed(playbook, n, "present")
                    row["rerun_s"] = timed(playbook, n, "present")
                    playbook(n, "absent")
                else:
                    start = time.monotonic()
                    names = plain(n)
                    row["plain_s"] = time.monotonic() - start
                    subprocess.run(["docker", "rm", "-f"] + names, check=True, stdout=subprocess.DEVNULL)
            row["first"] = order[0]
            row["ratio"] = row["module_s"] / row["plain_s"]
            row["rerun_share"] = row["rerun_s"] / row["module_s"]
            rows.append(row)
            print("N=%-3d module %6.1f s  plain %6.1f s  ratio %.2f  rerun %5.1f s (%3.0f%%)  first: %s"
                  % (n, row["module_s"], row["plain_s"], row["ratio"], row["rerun_s"], 100 * row["rerun_share"],
                     row["first"]), flush=True)
    finally:
        subprocess.run(["ansible", "localhost", "-c", "local", "-m", "secure_cloud.iaas.vlan",
                        "-a", "name=bench-prov state=absent"], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    print()
    print("%4s %10s %9s %7s %9s %8s" % ("N", "module_s", "plain_s", "ratio", "rerun_s", "rerun_%"))
    for r in rows:
        print("%4d %10.1f %9.1f %7.2f %9.1f %8.0f" % (r["n"], r["module_s"], r["plain_s"], r["ratio"], r["rerun_s"],
                                                      100 * r["rerun_share"]))
    print("load average %.1f" % os.getloadavg()[0])
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as handle:
        json.dump({"rows": rows, "load_average": os.getloadavg()[0]}, handle, indent=2)
    print("written: %s" % os.path.relpath(RESULTS, ROOT))


if __name__ == "__main__":
    main()
