"""Two controllers of one engine, each with its own state directory and its own vip on the same vlan.

    python3 two_controllers.py CLIENT VLAN SERVER_1 SERVER_2 VIP_A_NAME VIP_A VIP_B_NAME VIP_B

Controller one is the scenario's (the state directory the modules default
to): its vip A exists, held by SERVER_2. Controller two has a fresh temporary
state directory, as another user or checkout would: it creates vip B (both
servers allowed), and the two move their vips alternately, then both at once.
Meanwhile the client probes both vips every 10 ms (playbooks/files/vip_probe.py,
through the vip bench's Probe). Controller one's vip_info must list vip B
(one truth for the engine).

Prints, per vip, the longest gap between two answers outside its own planned
moves (each move's call, 0.5 s either side) and inside them, and exits 1 when
a gap outside reaches GAP_LIMIT: before the vips were kept in the engine's
store, controller two's guard rebuild dropped vip A's grants and A went dark
until something else rebuilt the guard. Vip B is deleted at the end.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from vip_switchover import Probe  # noqa: E402  (the vip bench's probe of the client)
from failover_report import answered_at  # noqa: E402  (on the path vip_switchover set)

# A gap this long outside a vip's own moves is the vip gone dark, not noise: a
# planned move costs tens of ms here, the probe's timeout is 0.2 s.
GAP_LIMIT = 1.0


def module(state_dir, name, args):
    """One controller's module run; (start, end) on the host clock."""
    env = dict(os.environ)
    if state_dir:
        env["SECURE_CLOUD_STATE_DIR"] = state_dir
    start = time.time()
    proc = subprocess.run(["ansible", "localhost", "-c", "local", "-m", "secure_cloud.iaas." + name, "-a", json.dumps(args)],
                          env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit("%s %s failed (state dir %s): %s" % (name, json.dumps(args), state_dir or "default", proc.stdout[-2000:]))
    return start, time.time(), proc.stdout


def gaps(samples, windows):
    """(longest gap outside WINDOWS, longest inside one): between consecutive answers."""
    answers = sorted(answered_at(s) for s in samples if s[1])
    outside = inside = 0.0
    for a, b in zip(answers, answers[1:]):
        planned = any(a < end + 0.5 and b > start - 0.5 for start, end in windows)
        if planned:
            inside = max(inside, b - a)
        else:
            outside = max(outside, b - a)
    return outside, inside


def main():
    client, vlan, one, two, a_name, a_addr, b_name, b_addr = sys.argv[1:9]
    other = tempfile.mkdtemp(prefix="sciaas-vip-controller-two-")
    moves = {a_name: [], b_name: []}

    def move(state_dir, name, holder):
        start, end, _out = module(state_dir, "vip", dict(name=name, holder=holder))
        moves[name].append((start, end))

    probe_a = Probe(client, a_addr)
    try:
        time.sleep(1)
        start, end, _out = module(other, "vip", dict(name=b_name, vlan=vlan, address=b_addr,
                                                     allowed_instances=[one, two], holder=two))
        moves[b_name].append((start, end))
        probe_b = Probe(client, b_addr)
        time.sleep(1)
        _s, _e, listed = module(None, "vip_info", dict(name=b_name))
        seen_by_one = b_addr in listed  # its address appears only if the vip is listed
        # Alternately, then both at once.
        for name, holder in ((a_name, one), (b_name, one), (a_name, two), (b_name, two)):
            move(None if name == a_name else other, name, holder)
            time.sleep(0.5)
        for holder in (one, two):
            both = [threading.Thread(target=move, args=(None, a_name, holder)),
                    threading.Thread(target=move, args=(other, b_name, holder))]
            for thread in both:
                thread.start()
            for thread in both:
                thread.join()
            time.sleep(0.5)
        time.sleep(1)
        probe_b.stop()
    finally:
        probe_a.stop()
        module(other, "vip", dict(name=b_name, state="absent"))
        shutil.rmtree(other, ignore_errors=True)
    failed = []
    for name, probe in ((a_name, probe_a), (b_name, probe_b)):
        outside, inside = gaps(probe.samples, moves[name])
        answered = sum(1 for s in probe.samples if s[1])
        print("%s: %d probes, %d answered, %d planned moves; longest gap outside its moves %.1f ms, inside %.1f ms"
              % (name, len(probe.samples), answered, len(moves[name]), outside * 1000, inside * 1000))
        if not answered or outside >= GAP_LIMIT:
            failed.append(name)
    print("controller one's vip_info lists %s: %s" % (b_name, seen_by_one))
    if failed or not seen_by_one:
        sys.exit("went dark outside their own moves: %s" % ", ".join(failed) if failed else
                 "controller one does not see the other controller's vip")


if __name__ == "__main__":
    main()
