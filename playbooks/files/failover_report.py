"""Measure failover drill runs and write one report: JSON and an SVG chart.

Input: raw run files from failover_trials.py (one per configuration, e.g. the
role's defaults and stock 1 s adverts). For every trial:
  outage   the longest gap between two answers the client received (send
           time plus latency), from 0.5 s before the fault until 0.5 s after
           answers came back;
  failed   probes sent between the fault and the end of the trial that failed;
and for the run, unplanned failovers and planned switchovers apart: median,
95th percentile and maximum outage, failed requests; and every probe
sample at which more than one instance held the vip (from the kernel's address
events), with those outside any trial's disturbance window (fault until the
repaired node is BACKUP plus the settle time) counted as "after settling".
A run records what its probe asked: GET / (the vip alone) or GET /data/KEY
(the vip and the pair's data volume that follows it); the report ends with the
runs side by side, each with its advertisement interval, and the machine.

Usage: failover_report.py OUT.json OUT.svg RUN.json [RUN.json ...]
"""

import bisect
import json
import math
import sys

PLANNED = "planned_switchover"


def percentile(values, pct):
    """Nearest-rank percentile (no interpolation): an outage that happened."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def median(values):
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    # Rounded like the samples (0.1 ms), so the mean of two never prints as 121.80000000000001.
    return ordered[mid] if len(ordered) % 2 else round((ordered[mid - 1] + ordered[mid]) / 2, 1)


def answered_at(sample):
    """When the client had the answer: send time plus latency. A request sent
    during the outage may wait for ARP and be answered late; counting it at its
    send time would hide that wait."""
    return sample[0] + (sample[3] if len(sample) > 3 else 0.0)


def outage(samples, start, end):
    """Longest gap between consecutive answers the client received in [start, end]."""
    ok = sorted(answered_at(s) for s in samples if s[1] and start <= answered_at(s) <= end)
    if len(ok) < 2:
        return end - start
    return max(b - a for a, b in zip(ok, ok[1:]))


class Holders:
    """Who holds the vip at any time, from the address events."""

    def __init__(self, events):
        self.per_node = {}
        for when, node, held in sorted(events):
            times, states = self.per_node.setdefault(node, ([], []))
            times.append(when)
            states.append(held)

    def at(self, when):
        out = []
        for node, (times, states) in sorted(self.per_node.items()):
            i = bisect.bisect_right(times, when) - 1
            if i >= 0 and states[i]:
                out.append(node)
        return out


def measure(run):
    samples = sorted(run["samples"])
    holders = Holders(run["holder_events"])
    trials = []
    for trial in run["trials"]:
        seconds = outage(samples, trial["t_break"] - 0.5, trial["t_recovered"] + 0.5)
        failed = sum(1 for s in samples
                     if not s[1] and trial["t_break"] <= s[0] <= trial["t_settled"])
        trials.append({"trial": trial["trial"], "mode": trial["mode"], "from": trial["active"],
                       "to": trial["standby"], "outage_ms": round(seconds * 1000, 1),
                       "failed_requests": failed, "recovered": trial["recovered"]})
    windows = [(t["t_break"], t["t_repaired"] + run.get("settle", 1.5)) for t in run["trials"]]
    doubles = []
    for sample in samples:
        when = sample[0]
        held = holders.at(when)
        if len(held) > 1:
            disturbed = any(a <= when <= b for a, b in windows)
            doubles.append({"time": when, "holders": held, "after_settling": not disturbed})
    unplanned = [t for t in trials if t["mode"] != PLANNED]
    summary = dict(summarise(unplanned), probes=len(samples), double_holder_samples=len(doubles),
                   double_holder_samples_after_settling=sum(1 for d in doubles if d["after_settling"]))
    modes = sorted(set(t["mode"] for t in unplanned))
    return {
        "label": run["label"],
        "advert_int": run.get("advert_int"),
        # Runs recorded before the probe took a path asked GET /.
        "path": run.get("path", "/"),
        "provider": run.get("provider"),
        "cpus": run.get("cpus"),
        "by_mode": dict((m, summarise([t for t in unplanned if t["mode"] == m])) for m in modes),
        "trials": trials,
        "summary": summary,
        "planned_summary": summarise([t for t in trials if t["mode"] == PLANNED]),
        "double_holder_samples": doubles,
    }


def summarise(trials):
    outages = [t["outage_ms"] for t in trials]
    return {
        "trials": len(trials),
        "median_ms": median(outages),
        "p95_ms": percentile(outages, 95),
        "max_ms": max(outages) if outages else None,
        "failed_requests": sum(t["failed_requests"] for t in trials),
    }


def svg(report):
    """A bar per trial, one row per run, with median, p95 and max written beside it."""
    runs = report["runs"]
    width, row_h, left, top = 900, 170, 70, 50
    height = top + row_h * len(runs) + 30
    colors = {"keepalived_killed": "#d95f02", "instance_stopped": "#1b9e77", "network_cut": "#7570b3",
              PLANNED: "#e7298a"}
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15">Client-seen outage per trial (ms)</text>' % left]
    legend_x = left
    for mode, color in colors.items():
        out.append('<rect x="%d" y="30" width="10" height="10" fill="%s"/><text x="%d" y="39">%s</text>' % (legend_x, color, legend_x + 14, mode))
        legend_x += 160
    for i, run in enumerate(runs):
        base = top + row_h * (i + 1) - 20
        s = run["summary"]
        out.append('<text x="%d" y="%d" font-weight="bold">%s: unplanned median %s ms, p95 %s ms, max %s ms, failed %d, '
                   'two holders %d (after settling %d)</text>' % (
                       left, base - row_h + 40, run["label"], s["median_ms"], s["p95_ms"], s["max_ms"],
                       s["failed_requests"], s["double_holder_samples"], s["double_holder_samples_after_settling"]))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, base, width - 20, base))
        # Each row has its own scale (the runs differ tenfold); the 200 ms and
        # 400 ms marks (the targets for median and maximum) make rows comparable.
        top_ms = max([t["outage_ms"] for t in run["trials"]] + [450])
        scale = (row_h - 60) / top_ms
        for mark in (200, 400, 1000, 2000, 3000, 4000, 5000):
            if mark <= top_ms:
                y = base - mark * scale
                out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#bbb" stroke-dasharray="2 3"/>'
                           % (left, y, width - 20, y))
                out.append('<text x="%d" y="%.1f" fill="#777" text-anchor="end">%d ms</text>' % (left - 4, y + 4, mark))
        n = max(len(run["trials"]), 1)
        bar_w = (width - left - 40) / n
        for j, t in enumerate(run["trials"]):
            h = t["outage_ms"] * scale
            x = left + j * bar_w
            out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>trial %d %s: %s ms</title></rect>' % (
                x + 2, base - h, bar_w - 4, h, colors.get(t["mode"], "gray"), t["trial"], t["mode"], t["outage_ms"]))
            out.append('<text x="%.1f" y="%.1f" font-size="9" text-anchor="middle">%d</text>' % (x + bar_w / 2, base - h - 3, round(t["outage_ms"])))
        if s["median_ms"] is not None:
            y = base - s["median_ms"] * scale
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="red" stroke-dasharray="4 3"/>'
                       % (left, y, width - 20, y))
            out.append('<text x="%d" y="%.1f" fill="red">median</text>' % (width - 60, y - 3))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def side_by_side(runs):
    """Lines that put the runs next to each other: what each asked, its adverts, its figures."""
    machine = sorted(set("%s provider, %s CPUs" % (r["provider"] or "docker", r["cpus"] or "?") for r in runs))
    row = "  %%-%ds %%-18s %%-7s %%-28s %%-18s %%s" % max(len(r["label"]) for r in runs)
    lines = ["== side by side (%s): outage a client sees, in ms" % "; ".join(machine),
             row % ("run", "asks", "advert", "unplanned median/p95/max", "planned median/max", "unplanned median by mode")]
    for run in runs:
        s, p = run["summary"], run["planned_summary"]
        lines.append(row % (
            run["label"], "GET " + run["path"], "%s s" % run["advert_int"],
            "%s / %s / %s (%d)" % (s["median_ms"], s["p95_ms"], s["max_ms"], s["trials"]),
            "%s / %s (%d)" % (p["median_ms"], p["max_ms"], p["trials"]) if p["trials"] else "-",
            ", ".join("%s %s" % (m, v["median_ms"]) for m, v in sorted(run["by_mode"].items()))))
    return lines


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    runs = []
    for path in argv[3:]:
        with open(path, encoding="utf-8") as handle:
            runs.append(measure(json.load(handle)))
    report = {"definition": {
        "outage": "longest gap between consecutive answers the client received (probe sent every 10 ms, "
                  "counted at send time plus latency)",
        "double_holder": "a probe sample time at which more than one instance had the vip configured"},
        "runs": runs}
    with open(argv[1], "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    with open(argv[2], "w", encoding="utf-8") as handle:
        handle.write(svg(report))
    for run in runs:
        print("== %s" % run["label"])
        for t in run["trials"]:
            print("  trial %2d %-18s %s -> %s  outage %7.1f ms  failed %d" % (
                t["trial"], t["mode"], t["from"], t["to"], t["outage_ms"], t["failed_requests"]))
        s = run["summary"]
        print("  unplanned (%d): median %s ms  p95 %s ms  max %s ms  failed requests %d  two-holder samples %d (after settling %d)" % (
            s["trials"], s["median_ms"], s["p95_ms"], s["max_ms"], s["failed_requests"],
            s["double_holder_samples"], s["double_holder_samples_after_settling"]))
        p = run["planned_summary"]
        if p["trials"]:
            print("  planned (%d):   median %s ms  p95 %s ms  max %s ms  failed requests %d" % (
                p["trials"], p["median_ms"], p["p95_ms"], p["max_ms"], p["failed_requests"]))
    print("\n".join(side_by_side(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
