"""The keepalived notify consumer: ordering, retry with backoff, reconciliation.

The action is a real executable that records every call to a file, so these
tests exercise the same process boundary keepalived uses.
"""

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CONSUMER = ROOT / "roles" / "keepalived" / "files" / "notify_consumer.py"
sys.path.insert(0, str(CONSUMER.parent))

import notify_consumer  # noqa: E402  (imported from the role's files)

RECORDING_ACTION = """#!/bin/sh
# Records each call; claim fails FAIL_CLAIMS times first; holder prints HOLDER.
echo "$*" >> "{log}"
case "$1" in
  transition) [ -n "{slow}" ] && sleep {slow}; exit 0 ;;
  claim)
    n=$(cat "{count}" 2>/dev/null || echo 0); echo $((n + 1)) > "{count}"
    [ "$n" -lt "{fail_claims}" ] && exit 1
    exit 0 ;;
  holder) echo "{holder}"; exit {holder_rc} ;;
esac
"""


def make_action(tmp_path, fail_claims=0, holder="node-a", holder_rc=0, slow=""):
    log = tmp_path / "calls.log"
    path = tmp_path / "action.sh"
    path.write_text(RECORDING_ACTION.format(log=log, count=tmp_path / "claims", slow=slow,
                                            fail_claims=fail_claims, holder=holder,
                                            holder_rc=holder_rc))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path, log


def config(tmp_path, action, **extra):
    cfg = {
        "mode": "cloud_api",
        "action": str(action),
        "vips": ["10.240.1.200"],
        "node_id": "node-a",
        "retries": 3,
        "backoff": 0.1,
        "holddown": 5,
        "marker": str(tmp_path / "cloud_fault"),
        "state_file": str(tmp_path / "state"),
        "event_log": str(tmp_path / "events.log"),
    }
    cfg.update(extra)
    return cfg


def calls(log):
    return log.read_text().splitlines() if log.exists() else []


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_parse_line():
    assert notify_consumer.parse_line('INSTANCE "VI_1" MASTER 100\n') == {
        "type": "INSTANCE", "name": "VI_1", "state": "MASTER", "priority": "100"}
    assert notify_consumer.parse_line("garbage") is None


def test_l2_mode_calls_transition_only_and_writes_state(tmp_path):
    action, log = make_action(tmp_path)
    consumer = notify_consumer.Consumer(config(tmp_path, action, mode="l2"))
    consumer.handle_line('INSTANCE "VI_1" MASTER 100')
    assert calls(log) == ["transition INSTANCE VI_1 MASTER 100"]
    assert (tmp_path / "state").read_text() == "MASTER\n"


def test_claim_retries_with_exponential_backoff(tmp_path):
    action, log = make_action(tmp_path, fail_claims=2)
    clock = FakeClock()
    consumer = notify_consumer.Consumer(config(tmp_path, action), sleep=clock.sleep, clock=clock)
    consumer.handle_line('INSTANCE "VI_1" MASTER 100')
    assert calls(log) == [
        "transition INSTANCE VI_1 MASTER 100",
        "claim 10.240.1.200 node-a",
        "claim 10.240.1.200 node-a",
        "claim 10.240.1.200 node-a",
        "holder 10.240.1.200",
    ]
    assert clock.sleeps == [0.1, 0.2]
    assert not (tmp_path / "cloud_fault").exists()


def test_claim_gives_up_after_retries_and_still_reconciles(tmp_path):
    action, log = make_action(tmp_path, fail_claims=99, holder="node-b")
    clock = FakeClock()
    consumer = notify_consumer.Consumer(config(tmp_path, action, retries=2), sleep=clock.sleep,
                                        clock=clock)
    consumer.handle_line('INSTANCE "VI_1" MASTER 100')
    assert [c.split()[0] for c in calls(log)] == ["transition", "claim", "claim", "claim", "holder"]
    assert clock.sleeps == [0.1, 0.2]
    assert (tmp_path / "cloud_fault").read_text() == "1\n"


def test_reconcile_faults_when_the_cloud_names_another_holder_then_clears(tmp_path):
    action, _log = make_action(tmp_path, holder="node-b")
    clock = FakeClock()
    consumer = notify_consumer.Consumer(config(tmp_path, action, holddown=5), sleep=clock.sleep,
                                        clock=clock)
    consumer.handle_line('INSTANCE "VI_1" MASTER 100')
    marker = tmp_path / "cloud_fault"
    assert marker.read_text() == "1\n"
    clock.now += 4.9
    consumer.tick()
    assert marker.read_text() == "1\n"
    clock.now += 0.2
    consumer.tick()
    assert marker.read_text() == "0\n"
    events = [json.loads(line)["event"] for line in (tmp_path / "events.log").read_text().splitlines()]
    assert "reconcile_fault" in events and events[-1] == "fault_cleared"


def test_reconcile_keeps_master_when_the_cloud_agrees(tmp_path):
    action, _log = make_action(tmp_path, holder="node-a")
    consumer = notify_consumer.Consumer(config(tmp_path, action))
    consumer.handle_line('INSTANCE "VI_1" MASTER 100')
    assert not (tmp_path / "cloud_fault").exists()


def test_reconcile_does_not_fault_when_the_cloud_cannot_answer(tmp_path):
    action, _log = make_action(tmp_path, holder="", holder_rc=3)
    consumer = notify_consumer.Consumer(config(tmp_path, action))
    consumer.handle_line('INSTANCE "VI_1" MASTER 100')
    assert not (tmp_path / "cloud_fault").exists()


def test_claim_abandoned_when_a_newer_transition_is_waiting(tmp_path):
    action, log = make_action(tmp_path, fail_claims=99)
    clock = FakeClock()
    consumer = notify_consumer.Consumer(config(tmp_path, action), sleep=clock.sleep, clock=clock)
    consumer.pending.append('INSTANCE "VI_1" BACKUP 100')
    consumer.handle_line('INSTANCE "VI_1" MASTER 100')
    assert [c.split()[0] for c in calls(log)] == ["transition"]


def test_backup_and_fault_do_not_claim(tmp_path):
    action, log = make_action(tmp_path)
    consumer = notify_consumer.Consumer(config(tmp_path, action))
    consumer.handle_line('INSTANCE "VI_1" BACKUP 100')
    consumer.handle_line('INSTANCE "VI_1" FAULT 0')
    assert calls(log) == ["transition INSTANCE VI_1 BACKUP 100", "transition INSTANCE VI_1 FAULT 0"]


def test_process_handles_fifo_lines_in_order_even_with_a_slow_action(tmp_path):
    """End to end: a FIFO like keepalived's, a burst of lines, a slow action."""
    action, log = make_action(tmp_path, slow="0.05")
    fifo = tmp_path / "vrrp.fifo"
    os.mkfifo(fifo)
    cfg_path = tmp_path / "consumer.json"
    cfg_path.write_text(json.dumps(config(tmp_path, action, mode="l2")))
    proc = subprocess.Popen([sys.executable, str(CONSUMER), str(cfg_path), str(fifo)])
    try:
        # keepalived keeps the FIFO open for writing; so do we.
        writer = os.open(fifo, os.O_WRONLY)
        states = ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "BACKUP"]
        os.write(writer, "".join('INSTANCE "VI_1" %s 100\n' % s for s in states).encode())
        deadline = time.time() + 10
        while len(calls(log)) < len(states) and time.time() < deadline:
            time.sleep(0.02)
        assert calls(log) == ["transition INSTANCE VI_1 %s 100" % s for s in states]
        assert (tmp_path / "state").read_text() == "BACKUP\n"
        os.close(writer)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.mark.parametrize("script", ["openstack.sh", "aws.sh"])
def test_cloud_actions_are_posix_shell(script):
    path = CONSUMER.parent / "actions" / script
    assert os.access(path, os.X_OK)
    subprocess.run(["sh", "-n", str(path)], check=True)
