"""Provisioning time as the fleet grows: the instance module against plain `docker run`,
and the price of confining a guest.

For each N (default 1 5 10 20 40), in one run and alternating the order of the sides:
  module      bench/provisioning.yml creates N instances on one private vlan (one play
              over the fleet, forks = N), each waited for until systemd reports running;
  rerun       the same playbook again: the idempotent no-op;
  plain       `docker run` of the same image onto the same network, N times, confined as
              the provider confines a guest (guest.create_options) and let boot by the
              host the same way (guest.prepare), then waiting until systemd reports
              running in each: the peer of the module;
  unconfined  the same with the recipe the provider used before guests were tenants
              (SYS_ADMIN, seccomp unconfined, the host's cgroup namespace and tree rw):
              plain / unconfined is the price of isolation.
Prints a table (seconds, ratio module/plain, rerun as a share of the first run,
plain/unconfined) and writes bench/results/provisioning.json and a chart,
provisioning.svg. Run as root on the Docker host after make setup and make images:

  PYTHONPATH=.collections .venv/bin/python bench/provisioning.py [N ...]
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "provisioning.json")
CHART = os.path.join(ROOT, "bench", "results", "provisioning.svg")
IMAGE = "secure-cloud-iaas/instance:debian12"
NETWORK = "sciaas-vlan-bench-prov"
# The instance module's default size (small: 512 MiB).
MEMORY = 512 * 1024 * 1024
COMMON = ["--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp", "-e", "container=docker",
          "--label", "secure_cloud.iaas.managed=true"]
# Before guests were tenants (the recipe of most systemd-in-Docker guides).
UNCONFINED_RUN = ["--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW",
                  "--cap-add", "NET_BROADCAST", "--security-opt", "seccomp=unconfined", "--cgroupns=host",
                  "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--memory", str(MEMORY)] + COMMON


def confined_run():
    """(docker run flags, arguments after the image) of a guest, from the provider's own policy."""
    opts = guest.create_options(MEMORY, ("NET_ADMIN", "NET_RAW", "NET_BROADCAST"))
    flags = ["--cgroupns", opts["cgroupns"], "--pids-limit", str(opts["pids_limit"]), "--memory", str(opts["mem_limit"]),
             "--memory-swap", str(opts["memswap_limit"]), "--entrypoint", opts["entrypoint"][0]] + COMMON
    for cap in opts["cap_add"]:
        flags += ["--cap-add", cap]
    for cap in opts["cap_drop"]:
        flags += ["--cap-drop", cap]
    return flags, opts["entrypoint"][1:] + opts["command"]


def timed(func, *args):
    start = time.monotonic()
    func(*args)
    return time.monotonic() - start


def playbook(n, state):
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as inv:
        json.dump({"fleet": {"hosts": dict(("bench-%02d" % i, None) for i in range(n))}}, inv)
        inv.flush()
        run = subprocess.run(["ansible-playbook", "-i", inv.name, "-f", str(max(n, 1)), "-e", "fleet_state=%s" % state,
                              os.path.join(ROOT, "bench", "provisioning.yml")],
                             cwd=ROOT, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if run.returncode:
        # What failed matters more than the timing: show it, then stop.
        failures = [line for line in run.stdout.splitlines() if "fatal:" in line or "FAILED" in line]
        sys.exit("provisioning.yml N=%d %s failed:\n%s" % (n, state, "\n".join(failures[:10]) or run.stdout[-3000:]))


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


def plain_names(n, side):
    return ["sciaas-bench-%s-%02d" % (side, i) for i in range(n)]


def plain(n, side):
    names = plain_names(n, side)
    flags, tail = confined_run() if side == "plain" else (UNCONFINED_RUN, [])
    for i, name in enumerate(names):
        subprocess.run(["docker", "run", "-d", "--name", name, "--network", NETWORK, "--ip", "10.215.0.%d" % (100 + i)]
                       + flags + [IMAGE] + tail, check=True, stdout=subprocess.DEVNULL)
        if side == "plain":
            pid = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", name], capture_output=True, text=True,
                                 check=True).stdout.strip()
            guest.prepare(int(pid), name)
    wait_running(names)
    return names


def chart(rows):
    """Seconds against N, one line per side: how each grows is easier seen than read."""
    width, height, left, bottom, top = 640, 360, 60, 320, 40
    top_n = max(r["n"] for r in rows)
    top_s = max(max(r["module_s"], r["plain_s"], r["unconfined_s"]) for r in rows) * 1.1

    def point(n, s):
        return "%.1f,%.1f" % (left + (width - left - 20) * n / top_n, bottom - (bottom - top) * s / top_s)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">'
           % (width, height), '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15">Provisioning: seconds to N running instances</text>' % left,
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, bottom, width - 20, bottom),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, bottom, left, top)]
    for r in rows:
        x = point(r["n"], 0).split(",")[0]
        out.append('<text x="%s" y="%d" text-anchor="middle">N=%d</text>' % (x, bottom + 16, r["n"]))
    lines = (("module_s", "instance module", "#d95f02"), ("plain_s", "plain docker run, confined", "#1b9e77"),
             ("rerun_s", "module re-run (no-op)", "#7570b3"), ("unconfined_s", "plain docker run, unconfined", "#999999"))
    for i, (key, label, color) in enumerate(lines):
        out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                   % (color, " ".join(point(r["n"], r[key]) for r in rows)))
        for r in rows:
            x, y = point(r["n"], r[key]).split(",")
            out.append('<circle cx="%s" cy="%s" r="3" fill="%s"><title>N=%d %s: %.1f s</title></circle>'
                       % (x, y, color, r["n"], label, r[key]))
        out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>'
                   % (left + 10, top + 4 + 16 * i, color, left + 24, top + 13 + 16 * i, label))
    out.append('<text x="%d" y="%d" fill="#777" text-anchor="end">%.0f s</text>' % (left - 4, top + 4, top_s))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [1, 5, 10, 20, 40]
    rows = []
    sides = ("module", "plain", "unconfined")
    playbook(0, "present")  # the vlan, outside the timings
    try:
        for index, n in enumerate(sizes):
            row = {"n": n}
            order = sides[index % 3:] + sides[:index % 3]
            for side in order:
                if side == "module":
                    row["module_s"] = timed(playbook, n, "present")
                    row["rerun_s"] = timed(playbook, n, "present")
                    playbook(n, "absent")
                else:
                    start = time.monotonic()
                    names = plain(n, side)
                    row[side + "_s"] = time.monotonic() - start
                    subprocess.run(["docker", "rm", "-f"] + names, check=True, stdout=subprocess.DEVNULL)
            row["first"] = order[0]
            row["ratio"] = row["module_s"] / row["plain_s"]
            row["rerun_share"] = row["rerun_s"] / row["module_s"]
            row["isolation_price"] = row["plain_s"] / row["unconfined_s"]
            rows.append(row)
            print("N=%-3d module %6.1f s  plain %6.1f s  ratio %.2f  rerun %5.1f s (%3.0f%%)  unconfined %6.1f s  "
                  "plain/unconfined %.2f  first: %s"
                  % (n, row["module_s"], row["plain_s"], row["ratio"], row["rerun_s"], 100 * row["rerun_share"],
                     row["unconfined_s"], row["isolation_price"], row["first"]), flush=True)
    finally:
        # A broken run leaves no instance behind, whichever N it broke at.
        playbook(max(sizes), "absent")
        subprocess.run(["docker", "rm", "-f"] + plain_names(max(sizes), "plain") + plain_names(max(sizes), "unconfined"),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        subprocess.run(["ansible", "localhost", "-c", "local", "-m", "secure_cloud.iaas.vlan",
                        "-a", "name=bench-prov state=absent"], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    print()
    print("%4s %10s %9s %7s %9s %8s %14s %18s" % ("N", "module_s", "plain_s", "ratio", "rerun_s", "rerun_%",
                                                  "unconfined_s", "plain/unconfined"))
    for r in rows:
        print("%4d %10.1f %9.1f %7.2f %9.1f %8.0f %14.1f %18.2f"
              % (r["n"], r["module_s"], r["plain_s"], r["ratio"], r["rerun_s"], 100 * r["rerun_share"],
                 r["unconfined_s"], r["isolation_price"]))
    print("load average %.1f" % os.getloadavg()[0])
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as handle:
        json.dump({"rows": rows, "load_average": os.getloadavg()[0]}, handle, indent=2)
    with open(CHART, "w") as handle:
        handle.write(chart(rows))
    print("written: %s, %s" % (os.path.relpath(RESULTS, ROOT), os.path.relpath(CHART, ROOT)))


if __name__ == "__main__":
    main()
