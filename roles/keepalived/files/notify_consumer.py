"""Ordered consumer of keepalived's vrrp_notify_fifo.

keepalived starts this script once and writes one line per transition to the
FIFO, e.g. ``INSTANCE "VI_1" MASTER 100``. Lines are handled one at a time, in
the order keepalived wrote them, so a BACKUP never overtakes the MASTER before it.

For every line the pluggable action (an executable) is called as
``ACTION transition TYPE NAME STATE PRIORITY``. In ``cloud_api`` mode, on MASTER
the action is also asked to move the vip to this node (``ACTION claim VIP NODE``,
retried with exponential backoff), then who holds it (``ACTION holder VIP``,
prints a node id). When the cloud names another node, a 1 is written to the
marker file that keepalived tracks (track_file, weight 0), which puts this node
in FAULT; after a hold-down the marker returns to 0 and the node is a BACKUP
again, so a dead partner can still be replaced later.

Usage: notify_consumer.py CONFIG.json FIFO   (keepalived appends FIFO itself)
"""

import collections
import json
import os
import select
import subprocess
import sys
import time

DEFAULTS = {
    "mode": "l2",
    "action": "",
    "vips": [],
    "node_id": "",
    "retries": 5,
    "backoff": 0.2,
    "holddown": 10.0,
    "action_timeout": 30.0,
    "marker": "/run/keepalived-notify/cloud_fault",
    "state_file": "/run/keepalived-notify/state",
    "event_log": "/var/log/keepalived-notify.log",
    "env_file": "",
}


# The states keepalived reports. It writes notices to the FIFO too, which are
# no state: MASTER_RX_LOWER_PRI (a master heard a master of lower priority, as
# when a split heals) leaves the node MASTER. A notice is logged and changes
# nothing: the state file keeps the state, and the action is not called.
STATES = frozenset(("MASTER", "BACKUP", "FAULT", "STOP", "DELETED"))


def parse_line(line):
    """Split ``INSTANCE "VI_1" MASTER 100`` into its four fields, or None."""
    parts = line.strip().split()
    if len(parts) < 3:
        return None
    event = {
        "type": parts[0],
        "name": parts[1].strip('"'),
        "state": parts[2],
        "priority": parts[3] if len(parts) > 3 else "",
    }
    return event


def read_env_file(path):
    """KEY=VALUE lines (the cloud action's credentials) as a dict."""
    env = {}
    if not path or not os.path.exists(path):
        return env
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            raw = raw.strip()
            if raw and not raw.startswith("#") and "=" in raw:
                key, value = raw.split("=", 1)
                env[key.strip()] = value.strip()
    return env


def write_atomic(path, text):
    """Replace a small file in one step, so readers never see half of it."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


class Consumer:
    """Handles notify lines in order; clock, sleep and runner are injectable."""

    def __init__(self, config, runner=None, sleep=time.sleep, clock=time.time,
                 pending=None):
        self.cfg = dict(DEFAULTS)
        self.cfg.update(config)
        self.runner = runner or self._run
        self.sleep = sleep
        self.clock = clock
        # Lines already read but not handled yet; the reader fills it.
        self.pending = pending if pending is not None else collections.deque()
        self.poll_more = lambda: None
        self.fault_until = None
        self.env = dict(os.environ)
        self.env.update(read_env_file(self.cfg["env_file"]))

    # -- plumbing -----------------------------------------------------------
    def _run(self, argv):
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, env=self.env,
                                  timeout=float(self.cfg["action_timeout"]), check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return 127, "", str(exc)
        return proc.returncode, proc.stdout, proc.stderr

    def log(self, **fields):
        fields.setdefault("time", round(self.clock(), 6))
        path = self.cfg["event_log"]
        if not path:
            return
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(fields, sort_keys=True) + "\n")

    def action(self, *args):
        return self.runner([self.cfg["action"]] + [str(a) for a in args])

    # -- behaviour ----------------------------------------------------------
    def handle_line(self, line):
        event = parse_line(line)
        if event is None:
            self.log(event="ignored", line=line.strip())
            return
        if event["state"] not in STATES:
            self.log(event="notice", **event)
            return
        self.log(event="transition", **event)
        if event["type"] == "INSTANCE" and self.cfg["state_file"]:
            write_atomic(self.cfg["state_file"], event["state"] + "\n")
        if self.cfg["action"]:
            rc, _out, err = self.action("transition", event["type"], event["name"],
                                        event["state"], event["priority"])
            if rc != 0:
                self.log(event="action_failed", step="transition", rc=rc, stderr=err[-500:])
        if (self.cfg["mode"] == "cloud_api" and event["type"] == "INSTANCE"
                and event["state"] == "MASTER"):
            for vip in self.cfg["vips"]:
                if not self.claim(vip, event["name"]):
                    return
                self.reconcile(vip)

    def superseded(self, name):
        """True when keepalived has already reported a newer state for NAME."""
        self.poll_more()
        for line in self.pending:
            event = parse_line(line)
            if event and event["type"] == "INSTANCE" and event["name"] == name and event["state"] in STATES:
                return True
        return False

    def claim(self, vip, name):
        """Ask the cloud to move VIP here, retrying with exponential backoff."""
        retries = int(self.cfg["retries"])
        for attempt in range(retries + 1):
            if self.superseded(name):
                self.log(event="claim_abandoned", vip=vip, reason="newer transition pending")
                return False
            rc, _out, err = self.action("claim", vip, self.cfg["node_id"])
            self.log(event="claim", vip=vip, attempt=attempt + 1, rc=rc)
            if rc == 0:
                return True
            if attempt < retries:
                self.sleep(float(self.cfg["backoff"]) * (2 ** attempt))
        self.log(event="claim_failed", vip=vip, attempts=retries + 1, stderr=err[-500:])
        # Still reconcile: the cloud may have moved it anyway, or given it to the partner.
        return True

    def reconcile(self, vip):
        """Check with the cloud; go to FAULT if it names another holder."""
        rc, out, err = self.action("holder", vip)
        holder = out.strip()
        if rc != 0:
            self.log(event="reconcile_unknown", vip=vip, rc=rc, stderr=err[-500:])
            return
        if holder == self.cfg["node_id"]:
            self.log(event="reconciled", vip=vip, holder=holder)
            return
        self.log(event="reconcile_fault", vip=vip, holder=holder)
        write_atomic(self.cfg["marker"], "1\n")
        self.fault_until = self.clock() + float(self.cfg["holddown"])

    def tick(self):
        """Clear the FAULT marker once the hold-down has passed."""
        if self.fault_until is not None and self.clock() >= self.fault_until:
            write_atomic(self.cfg["marker"], "0\n")
            self.fault_until = None
            self.log(event="fault_cleared")

    def timeout(self):
        if self.fault_until is None:
            return None
        return max(0.0, self.fault_until - self.clock())


class FifoReader:
    """Reads whole lines from the FIFO into the consumer's pending queue."""

    def __init__(self, path, pending):
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.buf = b""
        self.pending = pending
        self.eof = False

    def read_available(self):
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                # No writer at the moment: keepalived has not opened it yet, or
                # closed it while reloading. Not the end; wait for the next line.
                self.eof = True
                break
            self.eof = False
            self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.pending.append(line.decode("utf-8", "replace"))


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: notify_consumer.py CONFIG.json FIFO\n")
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    consumer = Consumer(config)
    reader = FifoReader(argv[2], consumer.pending)
    consumer.poll_more = reader.read_available
    consumer.log(event="consumer_started", pid=os.getpid())
    while True:
        reader.read_available()
        while consumer.pending:
            consumer.handle_line(consumer.pending.popleft())
        consumer.tick()
        timeout = consumer.timeout()
        if reader.eof:
            # A FIFO with no writer polls readable forever: sleep instead of spinning.
            time.sleep(0.01 if timeout is None else min(0.01, timeout))
            continue
        select.select([reader.fd], [], [], timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
