"""Run unplanned failovers and planned switchovers on a Docker-hosted keepalived
pair and record what the client saw and who held the vip, for
failover_report.py to measure.

On the Docker host, as root:
  * the probe (vip_probe.py) runs in the client container and streams one line
    per request (every 10 ms) back here;
  * who holds the vip is watched from the host inside each node's network
    namespace (nsenter + `ip monitor address`): the kernel reports every add and
    delete of the vip as it happens, stamped here on arrival, on the same clock
    as the probe (containers share the host's clock);
  * each unplanned trial breaks the current active one way (keepalived
    killed, instance stopped, network cut at the host end of its veth), waits
    for the client to get answers from the standby, repairs the old active,
    waits until it reports BACKUP, and lets the network settle;
  * each planned trial moves the vip to the standby through the
    secure_cloud.iaas.vip module (holder), as an operator would.

With --path /data/KEY the probe asks the demo service's data API instead of
GET /: it stores a random value there through the vip first, and an answer
counts only when it is that value, read from the pair's data volume, which
follows the vip (playbooks/vars/site.yml: site_data_volume). The outage is
then the vip's move and the volume's together.

Writes one raw JSON file (samples, holder events, trials).
Usage: failover_trials.py --pair A,B --client C --vip IP --trials N --label L --out FILE
       [--modes keepalived_killed,instance_stopped,network_cut] [--advert-int S] [--settle S]
       [--interface IFACE] [--planned M --vip-name NAME --instance-prefix P] [--path /data/KEY]
The pair's container names are their instance names with --instance-prefix
(sciaas- on the docker provider) in front, as the vip module names them.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

STATE_FILE = "/run/keepalived-notify/state"


def sh(*argv, check=True):
    return subprocess.run(argv, capture_output=True, text=True, check=check)


def pid_of(node):
    return int(sh("docker", "inspect", "-f", "{{.State.Pid}}", node).stdout.strip())


class HolderWatch:
    """Address events of the vip inside one node's network namespace."""

    def __init__(self, node, vip, events, lock):
        self.node, self.vip, self.events, self.lock = node, vip, events, lock
        self.proc = None

    def start(self):
        pid = pid_of(self.node)
        self.proc = subprocess.Popen(
            ["nsenter", "-t", str(pid), "-n", "ip", "-o", "monitor", "address"],
            stdout=subprocess.PIPE, text=True, bufsize=1)
        # The state now, after the monitor is listening, so no change is missed.
        time.sleep(0.05)
        out = sh("nsenter", "-t", str(pid), "-n", "ip", "-o", "-4", "addr", "show").stdout
        self.record(time.time(), (" %s/" % self.vip) in out)
        threading.Thread(target=self.read, daemon=True).start()

    def record(self, when, held):
        with self.lock:
            self.events.append([round(when, 6), self.node, held])

    def read(self):
        for line in self.proc.stdout:
            if (" %s/" % self.vip) in line:
                self.record(time.time(), not line.startswith("Deleted"))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


class Probe:
    """The client's probe, streamed back here."""

    def __init__(self, client, vip, path="/"):
        self.samples = []
        argv = ["docker", "exec", "-i", client, "python3", "/usr/local/bin/vip_probe.py", vip, "--path", path]
        if path != "/":
            # A new value each run: an answer left from an earlier run never counts.
            argv += ["--put", "probe-%s" % os.urandom(8).hex()]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        threading.Thread(target=self.read, daemon=True).start()

    def check_running(self):
        """The probe gives up at once when it cannot store its value: say why, rather than
        wait for answers that never come."""
        if self.proc.poll() is not None:
            raise RuntimeError("the probe stopped: %s" % self.proc.stderr.read().strip())

    def read(self):
        for line in self.proc.stdout:
            parts = line.split()
            if len(parts) == 4:
                # send time, answered, who answered, latency in seconds
                self.samples.append([float(parts[0]), parts[1] == "OK", parts[2],
                                     round(float(parts[3]) / 1000.0, 6)])

    def answered_by(self, names, after):
        return any(s[1] and s[2] in names and s[0] > after for s in reversed(self.samples[-400:]))

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def holders_now(events, pair):
    state = {}
    for _when, node, held in events:
        state[node] = held
    return [n for n in pair if state.get(n)]


def wait_for(check, timeout, step=0.01):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def node_state(node):
    res = sh("docker", "exec", node, "cat", STATE_FILE, check=False)
    return res.stdout.strip()


def veth_of(node, iface):
    idx = sh("docker", "exec", node, "cat", "/sys/class/net/%s/iflink" % iface).stdout.strip()
    for line in sh("ip", "-o", "link").stdout.splitlines():
        num, name = line.split(": ")[0:2]
        if num == idx:
            return name.split("@")[0]
    raise RuntimeError("no host veth for %s" % node)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pair", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--vip", required=True)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--modes", default="keepalived_killed,instance_stopped,network_cut")
    ap.add_argument("--label", required=True)
    ap.add_argument("--advert-int", type=float, default=None)
    ap.add_argument("--settle", type=float, default=1.5)
    ap.add_argument("--interface", default="eth0", help="the pair's interface on the vip's network")
    ap.add_argument("--planned", type=int, default=0, help="planned switchovers after the unplanned trials")
    ap.add_argument("--vip-name", help="the vip's name in the vip module (for --planned)")
    ap.add_argument("--instance-prefix", default="sciaas-")
    ap.add_argument("--path", default="/", help="what the probe asks: / (the vip) or /data/KEY (the vip and the data volume)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    pair = args.pair.split(",")
    modes = args.modes.split(",")

    events, lock = [], threading.Lock()
    watches = {n: HolderWatch(n, args.vip, events, lock) for n in pair}
    for watch in watches.values():
        watch.start()
    probe = Probe(args.client, args.vip, args.path)
    time.sleep(1.0)
    if args.planned and not args.vip_name:
        ap.error("--planned needs --vip-name")
    schedule = [modes[i % len(modes)] for i in range(args.trials)] + ["planned_switchover"] * args.planned
    trials = []
    try:
        probe.check_running()
        for i, mode in enumerate(schedule):
            # After a reconfiguration (slow adverts) the pair needs a few
            # adverts to elect a master; a trial starts from one holder.
            wait_for(lambda: len(holders_now(list(events), pair)) == 1, 30, step=0.1)
            with lock:
                current = holders_now(events, pair)
            if len(current) != 1:
                raise RuntimeError("trial %d: holders before the trial: %s" % (i + 1, current))
            active = current[0]
            standby = [n for n in pair if n != active][0]
            # The service answers with the instance's name: the container name,
            # or the provider's instance name without the prefix.
            names = (standby, standby[len(args.instance_prefix):] if standby.startswith(args.instance_prefix) else standby)
            veth = veth_of(active, args.interface) if mode == "network_cut" else None
            t_break = time.time()
            if mode == "keepalived_killed":
                # The VRRP child first, then the parent: killed together, the
                # child could still get the parent's death signal (SIGTERM) and
                # hand over gracefully, which is a stop, not a crash.
                sh("docker", "exec", active, "sh", "-c",
                   "pkill -9 -n -x keepalived; pkill -9 -x keepalived")
            elif mode == "instance_stopped":
                sh("docker", "stop", "-t", "20", active)
            elif mode == "network_cut":
                sh("ip", "link", "set", "dev", veth, "down")
            elif mode == "planned_switchover":
                # Returns once the standby holds the vip and the active has
                # rejoined as BACKUP (the keepalived role's hand-over hook).
                sh("ansible", "localhost", "-m", "secure_cloud.iaas.vip",
                   "-a", "name=%s holder=%s" % (args.vip_name, names[1]))
            recovered = wait_for(lambda: probe.answered_by(names, t_break), 20)
            t_recovered = time.time()
            # Repair, then wait until the old active is a BACKUP again.
            if mode == "instance_stopped":
                watches[active].stop()
                sh("docker", "start", active)
                watches[active] = HolderWatch(active, args.vip, events, lock)
                watches[active].start()
            elif mode == "network_cut":
                sh("ip", "link", "set", "dev", veth, "up")
            repaired = wait_for(lambda: node_state(active) == "BACKUP", 60, step=0.2)
            t_repaired = time.time()
            time.sleep(args.settle)
            trial = {"trial": i + 1, "mode": mode, "active": active, "standby": standby,
                     "t_break": t_break, "t_recovered": t_recovered, "recovered": recovered,
                     "t_repaired": t_repaired, "repaired": repaired, "t_settled": time.time()}
            trials.append(trial)
            print("%s trial %2d %-18s %s -> %s recovered=%s repaired=%s" % (
                args.label, i + 1, mode, active, standby, recovered, repaired), flush=True)
            if not repaired:
                raise RuntimeError("trial %d: %s did not come back as BACKUP" % (i + 1, active))
    finally:
        probe.stop()
        for watch in watches.values():
            watch.stop()
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump({"label": args.label, "advert_int": args.advert_int, "vip": args.vip, "path": args.path,
                       "provider": "docker", "cpus": os.cpu_count(),
                       "pair": pair, "trials": trials, "samples": probe.samples,
                       "holder_events": sorted(events), "settle": args.settle}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
