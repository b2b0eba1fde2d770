# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest is a tenant: how every guest container runs, and the host's half of its boot.

Every container that stands for a customer's machine (instances, VPN
gateways, the demo's customer site, Molecule platforms) runs with:

* no capability that reaches past its own namespaces: not SYS_ADMIN, not
  SYS_MODULE, not MKNOD; NET_ADMIN and friends act on its own network
  namespace only;
* the engine's default seccomp profile (never ``unconfined``);
* its own cgroup namespace and no host cgroup tree mounted: it sees its own
  subtree, read-only except the ``name=systemd`` hierarchy and, on a hybrid
  host, the unified one (cgroup v1), or its cgroup2 subtree (cgroup v2), which
  systemd must write;
* a pids limit and a memory limit;
* no device but the ones named in ALLOWED_DEVICES.

systemd cannot start on a read-only cgroup tree, and a guest without
SYS_ADMIN cannot remount it, so the guest's entrypoint waits for READY_FILE
and the host does the remount first (``prepare``): it enters the guest's
mount namespace from a forked child and calls mount(2) itself, so no program
of the guest's ever runs with the host's privileges. The engine remounts the
tree read-only at every start, so the host agent (host/agent.py) prepares a
guest each time it starts.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import ProviderError

# Containers the host prepares and holds to this policy carry this label.
GUEST_LABEL = "secure_cloud.iaas.guest"
# A network that is not a vlan but has guests on it (the demo's customer site)
# carries this one: the host drops what it delivers to the host, as for a vlan.
GUEST_NETWORK_LABEL = "secure_cloud.iaas.guest_network"
READY_FILE = "/run/secure-cloud-iaas-boot"
INIT = "/lib/systemd/systemd"
# The entrypoint: wait (without a time limit: the host may come later, after an
# engine restart) until the host has prepared the cgroup tree, then systemd.
ENTRYPOINT = ["/bin/sh", "-c", 'while [ ! -e %s ]; do sleep 0.05; done; exec "$0" "$@"' % READY_FILE]

# What a guest may hold beyond the engine's default set, and why.
ALLOWED_CAPABILITIES = {
    "NET_ADMIN": "addresses, routes, nftables and keepalived in its own network namespace",
    "NET_RAW": "ping, ARP and VRRP on its own interfaces",
    "NET_BROADCAST": "keepalived's adverts",
}
# The engine's defaults a guest does without: MKNOD (no device nodes at all;
# the devices cgroup would refuse opening them anyway, so a guest made by a
# tool that cannot drop it, Molecule's docker driver, still passes).
DROPPED_CAPABILITIES = ["MKNOD"]
ALLOWED_DEVICES = {
    "/dev/net/tun": "a VPN gateway's userspace ESP (kernel-libipsec)",
}
DEFAULT_PIDS_LIMIT = 1024
GATEWAY_MEMORY = 256 * 1024 * 1024


def create_options(memory_bytes, capabilities=("NET_ADMIN", "NET_RAW", "NET_BROADCAST"), devices=(),
                   pids_limit=DEFAULT_PIDS_LIMIT):
    """The docker SDK's containers.create() keyword arguments that make a container a guest."""
    for field, asked, allowed in (("capabilities", capabilities, ALLOWED_CAPABILITIES),
                                  ("devices", devices, ALLOWED_DEVICES)):
        refused = [item for item in asked if item not in allowed]
        if refused:
            raise ProviderError("a guest may not hold %s: it would let root inside reach past its own namespaces"
                                % ", ".join(refused), field=field,
                                fix="use only %s" % ", ".join(sorted(allowed)))
    return dict(
        entrypoint=ENTRYPOINT, command=[INIT], environment={"container": "docker"},
        cap_add=list(capabilities), cap_drop=list(DROPPED_CAPABILITIES), cgroupns="private",
        devices=["%s:%s:rwm" % (d, d) for d in devices],
        tmpfs={"/run": "", "/run/lock": "", "/tmp": ""},
        mem_limit=memory_bytes, memswap_limit=memory_bytes, pids_limit=pids_limit,
    )


def violations(attrs):
    """What in a container's inspect data (docker inspect) breaks the guest policy: [text]."""
    host = attrs.get("HostConfig") or {}
    out = []
    if host.get("Privileged"):
        out.append("it is privileged")
    extra = [c.upper().replace("CAP_", "") for c in host.get("CapAdd") or []]
    out.extend("it holds %s" % c for c in extra if c not in ALLOWED_CAPABILITIES)
    if host.get("CgroupnsMode") != "private":
        out.append("it shares the host's cgroup namespace")
    for opt in host.get("SecurityOpt") or []:
        if opt.replace(":", "=").startswith("seccomp=unconfined"):
            out.append("its seccomp profile is unconfined")
    for mount in attrs.get("Mounts") or []:
        if (mount.get("Source") or "").startswith("/sys") or (mount.get("Destination") or "").startswith("/sys"):
            out.append("it mounts %s from the host" % mount.get("Source"))
    if not host.get("PidsLimit") or host["PidsLimit"] < 0:
        out.append("it has no pids limit")
    if not host.get("Memory"):
        out.append("it has no memory limit")
    for dev in host.get("Devices") or []:
        if dev.get("PathOnHost") not in ALLOWED_DEVICES:
            out.append("it is given the device %s" % dev.get("PathOnHost"))
    return out


def waiting(pid):
    """The guest with init PID waits for the host (its ready file is missing)."""
    try:
        os.lstat("/proc/%d/root%s" % (pid, READY_FILE))
        return False
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return True
        raise


_CLONE_NEWNS, _CLONE_NEWCGROUP = 0x00020000, 0x02000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT, _MS_BIND = 2, 4, 8, 32, 4096
# A cgroup v1 host with the unified hierarchy beside it (hybrid, as systemd
# sets a host up): systemd in a guest then tracks its units there too.
_HOST_UNIFIED = "/sys/fs/cgroup/unified"


def _remount_in_child(mnt_fd, cgroup_fd, hybrid):
    """In a forked child: enter the guest's cgroup and mount namespaces, make its
    own cgroup subtree writable, create the ready file. No exec: only syscalls run here."""
    libc = ctypes.CDLL(None, use_errno=True)
    for fd, kind in ((cgroup_fd, _CLONE_NEWCGROUP), (mnt_fd, _CLONE_NEWNS)):
        if libc.setns(fd, kind) != 0:
            return 10 + ctypes.get_errno() % 100
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    if os.path.isdir("/sys/fs/cgroup/systemd"):
        # cgroup v1: the name=systemd hierarchy, where the engine mounted only
        # the guest's own subtree (private cgroup namespace), read-only.
        if libc.mount(None, b"/sys/fs/cgroup/systemd", None, _MS_REMOUNT | _MS_BIND | flags, None) != 0:
            return 110 + ctypes.get_errno() % 100
        # On a hybrid host, the unified hierarchy too, which the engine leaves
        # out: without it systemd gets no word when a unit's last process is
        # gone (a killed keepalived would never be cleaned up and restarted).
        # Mounted from inside the guest's cgroup namespace, it shows the
        # guest's own subtree only.
        if hybrid and not os.path.ismount("/sys/fs/cgroup/unified"):
            os.makedirs("/sys/fs/cgroup/unified", exist_ok=True)
            if libc.mount(b"cgroup2", b"/sys/fs/cgroup/unified", b"cgroup2", flags, None) != 0:
                return 110 + ctypes.get_errno() % 100
    elif libc.mount(None, b"/sys/fs/cgroup", None, _MS_REMOUNT | _MS_BIND | flags, None) != 0:
        # cgroup v2: the engine mounted the guest's own subtree there, read-only.
        return 110 + ctypes.get_errno() % 100
    fd = os.open(READY_FILE, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    os.close(fd)
    return 0


# The provider and the host agent may both see a guest waiting at once: one of
# them prepares it (the mounts are not to be made twice).
_LOCK = "/run/secure-cloud-iaas-guests.lock"


def prepare(pid, name, mounts=()):
    """Let the guest whose init is PID boot: the volumes attached to it (MOUNTS: [(host path, guest
    path)]) in place, its cgroup subtree writable, then the ready file.

    Does nothing when the guest is already prepared."""
    with open(_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if waiting(pid):
            # Before the ready file: the guest's services find their data at their first start.
            for source, target in mounts:
                inject_mount(pid, name, source, target)
            _prepare(pid, name)


def _prepare(pid, name):
    fds = []
    try:
        for kind in ("mnt", "cgroup"):
            fds.append(os.open("/proc/%d/ns/%s" % (pid, kind), os.O_RDONLY))
    except OSError as exc:
        for fd in fds:
            os.close(fd)
        raise ProviderError("cannot open the namespaces of %s (%s)" % (name, exc),
                            fix="the docker provider prepares guests from the Docker host and needs root there")
    hybrid = os.path.ismount(_HOST_UNIFIED)
    try:
        child = os.fork()
        if child == 0:  # pragma: no cover - the child only makes syscalls and exits
            code = 1
            try:
                code = _remount_in_child(fds[0], fds[1], hybrid)
            finally:
                os._exit(code)
        _pid, status = os.waitpid(child, 0)
    finally:
        for fd in fds:
            os.close(fd)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        if code >= 110:
            what = "mounting its cgroup tree writable: %s" % os.strerror(code - 110)
        elif code >= 10:
            what = "entering its namespaces: %s" % os.strerror(code - 10)
        else:
            what = "creating %s" % READY_FILE
        raise ProviderError("could not prepare %s to boot: %s failed" % (name, what),
                            fix="run as root on the Docker host")


# -- volumes: a host mount placed into a running guest, and taken out again ----------
# The new mount API (Linux 5.2): open_tree() clones the host's mount as a
# detached tree, which move_mount() may attach in any mount namespace; the
# guest needs no capability and no mount prepared in advance for it.
_SYS_OPEN_TREE, _SYS_MOVE_MOUNT = 428, 429  # x86_64 and aarch64 share the new syscall numbers
_OPEN_TREE_CLONE, _OPEN_TREE_CLOEXEC = 1, 0o2000000
_MOVE_MOUNT_F_EMPTY_PATH, _AT_FDCWD = 4, -100


def _in_mount_namespace(pid, name, action):
    """Run ACTION() (syscalls only, returns an exit code) in a forked child that entered the mount
    namespace of PID; the code it returned."""
    try:
        mnt_fd = os.open("/proc/%d/ns/mnt" % pid, os.O_RDONLY)
    except OSError as exc:
        raise ProviderError("cannot open the mount namespace of %s (%s)" % (name, exc),
                            fix="the docker provider attaches volumes from the Docker host and needs root there")
    try:
        child = os.fork()
        if child == 0:  # pragma: no cover - the child only makes syscalls and exits
            code = 1
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                code = 10 + ctypes.get_errno() % 100 if libc.setns(mnt_fd, _CLONE_NEWNS) != 0 else action(libc)
            finally:
                os._exit(code)
        _pid, status = os.waitpid(child, 0)
    finally:
        os.close(mnt_fd)
    return os.waitstatus_to_exitcode(status)


def mounted_at(path, pid="self"):
    """Whether PATH is a mount point in the mount namespace of PID (this process by default), read
    from its mountinfo (which sees a FUSE mount that stat() could not). Read from the host: inside
    the guest's namespace its /proc does not know the host's processes."""
    with open("/proc/%s/mountinfo" % pid) as handle:
        return any(line.split()[4] == path for line in handle)


def inject_mount(pid, name, source, target):
    """Mount the host's SOURCE at TARGET in the guest whose init is PID (made if missing). Nothing
    when TARGET is a mount point there already."""
    libc = ctypes.CDLL(None, use_errno=True)
    tree = libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, source.encode(), _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC)
    if tree < 0:
        raise ProviderError("cannot take the mount %s for %s: %s" % (source, name, os.strerror(ctypes.get_errno())),
                            fix="the Docker host's kernel needs open_tree(2) (Linux 5.2 or later)")

    if mounted_at(target, pid):
        os.close(tree)
        return

    def attach(child_libc):
        # Syscalls only: the guest's file system has none of this Python's modules.
        try:
            os.makedirs(target, exist_ok=True)
        except OSError as exc:
            return 120 + exc.errno % 100
        if child_libc.syscall(_SYS_MOVE_MOUNT, tree, b"", _AT_FDCWD, target.encode(), _MOVE_MOUNT_F_EMPTY_PATH) != 0:
            return 110 + ctypes.get_errno() % 100
        return 0
    try:
        code = _in_mount_namespace(pid, name, attach)
    finally:
        os.close(tree)
    _raise_for(code, name, "mounting the volume at %s" % target, "making the directory %s" % target)


def eject_mount(pid, name, target):
    """Unmount TARGET in the guest whose init is PID; refused (ProviderError) while a process there
    has a file open on it. Nothing when nothing is mounted there."""
    if not mounted_at(target, pid):
        return

    def detach(child_libc):
        if child_libc.umount2(target.encode(), 0) != 0:
            return 110 + ctypes.get_errno() % 100
        return 0
    code = _in_mount_namespace(pid, name, detach)
    if code == 110 + errno.EBUSY:
        raise ProviderError("%s is in use in %s (a process there has a file open on it or works in it)"
                            % (target, name), field="instance",
                            fix="stop what uses it first (fuser -m %s in the instance shows it)" % target)
    _raise_for(code, name, "unmounting %s" % target, None)


def _raise_for(code, name, mounting, making):
    if code == 0:
        return
    if code >= 120 and making:
        what = "%s: %s" % (making, os.strerror(code - 120))
    elif code >= 110:
        what = "%s: %s" % (mounting, os.strerror(code - 110))
    elif code >= 10:
        what = "entering its mount namespace: %s" % os.strerror(code - 10)
    else:
        what = mounting
    raise ProviderError("could not change the mounts of %s: %s failed" % (name, what), fix="run as root on the Docker host")


def holds_address(pid, address):
    """Whether ADDRESS is a local address in the network namespace of PID: read from its fib_trie
    (a file read, no process started, so the host agent can ask it ten times a second)."""
    try:
        with open("/proc/%d/net/fib_trie" % pid) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return False
    return address in local_addresses(lines)


def local_addresses(fib_trie_lines):
    """The addresses a fib_trie lists as its own: a leaf "|-- 10.0.0.5" with a "/32 host LOCAL" line
    among the lines that follow it."""
    out, leaf = set(), None
    for line in fib_trie_lines:
        text = line.strip()
        if text.startswith("|-- "):
            leaf = text[4:]
        elif text.startswith("/"):
            if leaf and text.startswith("/32 host LOCAL"):
                out.add(leaf)
        else:
            leaf = None
    return out


def fence_mount(pid, name, target, device):
    """Take TARGET (a mount of DEVICE, an st_dev) from the guest whose init is PID even while its
    processes use it: every process of the guest with a file, its working directory or its root on
    it is killed first (what a cluster's file system resource does with force_unmount), so nothing
    there writes to it once another instance has it. [pid] of the processes killed."""
    try:
        namespace = os.stat("/proc/%d/ns/mnt" % pid).st_ino
    except OSError:
        return []  # the guest is gone, and its mounts with it
    killed = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == pid:
            continue
        proc = "/proc/" + entry
        try:
            if os.stat(proc + "/ns/mnt").st_ino != namespace:
                continue
            paths = [proc + "/cwd", proc + "/root"] + [proc + "/fd/" + fd for fd in os.listdir(proc + "/fd")]
        except OSError:
            continue
        for path in paths:
            try:
                if os.stat(path).st_dev == device:
                    os.kill(int(entry), 9)
                    killed.append(int(entry))
                    break
            except OSError:
                continue
    for _attempt in range(50):
        try:
            eject_mount(pid, name, target)
            return killed
        except ProviderError:
            # A killed process lets go of its files once it is reaped.
            time.sleep(0.05)
    eject_mount(pid, name, target)
    return killed
