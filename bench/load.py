"""Load: vip moves and instance creates from parallel controllers while a client probes the vip.

Makes a small site of its own with the collection's modules (location load-dc1,
addresses from 10.248.0.0/16, containers sciaas-load-*): a private vlan
(load-app), two web servers (load-web-1, load-web-2) running the demo HTTP
service the vip scenario serves (playbooks/files/demo_http.py, answering with
the instance's name), a vip (load-web, 10.248.1.200) both may hold, held by
load-web-1, and a client (load-client) that probes the vip every 10 ms
(playbooks/files/vip_probe.py, through vip_switchover's Probe). Then, all at
once, three controllers, each a series of separate `ansible` processes:

  mover      MOVES moves of the vip back and forth between the two servers
             (secure_cloud.iaas.vip holder=...), 1 s apart;
  creator-1  half of CREATES instances on the same vlan, one after another
             (secure_cloud.iaas.instance state=running: created and booted);
  creator-2  the other half, with a DIFFERENT state directory.

Two state directories (both temporary): the site, the mover and creator-1 use
one, creator-2 the other; several controllers of one engine must not break
each other. Meanwhile a watcher reads, every ~10 ms from the host (nsenter and
`ip -4 addr` in each server's and the client's network namespace), which
containers have the vip address, and follows the kernel's address events in
the same namespaces (`ip monitor address`): an overlap between two samples
still shows there.

Prints per move the module call, the outage the client saw (the longest gap
between two answers, from 0.5 s before the call until 0.5 s after it returned;
failover_report's measure) and its failed requests, then a table: moves done,
creates done, failed module calls (with their errors, every phase), failed
probe requests, the longest gap over the whole load, the median, p95 and max
outage per move, the failed requests sent while one server had the vip (lost
by the network, not by the move), sampling rounds with no holder, and the
moments with two holders (sampled rounds, and
overlaps in the address events, each with when it happened: during a move's
call or outside any). Writes bench/results/load.json. Measures, never fails on
a time; exits non-zero when a module call failed, the site could not be made
or its teardown left something. Removes everything it made at the end, on
error too (vip, instances, vlan, the temporary state directories), unless
KEEP=1 (then it prints the state directories to tear down with). ONE_STATE_DIR=1
runs creator-2 with the first state directory too: the control for the two.
Sends traffic only to the containers it made. Run as root on the Docker host,
after make setup and make images:

  .venv/bin/python bench/load.py [MOVES] [CREATES]
"""

import bisect
import collections
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from vip_switchover import ROOT, Probe, run  # noqa: E402  (the vip bench's probe and runner)
from failover_report import Holders, median, outage, percentile  # noqa: E402  (on the path vip_switchover set)

RESULTS = os.path.join(ROOT, "bench", "results", "load.json")
LOCATION = "load-dc1"
VLAN = {"name": "load-app", "location": LOCATION, "type": "private", "cidr": "10.248.1.0/24"}
SERVERS = ("load-web-1", "load-web-2")
CLIENT = "load-client"
VIP = {"name": "load-web", "vlan": VLAN["name"], "address": "10.248.1.200", "allowed_instances": list(SERVERS)}
DEMO_FILES = (("demo_http.py", "/usr/local/bin/demo-http"), ("demo-http.service", "/etc/systemd/system/demo-http.service"))
WINDOW = 0.5  # a move's window: from this long before its call until this long after it returned
SAMPLE_EVERY = 0.01


def container(name):
    return "sciaas-" + name


def instance_args(name):
    return {"name": name, "image": "debian12", "location": LOCATION, "networks": [{"vlan": VLAN["name"]}],
            "state": "running"}


class Calls(object):
    """Every module call of the run, each its own `ansible` process, with its outcome."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = []

    def call(self, controller, state_dir, module, args):
        env = dict(os.environ, SECURE_CLOUD_STATE_DIR=state_dir, ANSIBLE_CALLBACK_RESULT_FORMAT="json")
        start = time.time()
        proc = subprocess.run(["ansible", "localhost", "-c", "local", "-m", "secure_cloud.iaas." + module,
                               "-a", json.dumps(args)], cwd=ROOT, env=env, check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        end = time.time()
        # JSON after "=>" (ansible.cfg asks for YAML; the oneline callback is deprecated).
        try:
            result = json.loads(proc.stdout.split("=>", 1)[1])
        except (IndexError, ValueError):
            result = {"msg": (proc.stdout + proc.stderr).strip()[-600:]}
        entry = {"controller": controller, "module": module, "name": args.get("name"), "ok": proc.returncode == 0,
                 "start": start, "end": end, "msg": None if proc.returncode == 0 else result.get("msg", "rc %d" % proc.returncode)}
        with self.lock:
            self.done.append(entry)
        return entry, result

    def failed(self):
        return [c for c in self.done if not c["ok"]]


class Watcher(object):
    """Which containers have the vip: sampled from the host every ~10 ms, and their address events."""

    def __init__(self, names, address):
        self.address = address
        self.pids = dict((name, run_out("docker", "inspect", "-f", "{{.State.Pid}}", container(name)).strip())
                         for name in names)
        self.rounds = []   # (time, [holders])
        self.events = []   # (time, name, held), for failover_report.Holders
        self.stopping = threading.Event()
        self.monitors = []
        for name, pid in self.pids.items():
            proc = subprocess.Popen(["nsenter", "-t", pid, "-n", "ip", "-o", "monitor", "address"],
                                    stdout=subprocess.PIPE, text=True)
            self.monitors.append(proc)
            threading.Thread(target=self._follow, args=(name, proc), daemon=True).start()
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()

    def _holds(self, pid):
        out = subprocess.run(["nsenter", "-t", pid, "-n", "ip", "-o", "-4", "addr", "show"], check=False,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        return (" %s/" % self.address) in out

    def _follow(self, name, proc):
        for line in proc.stdout:
            if (" %s/" % self.address) in line:
                self.events.append((time.time(), name, not line.startswith("Deleted")))

    def _sample(self):
        while not self.stopping.is_set():
            when = time.time()
            held = [name for name, pid in sorted(self.pids.items()) if self._holds(pid)]
            if not self.rounds:
                # Where the events start from.
                self.events.extend((when, name, name in held) for name in self.pids)
            self.rounds.append((when, held))
            time.sleep(max(0.0, when + SAMPLE_EVERY - time.time()))

    def stop(self):
        self.stopping.set()
        self.sampler.join(timeout=10)
        for proc in self.monitors:
            proc.terminate()
            proc.wait(timeout=10)

    def sampled_doubles(self):
        """Runs of consecutive sampling rounds with more than one holder: [(first, last, holders, rounds)]."""
        out, running = [], False
        for when, held in self.rounds:
            if len(held) > 1 and running:
                first, _last, holders, count = out[-1]
                out[-1] = (first, when, sorted(set(holders) | set(held)), count + 1)
            elif len(held) > 1:
                out.append((when, when, held, 1))
            running = len(held) > 1
        return out

    def event_overlaps(self):
        """Spans in the address events with more than one holder: [(start, end, holders)]."""
        holders = Holders(self.events)
        times = sorted(set(e[0] for e in self.events))
        out, begun = [], None
        for when in times:
            held = holders.at(when)
            if len(held) > 1 and begun is None:
                begun = (when, held)
            elif len(held) <= 1 and begun is not None:
                out.append((begun[0], when, begun[1]))
                begun = None
        if begun is not None:
            out.append((begun[0], time.time(), begun[1]))
        return out


def run_out(*argv):
    return subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout


def make_site(calls, state_dir):
    """The vlan, the servers with the demo service, the client, the vip on load-web-1. False if any step failed."""
    if not calls.call("site", state_dir, "vlan", VLAN)[0]["ok"]:
        return False
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        made = list(pool.map(lambda name: calls.call("site", state_dir, "instance", instance_args(name))[0]["ok"],
                             SERVERS + (CLIENT,)))
    if not all(made):
        return False
    try:
        for server in SERVERS:
            for src, dest in DEMO_FILES:
                run("docker", "cp", os.path.join(ROOT, "playbooks", "files", src), "%s:%s" % (container(server), dest))
            run("docker", "exec", container(server), "systemctl", "enable", "--now", "demo-http")
    except subprocess.CalledProcessError as exc:
        print("the demo service could not be installed: %s" % exc, file=sys.stderr)
        return False
    if not calls.call("site", state_dir, "vip", dict(VIP, holder=SERVERS[0]))[0]["ok"]:
        return False
    deadline = time.time() + 60
    while time.time() < deadline:
        answer = subprocess.run(["docker", "exec", container(CLIENT), "curl", "-s", "-m", "1", "http://%s/" % VIP["address"]],
                                check=False, stdout=subprocess.PIPE, text=True).stdout.strip()
        if answer == SERVERS[0]:
            return True
        time.sleep(0.5)
    print("the client never got an answer from %s on the vip" % SERVERS[0], file=sys.stderr)
    return False


def load(calls, state_dirs, moves, creates):
    """The controllers at once: returns the moves as (number, to, call entry)."""
    done_moves = []

    def mover():
        for number in range(1, moves + 1):
            holder = SERVERS[number % 2]
            entry, _result = calls.call("mover", state_dirs[0], "vip", {"name": VIP["name"], "holder": holder})
            done_moves.append((number, holder, entry))
            time.sleep(1.0)

    def creator(controller, state_dir, names):
        for name in names:
            calls.call(controller, state_dir, "instance", instance_args(name))

    names = new_instances(creates)
    half = len(names) // 2
    controllers = [threading.Thread(target=mover),
                   threading.Thread(target=creator, args=("creator-1", state_dirs[0], names[:half])),
                   threading.Thread(target=creator, args=("creator-2", state_dirs[1], names[half:]))]
    for thread in controllers:
        thread.start()
    for thread in controllers:
        thread.join()
    return done_moves


def new_instances(creates):
    return ["load-new-%02d" % i for i in range(1, creates + 1)]


def teardown(calls, state_dir, creates):
    """Everything the run made, by name; then what the modules still see in the location, and its containers."""
    calls.call("teardown", state_dir, "vip", {"name": VIP["name"], "state": "absent"})
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda name: calls.call("teardown", state_dir, "instance", {"name": name, "state": "absent"}),
                      SERVERS + (CLIENT,) + tuple(new_instances(creates))))
    calls.call("teardown", state_dir, "vlan", {"name": VLAN["name"], "state": "absent"})
    left = []
    for module, key in (("vip_info", "vips"), ("instance_info", "instances"), ("vlan_info", "vlans")):
        entry, result = calls.call("teardown", state_dir, module, {"location": LOCATION})
        left += ["%s %s" % (key[:-1], item.get("name")) for item in result.get(key, [])] if entry["ok"] else []
    containers = run_out("docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "name=^sciaas-load-").split()
    left += ["container " + name for name in containers]
    return left


def measure(probe, watcher, moves, start, end, calls):
    samples = sorted(probe.samples)
    doubles = watcher.sampled_doubles()
    overlaps = watcher.event_overlaps()

    def in_move(when):
        for number, _to, entry in moves:
            if entry["start"] - WINDOW <= when <= entry["end"] + WINDOW:
                return number
        return None

    rows = []
    for number, to, entry in moves:
        lo, hi = entry["start"] - WINDOW, entry["end"] + WINDOW
        rows.append({"move": number, "to": to, "ok": entry["ok"], "module_call_ms": round((entry["end"] - entry["start"]) * 1000),
                     "outage_ms": round(outage(samples, lo, hi) * 1000, 1),
                     "failed_requests": sum(1 for s in samples if not s[1] and lo <= s[0] <= hi),
                     "two_holder_rounds": sum(d[3] for d in doubles if lo <= d[0] <= hi),
                     "overlap_ms": round(sum(b - a for a, b, _h in overlaps if lo <= a <= hi) * 1000, 1)})
    failed = [s for s in samples if not s[1] and start <= s[0] <= end]
    rounds = [r for r in watcher.rounds if start <= r[0] <= end]
    round_times = [r[0] for r in rounds]

    def holders_at(when):
        """The holders of the last sampling round before WHEN."""
        i = bisect.bisect_right(round_times, when) - 1
        return rounds[i][1] if i >= 0 else []
    outages = [r["outage_ms"] for r in rows]
    creates = [c for c in calls.done if c["controller"].startswith("creator")]
    summary = {
        "moves": len(moves), "moves_done": sum(1 for _n, _t, e in moves if e["ok"]),
        "creates": len(creates), "creates_done": sum(1 for c in creates if c["ok"]),
        "failed_module_calls": len(calls.failed()),
        "probes": sum(1 for s in samples if start <= s[0] <= end), "probe_interval_ms": 10,
        "failed_requests": len(failed), "failed_requests_during_moves": sum(1 for s in failed if in_move(s[0])),
        "failed_request_errors": dict(collections.Counter(s[2] for s in failed)),
        # Sent while one allowed server had the address: the network lost it, not the move.
        "failed_requests_one_holder": sum(1 for s in failed if len([h for h in holders_at(s[0]) if h in SERVERS]) == 1),
        "no_holder_rounds": sum(1 for r in rounds if not r[1]),
        "longest_gap_ms": round(outage(samples, start, end) * 1000, 1),
        "move_outage_median_ms": median(outages), "move_outage_p95_ms": percentile(outages, 95),
        "move_outage_max_ms": max(outages) if outages else None,
        "holder_rounds": len(watcher.rounds),
        "holder_round_ms": round((watcher.rounds[-1][0] - watcher.rounds[0][0]) / max(len(watcher.rounds) - 1, 1) * 1000, 1),
        "two_holder_moments_sampled": len(doubles),
        "two_holder_moments_sampled_outside_moves": sum(1 for d in doubles if in_move(d[0]) is None),
        "two_holder_overlaps_events": len(overlaps),
        "two_holder_overlaps_events_outside_moves": sum(1 for o in overlaps if in_move(o[0]) is None),
        "longest_overlap_ms": round(max([b - a for a, b, _h in overlaps] or [0]) * 1000, 1),
        "load_seconds": round(end - start, 1), "load_average": os.getloadavg()[0],
    }
    details = {"two_holder_moments_sampled": [{"first": a, "last": b, "holders": h, "rounds": n, "move": in_move(a)}
                                              for a, b, h, n in doubles],
               "two_holder_overlaps_events": [{"start": a, "end": b, "ms": round((b - a) * 1000, 1), "holders": h,
                                               "move": in_move(a)} for a, b, h in overlaps],
               "failed_requests": [{"sent": s[0], "error": s[2], "holders": holders_at(s[0])} for s in failed]}
    return summary, rows, details


def report(summary, rows, calls, left):
    if rows:
        print("%-5s %-11s %4s %8s %10s %7s %17s %11s"
              % ("move", "to", "ok", "call_ms", "outage_ms", "failed", "two_holder_rounds", "overlap_ms"))
        for r in rows:
            print("%-5d %-11s %4s %8d %10.1f %7d %17d %11.1f" % (r["move"], r["to"], "yes" if r["ok"] else "NO",
                                                                 r["module_call_ms"], r["outage_ms"], r["failed_requests"],
                                                                 r["two_holder_rounds"], r["overlap_ms"]))
        print()
    s = summary
    lines = [("site", "made" if s.get("site_made") else "NOT MADE")]
    if "moves_done" in s:
        lines += [
            ("vip moves done", "%d/%d (mover, state dir A)" % (s["moves_done"], s["moves"])),
            ("instance creates done", "%d/%d (creator-1 dir A, creator-2 dir %s, at once)"
             % (s["creates_done"], s["creates"], "A" if s["one_state_dir"] else "B")),
            ("failed probe requests", "%d of %d (during moves %d; while one server had the vip %d) %s"
             % (s["failed_requests"], s["probes"], s["failed_requests_during_moves"], s["failed_requests_one_holder"],
                s["failed_request_errors"] or "")),
            ("rounds with no holder", "%d" % s["no_holder_rounds"]),
            ("longest gap", "%.1f ms over %.0f s of load" % (s["longest_gap_ms"], s["load_seconds"])),
            ("outage per move", "median %s ms, p95 %s ms, max %s ms"
             % (s["move_outage_median_ms"], s["move_outage_p95_ms"], s["move_outage_max_ms"])),
            ("two holders, sampled", "%d moments (%d outside moves), %d rounds every %.1f ms"
             % (s["two_holder_moments_sampled"], s["two_holder_moments_sampled_outside_moves"], s["holder_rounds"],
                s["holder_round_ms"])),
            ("two holders, events", "%d overlaps (%d outside moves), longest %.1f ms"
             % (s["two_holder_overlaps_events"], s["two_holder_overlaps_events_outside_moves"], s["longest_overlap_ms"])),
            ("load average", "%.1f" % s["load_average"]),
        ]
    failed = calls.failed()
    lines += [("failed module calls", "%d of %d (every phase)" % (len(failed), len(calls.done))),
              ("left behind", ", ".join(left) if left else ("kept (KEEP=1)" if s.get("kept") else "nothing"))]
    for label, value in lines:
        print("%-24s %s" % (label, value))
    for c in failed:
        print("  FAILED %s %s %s: %s" % (c["controller"], c["module"], c["name"], " ".join(str(c["msg"]).split())[:300]))


def main():
    moves = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    creates = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    state_dirs = (tempfile.mkdtemp(prefix="sciaas-load-a-"), tempfile.mkdtemp(prefix="sciaas-load-b-"))
    one = os.environ.get("ONE_STATE_DIR") == "1"
    calls = Calls()
    summary, rows, details, left = {"site_made": False, "one_state_dir": one}, [], {}, []
    probe = watcher = None
    try:
        summary["site_made"] = make_site(calls, state_dirs[0])
        if summary["site_made"]:
            probe = Probe(container(CLIENT), VIP["address"])
            watcher = Watcher(SERVERS + (CLIENT,), VIP["address"])
            time.sleep(1)
            start = time.time()
            done_moves = load(calls, state_dirs[:1] * 2 if one else state_dirs, moves, creates)
            end = time.time()
            time.sleep(1)
            watcher.stop()
            probe.stop()
            measured, rows, details = measure(probe, watcher, done_moves, start, end, calls)
            summary.update(measured)
    finally:
        for proc in ([probe.proc] if probe else []) + (watcher.monitors if watcher else []):
            if proc.poll() is None:
                proc.kill()
        if os.environ.get("KEEP") == "1":
            summary["kept"] = True
            print("KEEP=1: the site stays; tear down with SECURE_CLOUD_STATE_DIR=%s (creator-2 used %s)" % state_dirs)
        else:
            left = teardown(calls, state_dirs[0], creates)
            for state_dir in state_dirs:
                shutil.rmtree(state_dir, ignore_errors=True)
    summary["failed_module_calls"] = len(calls.failed())
    report(summary, rows, calls, left)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as handle:
        json.dump({"summary": summary, "moves": rows, "calls": calls.done, "left_behind": left, **details}, handle, indent=2)
    print("written: %s" % os.path.relpath(RESULTS, ROOT))
    return 1 if calls.failed() or not summary["site_made"] or left else 0


if __name__ == "__main__":
    sys.exit(main())
