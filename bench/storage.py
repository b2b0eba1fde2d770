"""Volumes: write and read through the encryption, backup and restore, beside plain peers.

On the docker provider's own volume code (plugins/module_utils/docker/volumes.py,
driven here directly, without module runs around it), in one pass:

- write and read: MEGABYTES of random data in 4 MiB files written (fsync'd) to
  an encrypted volume (gocryptfs in its ext4 image) and to an unencrypted one
  (the same image, no gocryptfs), then read back with the page cache dropped;
- backup: the encrypted volume backed up with restic (the first backup, then
  one after a tenth of the files was rewritten) beside tar | gzip -1 of the
  same plaintext into a file (the peer copies everything every time and
  encrypts nothing);
- restore: the second backup restored into a new volume (volume made, restic
  restore, closed) beside tar -x of the peer's archive into an unencrypted one.

Prints the figures and writes bench/results/storage.json. Measures, never
asserts. Run as root on the Docker host after make setup.

  .venv/bin/python bench/storage.py [MEGABYTES]
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))
RESULTS = os.path.join(ROOT, "bench", "results", "storage.json")

from ansible_collections.secure_cloud.iaas.plugins.module_utils import secret_file  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.provider import DockerProvider  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore  # noqa: E402

FILE_MB = 4


def run(argv, data=None):
    proc = subprocess.run(argv, input=data, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def timed(fn):
    start = time.monotonic()
    out = fn()
    return time.monotonic() - start, out


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as handle:
        handle.write("3\n")


def write_files(path, megabytes):
    for i in range(megabytes // FILE_MB):
        subprocess.run(["dd", "if=/dev/urandom", "of=%s/f%03d" % (path, i), "bs=1M", "count=%d" % FILE_MB,
                        "conv=fsync", "status=none"], check=True)


def read_files(path):
    subprocess.run("cat %s/* > /dev/null" % path, shell=True, check=True)


def main():
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    size_gb = max(1, (megabytes * 3) // 1024 + 1)
    work = tempfile.mkdtemp(prefix="sciaas-bench-storage-")
    params = dict(provider="docker", docker_host="unix:///var/run/docker.sock", docker_timeout=60, state_dir=work,
                  start_host_agent=False)
    provider = DockerProvider(params, StateStore(work), run_command=run)
    volumes = provider.volumes

    def locked(fn):
        # Records are written under the engine store's lock, as a module does.
        with provider.transaction():
            return fn()
    key, password = os.path.join(work, "bench.key"), os.path.join(work, "backup.key")
    secret_file.create(key, secret_file.generate(), "key")
    secret_file.create(password, secret_file.generate(), "password")
    names = ["bench-enc", "bench-plain", "bench-restored", "bench-peer"]
    figures = dict(megabytes=megabytes, mode="docker provider volume code driven directly; page cache dropped before reads")
    peer_archive = os.path.join(work, "peer.tar.gz")
    try:
        for name, encrypted in (("bench-enc", True), ("bench-plain", False), ("bench-peer", False)):
            locked(lambda: provider.create_volume(dict(name=name, location="bench-dc1", size=size_gb, encrypted=encrypted,
                                                       labels={}, instance=None, mount_path=None), key, None, None))
        paths = dict((n, volumes.open(n, provider.store.get("volume", n))) for n in ("bench-enc", "bench-plain"))
        for name, label in (("bench-enc", "encrypted"), ("bench-plain", "plain")):
            seconds = timed(lambda: write_files(paths[name], megabytes))[0]
            figures["write_%s_mb_s" % label] = round(megabytes / seconds, 1)
            drop_caches()
            seconds = timed(lambda: read_files(paths[name]))[0]
            figures["read_%s_mb_s" % label] = round(megabytes / seconds, 1)
        source = paths["bench-enc"]
        volume = provider.get_volume("bench-enc")
        for round_name in ("first", "second"):
            if round_name == "second":
                write_files_count = max(1, megabytes // FILE_MB // 10)
                write_files(source, write_files_count * FILE_MB)  # rewrites f000.. with new random data
            drop_caches()
            seconds, backup = timed(lambda: locked(lambda: provider.create_volume_backup(
                dict(name="bench-%s" % round_name, location="bench-dc2", labels={}), volume, password)))
            figures["backup_%s_s" % round_name] = round(seconds, 2)
            figures["backup_%s_added_mb" % round_name] = round((backup["added_bytes"] or 0) / 1048576.0, 1)
            drop_caches()
            seconds = timed(lambda: subprocess.run("tar -C %s -cf - . | gzip -1 > %s" % (source, peer_archive),
                                                   shell=True, check=True))[0]
            figures["peer_tar_gzip_%s_s" % round_name] = round(seconds, 2)
            figures["peer_tar_gzip_%s_mb" % round_name] = round(os.path.getsize(peer_archive) / 1048576.0, 1)
        volumes.close("bench-enc")
        seconds = timed(lambda: locked(lambda: provider.create_volume(
            dict(name="bench-restored", location="bench-dc1", size=size_gb, encrypted=True, labels={}, instance=None,
                 mount_path=None, source="bench-second"), key, provider.backup_source("bench-second"), password)))[0]
        figures["restore_s"] = round(seconds, 2)
        peer = volumes.open("bench-peer", provider.store.get("volume", "bench-peer"))
        seconds = timed(lambda: subprocess.run(["tar", "-C", peer, "-xzf", peer_archive], check=True))[0]
        figures["peer_untar_s"] = round(seconds, 2)
    finally:
        with provider.transaction():
            for backup in provider.list_volume_backups():
                if backup["location"] == "bench-dc2":
                    provider.delete_volume_backup(backup)
            for name in names:
                current = provider.get_volume(name)
                if current:
                    provider.delete_volume(current)
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as handle:
        json.dump(figures, handle, indent=1, sort_keys=True)
    mb = megabytes
    print("storage, %d MiB of random data in %d MiB files (%s)" % (mb, FILE_MB, figures["mode"]))
    print("%-34s %12s %12s" % ("", "volume", "peer"))
    print("%-34s %9.1f MB/s %9.1f MB/s  (peer: the same image, unencrypted)" % (
        "write, fsync'd", figures["write_encrypted_mb_s"], figures["write_plain_mb_s"]))
    print("%-34s %9.1f MB/s %9.1f MB/s" % ("read, cold cache", figures["read_encrypted_mb_s"], figures["read_plain_mb_s"]))
    print("%-34s %10.2f s %10.2f s  (restic, stored %.1f MB; peer tar|gzip -1, %.1f MB)" % (
        "backup, first", figures["backup_first_s"], figures["peer_tar_gzip_first_s"], figures["backup_first_added_mb"],
        figures["peer_tar_gzip_first_mb"]))
    print("%-34s %10.2f s %10.2f s  (restic, stored %.1f MB; peer copies all again, %.1f MB)" % (
        "backup, after a tenth rewritten", figures["backup_second_s"], figures["peer_tar_gzip_second_s"],
        figures["backup_second_added_mb"], figures["peer_tar_gzip_second_mb"]))
    print("%-34s %10.2f s %10.2f s  (volume made + restic restore; peer tar -x into a plain volume)" % (
        "restore into a new volume", figures["restore_s"], figures["peer_untar_s"]))
    print("results: %s" % RESULTS)


if __name__ == "__main__":
    main()
