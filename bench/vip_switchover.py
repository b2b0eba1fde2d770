"""Planned vip switchovers as a client sees them.

Brings up the Molecule `vip` scenario (two allowed web servers, a client), then
moves the vip back and forth TRIALS times through the vip module while the
client probes the service on the vip every 10 ms (playbooks/files/vip_probe.py).
For each move: the outage (longest gap between two answers the client got,
from 0.5 s before the module call until 0.5 s after it returned; 10 ms is
"no outage" at this probe rate) and the failed requests; beside it, the same
measures over an equally long quiet window just before the move, with no
move in it: the noise floor of this machine at that moment. Prints a table and
the medians, writes bench/results/vip_switchover.json, and removes the
scenario again unless KEEP=1. Run as root on the Docker host, after make setup
and make images.

  .venv/bin/python bench/vip_switchover.py [TRIALS]
"""

import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "playbooks", "files"))
from failover_report import median, outage, percentile  # noqa: E402  (the drill's own measures)

CLIENT = "sciaas-vip-client"
VIP_NAME = "vip-web"
VIP = "10.250.1.200"
SERVERS = ("vip-web-1", "vip-web-2")
RESULTS = os.path.join(ROOT, "bench", "results", "vip_switchover.json")


def run(*argv):
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def move(holder):
    """One planned switchover through the module; returns (start, end) on the host clock."""
    start = time.time()
    run("ansible", "localhost", "-c", "local", "-m", "secure_cloud.iaas.vip",
        "-a", "name=%s holder=%s" % (VIP_NAME, holder))
    return start, time.time()


class Probe:
    """The client's probe, streaming one sample per request back here (bench/load.py uses it too)."""

    def __init__(self, client=CLIENT, vip=VIP):
        run("docker", "cp", os.path.join(ROOT, "playbooks", "files", "vip_probe.py"), client + ":/usr/local/bin/vip-probe")
        self.proc = subprocess.Popen(["docker", "exec", "-i", client, "python3", "/usr/local/bin/vip-probe", vip],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.samples = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            sent, status, who, latency = line.split()
            self.samples.append((float(sent), status == "OK", who, float(latency) / 1000))

    def stop(self):
        self.proc.stdin.close()  # the probe ends when its stdin closes
        self.proc.wait(timeout=10)
        self.reader.join(timeout=10)


def main():
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    run("molecule", "converge", "-s", "vip")
    try:
        probe = Probe()
        time.sleep(1)
        windows = []
        quiet = 3.0
        for trial in range(trials):
            holder = SERVERS[(trial + 1) % 2]
            quiet_start = time.time()
            time.sleep(quiet)
            start, end = move(holder)
            windows.append((trial + 1, holder, start, end, quiet_start, start))
            quiet = end - start + 1.0
            time.sleep(0.5)
        time.sleep(0.5)
        probe.stop()
        if not probe.samples:
            sys.exit("the probe in %s returned no samples: nothing was measured" % CLIENT)
    finally:
        if os.environ.get("KEEP") != "1":
            run("molecule", "destroy", "-s", "vip")

    def window(start, end):
        failed = sum(1 for s in probe.samples if not s[1] and start <= s[0] <= end)
        return round(outage(probe.samples, start, end) * 1000, 1), failed

    rows = []
    for trial, holder, start, end, quiet_start, quiet_end in windows:
        out_ms, failed = window(start - 0.5, end + 0.5)
        # The quiet window ends where the move's own window begins.
        quiet_ms, quiet_failed = window(quiet_start, min(quiet_end - 0.5, quiet_start + (end - start) + 1.0))
        answered_by = sorted(set(s[2] for s in probe.samples if s[1] and end < s[0] <= end + 0.5))
        rows.append({"trial": trial, "to": holder, "outage_ms": out_ms, "failed_requests": failed,
                     "quiet_outage_ms": quiet_ms, "quiet_failed_requests": quiet_failed,
                     "module_call_ms": round((end - start) * 1000), "answered_by_after": answered_by})
    outages = [r["outage_ms"] for r in rows]
    quiet = [r["quiet_outage_ms"] for r in rows]
    summary = {"trials": len(rows), "median_ms": median(outages), "p95_ms": percentile(outages, 95),
               "max_ms": max(outages), "failed_requests": sum(r["failed_requests"] for r in rows),
               "quiet_median_ms": median(quiet), "quiet_max_ms": max(quiet),
               "quiet_failed_requests": sum(r["quiet_failed_requests"] for r in rows),
               "probes": len(probe.samples), "probe_interval_ms": 10, "load_average": os.getloadavg()[0]}
    print("%-6s %-10s %10s %7s %16s %12s %14s  %s" % ("trial", "to", "outage_ms", "failed", "quiet_outage_ms",
                                                      "quiet_failed", "module_call_ms", "answered by"))
    for r in rows:
        print("%-6d %-10s %10.1f %7d %16.1f %12d %14d  %s" % (
            r["trial"], r["to"], r["outage_ms"], r["failed_requests"], r["quiet_outage_ms"],
            r["quiet_failed_requests"], r["module_call_ms"], ",".join(r["answered_by_after"])))
    print("switchover: median %.1f ms, p95 %.1f ms, max %.1f ms, failed requests %d"
          % (summary["median_ms"], summary["p95_ms"], summary["max_ms"], summary["failed_requests"]))
    print("quiet baseline: median %.1f ms, max %.1f ms, failed requests %d"
          % (summary["quiet_median_ms"], summary["quiet_max_ms"], summary["quiet_failed_requests"]))
    print("probes %d (every 10 ms), load average %.1f" % (summary["probes"], summary["load_average"]))
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as handle:
        json.dump({"summary": summary, "trials": rows}, handle, indent=2)
    print("written: %s" % os.path.relpath(RESULTS, ROOT))


if __name__ == "__main__":
    main()
