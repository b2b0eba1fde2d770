"""Run a playbook through ansible-runner and show its progress instead of raw output.

One line that updates in place on a terminal (plain lines when the output is
not a terminal, as in CI): the play, the task, how many tasks so far out of
the number the playbook lists, hosts ok/changed/failed, and the time elapsed.
Ansible's full output goes to OUTPUT_DIR/ansible.log and ansible-runner's
artifacts (every event as JSON) to OUTPUT_DIR/runner/artifacts/. A record of
the run (seconds, changes, status) is appended to OUTPUT_DIR/runs.jsonl.

    python scripts/demo_progress.py --playbook playbooks/site.yml --inventory playbooks/inventory \
        --output-dir demo-output [--extra-var key=value ...] [--label site]
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import ansible_runner

RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "failed",
    "runner_on_skipped": "skipped",
}


def previous_tasks(runs_file, label):
    """Tasks the last successful run with this label started (roles included)."""
    try:
        with open(runs_file, encoding="utf-8") as runs:
            done = [json.loads(line) for line in runs if line.strip()]
    except OSError:
        return 0
    done = [r for r in done if r.get("label") == label and r.get("rc") == 0]
    return done[-1]["tasks"] if done else 0


def count_tasks(playbook, inventory, extra_vars):
    """Tasks the playbook lists (roles included at run time add more)."""
    argv = ["ansible-playbook", "--list-tasks", "-i", inventory, playbook]
    for item in extra_vars:
        argv += ["-e", item]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return 0
    return sum(1 for line in proc.stdout.splitlines() if "TAGS: [" in line)


class Progress:
    """Turns ansible-runner events into a progress line and a log file."""

    def __init__(self, log, total, tty):
        self.log = log
        self.total = total
        self.tty = tty
        self.start = time.monotonic()
        self.play = ""
        self.task = ""
        self.tasks = 0
        self.counts = {"ok": 0, "changed": 0, "failed": 0}
        self.failures = []
        self.stats = None
        self.lock = threading.Lock()

    def line(self):
        elapsed = int(time.monotonic() - self.start)
        # Past the estimate (roles included at run time): say so rather than guess.
        total = f"{self.total}" if self.tasks <= self.total else f"{self.total}+"
        return (f"[{elapsed // 60:02d}:{elapsed % 60:02d}] task {self.tasks}/{total}"
                f" ok={self.counts['ok']} changed={self.counts['changed']} failed={self.counts['failed']}"
                f" | {self.play} | {self.task}")

    def show(self):
        with self.lock:
            text = self.line()
            if self.tty:
                width = os.get_terminal_size(sys.stdout.fileno()).columns
                sys.stdout.write("\r\x1b[K" + text[:max(width - 1, 20)])
            else:
                sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def say(self, text):
        """A line that stays (a failure, the end)."""
        with self.lock:
            if self.tty:
                sys.stdout.write("\r\x1b[K")
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def event(self, event):
        if event.get("stdout"):
            self.log.write(event["stdout"] + "\n")
            self.log.flush()
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if kind == "playbook_on_play_start":
            self.play = data.get("play", "")
            self.show()
        elif kind == "playbook_on_task_start":
            self.tasks += 1
            self.task = data.get("task", "")
            self.show()
        elif kind in RESULT_EVENTS:
            outcome = RESULT_EVENTS[kind]
            if outcome == "ok" and (data.get("res") or {}).get("changed"):
                outcome = "changed"
            if outcome == "failed" and data.get("ignore_errors"):
                outcome = "ok"
            if outcome in self.counts:
                self.counts[outcome] += 1
            if outcome == "failed":
                self.failures.append(event.get("stdout", ""))
                self.say(event.get("stdout", "").strip())
            if self.tty:
                self.show()
        elif kind == "playbook_on_stats":
            self.stats = data
        return True


def ticker(progress, done):
    """Keep the elapsed time moving on a terminal during a long task."""
    while not done.wait(1.0):
        progress.show()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--playbook", required=True)
    ap.add_argument("--inventory", action="append", default=[])
    ap.add_argument("--output-dir", required=True)
    ap.add_argument("--extra-var", action="append", default=[], help="key=value, or @file")
    ap.add_argument("--label", default="run", help="name of the run in runs.jsonl")
    args = ap.parse_args()

    out = os.path.abspath(args.output_dir)
    os.makedirs(os.path.join(out, "runner"), mode=0o700, exist_ok=True)
    playbook = os.path.abspath(args.playbook)
    inventories = [os.path.abspath(i) for i in args.inventory]
    # The last run's count is the best estimate; else what --list-tasks shows.
    total = previous_tasks(os.path.join(out, "runs.jsonl"), args.label)
    if not total and inventories:
        total = count_tasks(playbook, inventories[0], args.extra_var)
    tty = sys.stdout.isatty()

    cmdline = " ".join(f"-e {json.dumps(item)}" for item in args.extra_var)
    with open(os.path.join(out, "ansible.log"), "a", encoding="utf-8") as log:
        log.write(f"\n===== {args.label} {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {playbook}\n")
        progress = Progress(log, total, tty)
        done = threading.Event()
        if tty:
            threading.Thread(target=ticker, args=(progress, done), daemon=True).start()
        started = time.time()
        result = ansible_runner.run(
            private_data_dir=os.path.join(out, "runner"),
            playbook=playbook,
            inventory=inventories or None,
            cmdline=cmdline or None,
            quiet=True,
            rotate_artifacts=10,
            event_handler=progress.event,
        )
        seconds = round(time.time() - started, 1)
        done.set()

    stats = progress.stats or {}
    changed = sum((stats.get("changed") or {}).values())
    failed = sum((stats.get("failures") or {}).values()) + sum((stats.get("dark") or {}).values())
    record = {"label": args.label, "playbook": os.path.relpath(playbook), "started": started,
              "seconds": seconds, "tasks": progress.tasks, "changed": changed, "failed": failed,
              "status": result.status, "rc": result.rc, "artifacts": result.config.artifact_dir}
    with open(os.path.join(out, "runs.jsonl"), "a", encoding="utf-8") as runs:
        runs.write(json.dumps(record) + "\n")
    progress.say(f"{args.label}: {result.status} in {seconds} s, {progress.tasks} tasks, "
                 f"changed={changed} failed={failed}; log {os.path.join(out, 'ansible.log')}")
    return 0 if result.rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
