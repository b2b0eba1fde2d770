"""Move a vip between two guests from inside them, as keepalived does, and time the volume that follows it.

  vip_moves.py OLD_CONTAINER NEW_CONTAINER VIP/PREFIX MOUNT_PATH

Prints how long the move took and how long after the vip was on the new holder
the volume was mounted there (read from that guest's mountinfo every 5 ms);
fails after 10 s.
"""

import subprocess
import sys
import time

old, new, vip, path = sys.argv[1:5]


def device(container):
    out = subprocess.check_output(["docker", "exec", container, "ip", "-o", "-4", "addr", "show"], text=True)
    return next(line.split()[1] for line in out.splitlines() if " 127." not in line)


pid = int(subprocess.check_output(["docker", "inspect", "-f", "{{.State.Pid}}", new], text=True))
start = time.monotonic()
subprocess.run(["docker", "exec", old, "ip", "addr", "del", vip, "dev", device(old)], check=True)
subprocess.run(["docker", "exec", new, "ip", "addr", "add", vip, "dev", device(new)], check=True)
moved = time.monotonic()
while True:
    with open("/proc/%d/mountinfo" % pid) as handle:
        if any(line.split()[4] == path for line in handle):
            break
    if time.monotonic() - moved > 10:
        sys.exit("the volume did not reach %s within 10 s of the vip" % new)
    time.sleep(0.005)
print("vip moved in %.0f ms; the volume was mounted on the new holder %.0f ms after the vip" % (
    (moved - start) * 1000, (time.monotonic() - moved) * 1000))
