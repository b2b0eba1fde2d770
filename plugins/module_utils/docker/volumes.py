# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Volumes on the docker provider: real data on the engine's host, ciphertext on its disk.

A volume is a sparse ext4 image file in the engine's store (its size is the
file's, so a full volume fails with ENOSPC, and it grows online with
``resize2fs``). What lies in the image is gocryptfs ciphertext: every file's
content and name encrypted with AES-256-GCM under a master key that
``gocryptfs.conf`` keeps wrapped by the volume's key (the key file on the
controller, never on the host's disk beside it).

Why gocryptfs: LUKS needs device-mapper, which these hosts' kernels lack;
gocryptfs is a FUSE file system in Debian, authenticated (a flipped byte on
disk is an I/O error, not silent corruption) and audited. What it leaves
visible: the number of files, their sizes and the directory shape. Where
device-mapper exists, LUKS inside the same image would hide those too; that
path is not here yet, since no host here can test it.

While a volume is in use (attached, or for a snapshot or backup), it is open
on the host: the image loop-mounted at RUN_DIR/<name>/lower and its plaintext
at RUN_DIR/<name>/data (mode 0700 directories, root only). Attaching places
that mount into the running guest at its mount path (guest.inject_mount: the
kernel's open_tree/move_mount, no capability in the guest); every start of the
guest places it again before systemd runs (guest.prepare), so an attachment
survives a restart of the instance, of the engine or of the host (the agent
reopens the volume with the recorded key file).

A snapshot is a copy of the image taken while the file system above it is
frozen (fsfreeze): same key, same location. A backup is a restic snapshot of
the plaintext into the repository of its backup location on the host
(BACKUPS_DIR/<location>), encrypted with the repository's password file and
deduplicated, so every backup after the first stores only what changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.engine import container_name
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.volume import (
    backup_result,
    backups_to_prune,
    due_backup,
    snapshot_result,
    volume_result,
)

KIND, SNAPSHOT_KIND, BACKUP_KIND = "volume", "volume_snapshot", "volume_backup"
VIP_KIND = "vip"  # vips.KIND: a volume may follow a vip
RUN_DIR = "/run/secure-cloud-iaas/volumes"
BACKUPS_DIR = "/var/lib/secure-cloud-iaas/backups"
GIB = 1024 ** 3
CLOSE_TIMEOUT = 10
# Seconds a restic command waits for another's lock on the repository (a prune holds it exclusively).
RESTIC_LOCK_WAIT = 300
# The tools on the engine's host and the Debian packages that have them.
TOOLS = {"gocryptfs": "gocryptfs", "mkfs.ext4": "e2fsprogs", "resize2fs": "e2fsprogs", "fsfreeze": "util-linux",
         "restic": "restic"}


class Volumes(object):
    """engine: the Engine; store: the engine's store (records.py); run(argv, data=None): host commands."""

    def __init__(self, engine, store, run):
        self.engine = engine
        self.store = store
        self.run = run

    # -- paths and host commands -----------------------------------------------------
    def image(self, name):
        return os.path.join(self.store.state_dir, "volumes", "%s.img" % name)

    def snapshot_image(self, name):
        return os.path.join(self.store.state_dir, "snapshots", "%s.img" % name)

    @staticmethod
    def lower(name):
        return os.path.join(RUN_DIR, name, "lower")

    @staticmethod
    def data(name):
        return os.path.join(RUN_DIR, name, "data")

    @staticmethod
    def _require(tool):
        if tool in TOOLS and shutil.which(tool) is None:
            raise ProviderError("%s is not installed on the Docker host" % tool,
                                fix="install it there (apt-get install %s) and run again" % TOOLS[tool])

    def _cmd(self, argv, what, data=None):
        self._require(argv[0])
        rc, out, err = self.run(argv, data=data)
        if rc != 0:
            raise ProviderError("could not %s: %s exited %s: %s" % (what, argv[0], rc, (err or out or "").strip()[-400:]))
        return out

    def require_local(self):
        if not self.engine.is_local():
            raise ProviderError("volumes on the docker provider live on the engine's host, which this task cannot reach",
                                field="docker_host", fix="run the task on the engine's host (delegate_to it)")

    # -- results -----------------------------------------------------------------------
    def list(self):
        return [self._result(name, rec) for name, rec in sorted(self.store.list(KIND).items())]

    def _result(self, name, rec):
        instance = self.attached_to(rec)
        status = "in-use" if instance else "available"
        if not os.path.exists(self.image(name)):
            status = "error: image file missing"
        return volume_result(name, rec["location"], rec["size"], rec["encrypted"], instance=instance,
                             mount_path=rec.get("mount_path"), key_file=rec.get("key_file"), source=rec.get("source"),
                             follow_vip=rec.get("follow_vip"), backup_schedule=rec.get("backup_schedule"), status=status,
                             labels=rec.get("labels"), provider="docker", resource_id=rec["id"])

    # -- open and close on the host ----------------------------------------------------
    @staticmethod
    def _is_mounted(path):
        return guest.mounted_at(path)

    def open(self, name, rec):
        """The volume's plaintext at data(name) (mounted on the host); nothing when it already is."""
        lower, data = self.lower(name), self.data(name)
        for path in (os.path.dirname(RUN_DIR), RUN_DIR, os.path.dirname(lower), lower, data):
            os.makedirs(path, mode=0o700, exist_ok=True)
        self._mount_image(name)
        if self._is_mounted(data):
            return data
        if rec["encrypted"]:
            self._gocryptfs(name, rec["key_file"], os.path.join(lower, "cipher"), data)
        else:
            self._cmd(["mount", "--bind", os.path.join(lower, "plain"), data], "mount %s" % name)
        return data

    def _mount_image(self, name):
        """The image at lower(name), once; nosuid and nodev: what a guest wrote is never a set-uid
        program or a device on the host."""
        lower = self.lower(name)
        os.makedirs(lower, mode=0o700, exist_ok=True)
        if not self._is_mounted(lower):
            self._cmd(["mount", "-o", "loop,nosuid,nodev", self.image(name), lower], "mount the image of %s" % name)
        return lower

    def _gocryptfs(self, name, key_file, cipher, data):
        """gocryptfs mounts, then goes on as a daemon of its own session (its later messages go to
        syslog); a wrong key or a broken cipher directory fails here, before it detaches."""
        if not key_file or not os.path.exists(key_file):
            raise ProviderError("the key of volume %s (%s) is missing" % (name, key_file), field="encryption_key_file",
                                fix="put the key file back where it was; without it the data cannot be read")
        self._require("gocryptfs")
        rc, out, err = self.run(["gocryptfs", "-q", "-allow_other", "-passfile", key_file, cipher, data])
        if rc != 0:
            # gocryptfs exits 12 for a wrong password (here: a key that is not this volume's).
            fix = "check that encryption_key_file is this volume's key" if rc == 12 else "see the message above"
            raise ProviderError("could not open volume %s: gocryptfs exited %s: %s" % (name, rc, (err or out).strip()[-300:]),
                                fix=fix)

    def close(self, name):
        """Unmount the plaintext and the image (nothing when they are not mounted)."""
        data, lower = self.data(name), self.lower(name)
        if self._is_mounted(data):
            self._cmd(["umount", data], "close volume %s (%s is busy on the host)" % (name, data))
        # gocryptfs exits a moment after its unmount, and holds the image's files until then.
        deadline = time.monotonic() + CLOSE_TIMEOUT
        while self._is_mounted(lower):
            rc, out, err = self.run(["umount", lower])
            if rc == 0:
                break
            if time.monotonic() > deadline:
                raise ProviderError("could not unmount the image of %s: %s" % (name, (err or out).strip()[-300:]),
                                    fix="see what holds %s on the Docker host (fuser -m %s)" % (lower, lower))
            time.sleep(0.1)

    # -- volumes ----------------------------------------------------------------------
    def create(self, spec, key_file, source, source_secret):
        """Make the volume (from SOURCE: a snapshot or backup result) and attach it when spec asks."""
        self.require_local()
        name = spec["name"]
        image = self.image(name)
        os.makedirs(os.path.dirname(image), mode=0o700, exist_ok=True)
        rec = dict(id="vol-%s" % os.urandom(6).hex(), location=spec["location"], size=spec["size"],
                   encrypted=spec["encrypted"], key_file=key_file if spec["encrypted"] else None,
                   source=spec.get("source"), labels=spec["labels"], instance=None, mount_path=None,
                   follow_vip=spec.get("follow_vip"), backup_schedule=spec.get("backup_schedule"), created=time.time())
        if rec["follow_vip"]:
            rec["mount_path"] = spec["mount_path"]
        try:
            if source is not None and source["kind"] == "snapshot":
                self._cmd(["cp", "--sparse=always", self.snapshot_image(source["name"]), image],
                          "copy snapshot %s" % source["name"])
                if spec["size"] > source["size"]:
                    self._grow_image(name, spec["size"])
            else:
                with open(image, "wb") as handle:
                    handle.truncate(spec["size"] * GIB)
                os.chmod(image, 0o600)
                self._cmd(["mkfs.ext4", "-q", "-F", "-m", "0", "-L", name[:16], image], "make the file system of %s" % name)
                lower = self._mount_image(name)
                if spec["encrypted"]:
                    os.mkdir(os.path.join(lower, "cipher"), 0o700)
                    self._cmd(["gocryptfs", "-init", "-q", "-passfile", key_file, os.path.join(lower, "cipher")],
                              "encrypt volume %s" % name)
                else:
                    os.mkdir(os.path.join(lower, "plain"), 0o755)
                if source is not None:
                    self.restore_into(name, rec, source, source_secret)
            self.store.put(KIND, name, rec)
            if rec["follow_vip"]:
                self.follow()
                self.close_unless_used(name)
                return self._result(name, rec)
            if not spec.get("instance"):
                self.close(name)
                return self._result(name, rec)
            return self.attach(self._result(name, rec), spec["instance"], spec["mount_path"])
        except BaseException:
            # Nothing half-made: a failed create leaves neither the image nor the record.
            self._remove_quietly(name)
            raise

    def _remove_quietly(self, name):
        try:
            self.close(name)
        except ProviderError:
            pass
        if os.path.exists(self.image(name)):
            os.unlink(self.image(name))
        if self.store.get(KIND, name) is not None:
            self.store.delete(KIND, name)
        shutil.rmtree(os.path.join(RUN_DIR, name), ignore_errors=True)

    def update(self, current, changes):
        rec = self.store.get(KIND, current["name"])
        if "size" in changes:
            self._grow_image(current["name"], changes["size"])
            rec["size"] = changes["size"]
        for field in ("labels", "backup_schedule"):
            if field in changes:
                rec[field] = changes[field]
        if "follow_vip" in changes:
            with self._volume_lock(current["name"]):
                # Stopped: it stays where the vip last took it. Started: where it was attached
                # is the vip's business from now on (follow() fences that instance if the vip is elsewhere).
                rec["instance"] = self.attached_to(rec) if not changes["follow_vip"] else None
                rec["fence"] = current.get("instance") if changes["follow_vip"] else None
                if changes["follow_vip"]:
                    rec["mount_path"] = changes.get("mount_path") or rec.get("mount_path")
                rec["follow_vip"] = changes["follow_vip"]
                self.store.put(KIND, current["name"], rec)
        else:
            self.store.put(KIND, current["name"], rec)
        if rec.get("follow_vip"):
            self.follow()
        return self._result(current["name"], rec)

    def _grow_image(self, name, size):
        """The image file grows, and the ext4 on it with it (online when it is mounted, where the
        host allows it: the kernel wants CAP_SYS_RESOURCE, which some hosts' root lacks)."""
        image, lower = self.image(name), self.lower(name)
        old = os.path.getsize(image)
        with open(image, "r+b") as handle:
            handle.truncate(size * GIB)
        if not self._is_mounted(lower):
            self._cmd(["e2fsck", "-f", "-p", image], "check the file system of %s" % name)
            self._cmd(["resize2fs", image], "grow the file system of %s" % name)
            return
        device = self._loop_device(lower)
        self._cmd(["losetup", "-c", device], "tell the loop device of %s its new size" % name)
        rc, out, err = self.run(["resize2fs", device])
        if rc != 0:
            # The file system did not grow: the file goes back to its size, nothing is half-made.
            with open(image, "r+b") as handle:
                handle.truncate(old)
            self._cmd(["losetup", "-c", device], "tell the loop device of %s its size" % name)
            if "Permission denied" in (err or "") + (out or ""):
                raise ProviderError("this Docker host refuses to grow a mounted file system (its root lacks "
                                    "CAP_SYS_RESOURCE), and volume %s is attached" % name, field="size",
                                    fix="detach it (instance: null), grow it, and attach it again")
            raise ProviderError("could not grow the file system of %s: %s" % (name, (err or out).strip()[-300:]))

    @staticmethod
    def _loop_device(lower):
        with open("/proc/self/mountinfo") as handle:
            for line in handle:  # mount ID, parent, dev, root, mount point, ... - fstype source
                fields = line.split()
                if fields[4] == lower:
                    return fields[fields.index("-") + 2]
        raise ProviderError("%s is not mounted" % lower)

    def attach(self, current, instance, mount_path):
        """Open the volume and place it in the running instance (or at its next start)."""
        self.require_local()
        name = current["name"]
        rec = self.store.get(KIND, name)
        data = self.open(name, rec)
        pid = self._running_pid(instance)
        if pid:
            guest.inject_mount(pid, container_name(instance), data, mount_path)
        rec.update(instance=instance, mount_path=mount_path)
        self.store.put(KIND, name, rec)
        return self._result(name, rec)

    def detach(self, current):
        name = current["name"]
        rec = self.store.get(KIND, name)
        pid = self._running_pid(rec.get("instance")) if rec.get("instance") else None
        if pid:
            guest.eject_mount(pid, container_name(rec["instance"]), rec["mount_path"])
        self.close(name)
        rec.update(instance=None, mount_path=None)
        self.store.put(KIND, name, rec)
        return self._result(name, rec)

    def _running_pid(self, instance):
        container = self.engine.find(container_name(instance))
        if container is None or not container.attrs["State"].get("Running"):
            return None
        return container.attrs["State"]["Pid"]

    def delete(self, current):
        self._remove_quietly(current["name"])

    # -- a volume that follows a vip ---------------------------------------------------------
    # Where such a volume is attached is read from the guests, never written to the store: its
    # move takes only the volume's own lock, never the store's, which a module may hold for minutes
    # (a failover must not wait for a backup or an instance's stop).
    @contextlib.contextmanager
    def _volume_lock(self, name):
        """The volume's own lock: every change of where it is mounted (a move, the end of following,
        closing it on the host) takes it."""
        os.makedirs(RUN_DIR, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(RUN_DIR, ".%s.lock" % name), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def following(self):
        return dict((n, r) for n, r in self.store.list(KIND).items() if r.get("follow_vip"))

    def _look(self, rec):
        """(holder, having) of a following volume, each candidate's container read once: the allowed
        instance that has the vip's address now (or None), and [(instance, pid)] of the running
        instances that have the volume mounted, among the allowed ones and the one it was attached
        to before it followed."""
        vip = self.store.get(VIP_KIND, rec["follow_vip"]) or {}
        allowed = list(vip.get("allowed_instances", []))
        pids = dict((i, self._running_pid(i)) for i in dict.fromkeys(allowed + [i for i in [rec.get("fence")] if i]))
        holder = next((i for i in allowed if pids[i] and guest.holds_address(pids[i], vip["address"])), None)
        having = [(i, pid) for i, pid in pids.items() if pid and guest.mounted_at(rec["mount_path"], pid)]
        return holder, having

    def attached_to(self, rec):
        """The instance the volume is attached to (for one that follows a vip: read from the guests)."""
        if not rec.get("follow_vip"):
            return rec.get("instance")
        having = self._look(rec)[1]
        return having[0][0] if having else None

    def follow(self, apply=True):
        """Each volume that follows a vip mounted where the vip is, and nowhere else: [what moved
        (would move)].

        Every other instance that has it is fenced first (its processes that use the volume are
        killed and the mount taken away), then the holder gets it: never two at once."""
        moved = []
        for name in sorted(self.following()):
            with self._volume_lock(name):
                rec = self.store.get(KIND, name)
                if not rec or not rec.get("follow_vip"):
                    continue  # changed since it was listed
                holder, having = self._look(rec)
                if holder is None:
                    # With no holder (both down) the volume stays where it was, fenced by that instance's death.
                    continue
                if [i for i, _pid in having] == [holder]:
                    continue
                moved.append("volume %s to %s (follows vip %s)" % (name, holder, rec["follow_vip"]))
                if apply:
                    self._move(name, rec, holder, having)
        return moved

    def _move(self, name, rec, holder, having):
        data = self.open(name, rec)
        for instance, pid in having:
            if instance != holder:
                guest.fence_mount(pid, container_name(instance), rec["mount_path"], os.stat(data).st_dev)
        new_pid = self._running_pid(holder)
        if new_pid and holder not in [i for i, _pid in having]:
            guest.inject_mount(new_pid, container_name(holder), data, rec["mount_path"])

    def close_unless_used(self, name):
        """Close the volume on the host, unless it follows a vip and an instance has it now (the vip
        may have taken it there while it was open for something else)."""
        with self._volume_lock(name):
            rec = self.store.get(KIND, name)
            if rec is None or not rec.get("follow_vip") or not self._look(rec)[1]:
                self.close(name)

    def mounts_of(self, instance):
        """[(host path, guest path)] of the volumes attached to INSTANCE, each opened on the host:
        what guest.prepare places before the guest boots."""
        out = []
        for name, rec in sorted(self.store.list(KIND).items()):
            # A volume that follows a vip goes to an instance only once it holds the vip (follow()).
            if rec.get("instance") == instance and not rec.get("follow_vip"):
                out.append((self.open(name, rec), rec["mount_path"]))
        return out

    # -- snapshots --------------------------------------------------------------------
    def list_snapshots(self):
        return [self._snapshot_result(name, rec) for name, rec in sorted(self.store.list(SNAPSHOT_KIND).items())]

    @staticmethod
    def _snapshot_result(name, rec):
        return snapshot_result(name, rec["volume"], rec["location"], rec["size"], rec["encrypted"],
                               created=rec["created_at"], labels=rec.get("labels"), provider="docker",
                               resource_id=rec["id"])

    def snapshot_source(self, name):
        """A snapshot as create() takes it as a source (with the key it shares with its volume)."""
        rec = self.store.get(SNAPSHOT_KIND, name)
        return dict(self._snapshot_result(name, rec), kind="snapshot", key_file=rec.get("key_file"))

    def create_snapshot(self, spec, volume):
        """A copy of the volume's image, taken with its file systems flushed and frozen."""
        self.require_local()
        name, vname = spec["name"], volume["name"]
        rec = self.store.get(KIND, vname)
        target = self.snapshot_image(name)
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        lower, data = self.lower(vname), self.data(vname)
        frozen = self._is_mounted(lower)
        try:
            if frozen:
                if self._is_mounted(data):
                    self._cmd(["sync", "-f", data], "flush volume %s" % vname)
                self._cmd(["fsfreeze", "-f", lower], "freeze volume %s" % vname)
            self._cmd(["cp", "--sparse=always", self.image(vname), target], "copy volume %s" % vname)
            os.chmod(target, 0o600)
        except BaseException:
            if os.path.exists(target):
                os.unlink(target)
            raise
        finally:
            if frozen:
                self._cmd(["fsfreeze", "-u", lower], "thaw volume %s" % vname)
        snap = dict(id="snap-%s" % os.urandom(6).hex(), volume=vname, location=rec["location"], size=rec["size"],
                    encrypted=rec["encrypted"], key_file=rec.get("key_file"), labels=spec["labels"],
                    created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.store.put(SNAPSHOT_KIND, name, snap)
        return self._snapshot_result(name, snap)

    def update_snapshot(self, current, labels):
        rec = self.store.get(SNAPSHOT_KIND, current["name"])
        rec["labels"] = labels
        self.store.put(SNAPSHOT_KIND, current["name"], rec)
        return self._snapshot_result(current["name"], rec)

    def delete_snapshot(self, current):
        path = self.snapshot_image(current["name"])
        if os.path.exists(path):
            os.unlink(path)
        self.store.delete(SNAPSHOT_KIND, current["name"])

    # -- backups ------------------------------------------------------------------------
    @staticmethod
    def repository(location):
        return os.path.join(BACKUPS_DIR, location)

    def list_backups(self):
        return [self._backup_result(name, rec) for name, rec in sorted(self.store.list(BACKUP_KIND).items())]

    @staticmethod
    def _backup_result(name, rec):
        return backup_result(name, rec["volume"], rec["location"], rec["volume_location"], rec["size"],
                             rec["incremental"], added_bytes=rec.get("added_bytes"), created=rec["created_at"],
                             scheduled=rec.get("scheduled"), repository=Volumes.repository(rec["location"]),
                             labels=rec.get("labels"), provider="docker", resource_id=rec["id"])

    def backup_source(self, name):
        rec = self.store.get(BACKUP_KIND, name)
        return dict(self._backup_result(name, rec), kind="backup", restic_id=rec["restic_id"], path=rec["path"])

    def _restic(self, location, password_file, args, what, quiet=True):
        """restic on LOCATION's repository, waiting while another restic holds its lock (the host
        agent's scheduled backup, or another controller's): this restic has no --retry-lock of its
        own. A lock whose process is gone (killed mid-backup) is cleared: ``restic unlock``
        removes only such stale locks."""
        base = ["restic", "--no-cache"] + (["-q"] if quiet else [])
        base += ["-r", self.repository(location), "--password-file", password_file]
        deadline = time.monotonic() + RESTIC_LOCK_WAIT
        while True:
            try:
                return self._cmd(base + args, what)
            except ProviderError as exc:
                if "already locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            self.run(base + ["unlock"])
            time.sleep(1)

    def _init_repository(self, location, password_file):
        repo = self.repository(location)
        if not os.path.exists(os.path.join(repo, "config")):
            os.makedirs(repo, mode=0o700, exist_ok=True)
            self._restic(location, password_file, ["init"], "make the backup repository of %s" % location)

    def _restic_backup(self, vname, location, password_file, tags=()):
        """restic's summary of a backup of the open volume VNAME's plaintext."""
        args = ["backup", "--json", "--host", "secure-cloud-iaas"]
        for tag in ("volume=%s" % vname,) + tuple(tags):
            args += ["--tag", tag]
        # Not quiet: the summary is among what it prints.
        out = self._restic(location, password_file, args + [self.data(vname)], "back up volume %s" % vname, quiet=False)
        summary = next((json.loads(line) for line in out.splitlines()
                        if line.startswith("{") and '"summary"' in line), None)
        if summary is None:
            raise ProviderError("restic gave no summary for the backup of %s" % vname)
        return summary

    def _record_backup(self, name, vname, rec, location, password_file, summary, labels, scheduled=False):
        """REC: the volume's record as it was when it was read."""
        incremental = any(r["volume"] == vname and r["location"] == location
                          for r in self.store.list(BACKUP_KIND).values())
        backup = dict(id="backup-%s" % summary["snapshot_id"], restic_id=summary["snapshot_id"], volume=vname,
                      location=location, volume_location=rec["location"], size=rec["size"], incremental=incremental,
                      added_bytes=summary.get("data_added"), path=self.data(vname), labels=labels,
                      password_file=password_file, scheduled=scheduled,
                      created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.store.put(BACKUP_KIND, name, backup)
        return self._backup_result(name, backup)

    def create_backup(self, spec, volume, password_file, scheduled=False):
        """A restic snapshot of the volume's plaintext into its location's repository (made on first use)."""
        self.require_local()
        vname, location = volume["name"], spec["location"]
        self._init_repository(location, password_file)
        was_open = self._is_mounted(self.data(vname))
        rec = self.store.get(KIND, vname)
        self.open(vname, rec)
        try:
            summary = self._restic_backup(vname, location, password_file,
                                          tags=("scheduled=%s" % vname,) if scheduled else ())
        finally:
            if not was_open:
                self.close_unless_used(vname)
        return self._record_backup(spec["name"], vname, rec, location, password_file, summary, spec["labels"], scheduled)

    def update_backup(self, current, labels):
        rec = self.store.get(BACKUP_KIND, current["name"])
        rec["labels"] = labels
        self.store.put(BACKUP_KIND, current["name"], rec)
        return self._backup_result(current["name"], rec)

    def restore_into(self, name, rec, source, password_file):
        """Fill the new volume NAME (its image mounted) with the backup SOURCE."""
        data = self.open(name, rec)
        staging = os.path.join(data, ".restore")
        self._restic(source["location"], password_file, ["restore", source["restic_id"], "--target", staging],
                     "restore backup %s" % source["name"])
        # restic restores under the path the backup was taken from; its content moves up.
        restored = os.path.join(staging, source["path"].lstrip("/"))
        for entry in os.listdir(restored):
            os.rename(os.path.join(restored, entry), os.path.join(data, entry))
        shutil.rmtree(staging)

    def delete_backup(self, current):
        rec = self.store.get(BACKUP_KIND, current["name"])
        location = rec["location"]
        if any(other != current["name"] and r["location"] == location for other, r in self.store.list(BACKUP_KIND).items()):
            self._restic(location, rec["password_file"], ["forget", "--prune", rec["restic_id"]],
                         "remove backup %s" % current["name"])
        else:
            # The location's last backup: its repository goes with it.
            shutil.rmtree(self.repository(location), ignore_errors=True)
        self.store.delete(BACKUP_KIND, current["name"])

    # -- the daily backup schedule (the host agent runs it) -------------------------------------
    def due_backups(self, now):
        """[(volume, backup name, schedule)] of the backups the volumes' schedules want at NOW (UTC)."""
        backups, due = self.list_backups(), []
        for name, rec in sorted(self.store.list(KIND).items()):
            backup = due_backup(name, rec["backup_schedule"], backups, now) if rec.get("backup_schedule") else None
            if backup:
                due.append((name, backup, rec["backup_schedule"]))
        return due

    def run_schedules(self, now):
        """Take the backups that are due and prune each schedule's old ones: [what was done]."""
        with self.store.lock_if_free() as free:
            due = self.due_backups(now) if free else []
        done = []
        for vname, bname, schedule in due:
            try:
                done.extend(self._scheduled_backup(vname, bname, schedule))
            except ProviderError as exc:
                done.append("scheduled backup %s failed (tried again within a minute): %s" % (bname, exc))
        return done

    def _scheduled_backup(self, vname, bname, schedule):
        location, password_file = schedule["backup_location"], schedule["password_file"]
        with self.store.lock():
            rec = self.store.get(KIND, vname)
            if rec is None or rec.get("backup_schedule") != schedule or self.store.get(BACKUP_KIND, bname):
                return []  # changed or taken since it was found due
            attached = self._is_mounted(self.data(vname))
            if not attached:
                # Detached: nothing else opens it meanwhile, so it is read under the lock.
                self.create_backup(dict(name=bname, location=location, labels={}), dict(name=vname), password_file,
                                   scheduled=True)
            else:
                self._init_repository(location, password_file)
        if attached:
            # Read without the store's lock: a volume that follows a vip must move to the vip's new
            # holder at once, whatever the hour. A module that detaches it meanwhile fails on the
            # busy mount and can be run again.
            summary = self._restic_backup(vname, location, password_file, tags=("scheduled=%s" % vname,))
            with self.store.lock():
                self._record_backup(bname, vname, rec, location, password_file, summary, {}, scheduled=True)
        with self.store.lock():
            pruned = backups_to_prune(vname, schedule["keep"], self.list_backups())
            for name in pruned:
                self.store.delete(BACKUP_KIND, name)
        if pruned:
            # restic keeps the same newest ones; a prune that fails is caught up by the next day's.
            self._restic(location, password_file, ["forget", "--prune", "--tag", "scheduled=%s" % vname,
                                                   "--keep-last", str(schedule["keep"])],
                         "prune the scheduled backups of %s" % vname)
        return ["scheduled backup %s of volume %s into %s" % (bname, vname, location)] + \
            ["pruned scheduled backup %s" % name for name in pruned]
