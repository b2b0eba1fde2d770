# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: progress
type: stdout
short_description: One progress line instead of Ansible's output
version_added: 0.1.0
description:
  - Shows where a run is instead of every host's result. On a terminal one line updates
    in place; when stdout is not a terminal (CI, a pipe, a file) it prints a plain line
    as each task starts. The line holds the time elapsed, how many tasks have started
    out of the number expected, the hosts' results so far (ok, changed, failed), the play
    and the task, for example
    C([03:12] task 96/212 ok=240 changed=81 failed=0 | Harden every instance | SSH-CFG-01).
  - The number expected is the task count of the last successful run of the same
    playbook (O(label)) in O(runs_file), else the number of tasks the playbook lists
    (tasks of roles and files included at run time come on top; past the estimate the
    line shows C(N+)).
  - A failure or an unreachable host stays on the screen with the error's message
    (C(msg), and C(stderr) when there is one). The result of a task with C(no_log)
    shows nothing of itself, not even its message, only that it failed. A C(debug)
    task's message stays on the screen too, as Ansible's default output shows it.
  - The run ends with one line (how it went, the time, the tasks, the changes) and, with
    O(runs_file), a record of the run appended there.
  - With Ansible's log file on (C(log_path) in ansible.cfg or C(ANSIBLE_LOG_PATH)) every
    host's result goes to that log only, a failure with its whole result, censored
    where C(no_log) asks.
requirements:
  - Turn it on with C(ANSIBLE_STDOUT_CALLBACK=secure_cloud.iaas.progress), or
    C(stdout_callback = secure_cloud.iaas.progress) in the C([defaults]) section of ansible.cfg.
options:
  mode:
    description:
      - V(auto) updates one line in place when stdout is a terminal and prints plain
        lines when it is not; V(line) and V(plain) choose one whatever stdout is.
    type: str
    choices: [auto, line, plain]
    default: auto
    env:
      - name: SECURE_CLOUD_PROGRESS_MODE
    ini:
      - section: callback_progress
        key: mode
  runs_file:
    description:
      - A file of JSON lines, one per finished run (label, playbook, start time, seconds,
        tasks, changes, failures, status), read for the number of tasks to expect.
      - Not set, nothing is kept and the estimate comes from the playbook.
    type: path
    env:
      - name: SECURE_CLOUD_PROGRESS_RUNS
    ini:
      - section: callback_progress
        key: runs_file
  label:
    description: The run's name in O(runs_file); by default the playbook's file name without its extension.
    type: str
    env:
      - name: SECURE_CLOUD_PROGRESS_LABEL
    ini:
      - section: callback_progress
        key: label
"""

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Mapping

from ansible.plugins.callback import CallbackBase

DEBUG_ACTIONS = ("debug", "ansible.builtin.debug", "ansible.legacy.debug")
HIDDEN = "(output hidden: no_log)"
# Lines of a failure's stderr kept on the screen (the whole result is in the log).
STDERR_LINES = 20


def _task_of(result):
    return getattr(result, "task", None) or result._task


def _host_of(result):
    return getattr(result, "host", None) or result._host


def _data_of(result):
    data = getattr(result, "result", None)
    return data if isinstance(data, Mapping) else result._result


def _hidden(result):
    """Whether the result may show nothing of itself (no_log on the task or the result)."""
    data = _data_of(result)
    return bool(getattr(_task_of(result), "no_log", False) or data.get("_ansible_no_log") or "censored" in data)


def _text(value):
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def previous_tasks(runs_file, label):
    """Tasks the last successful run with this label started, or 0."""
    try:
        with open(runs_file, encoding="utf-8") as runs:
            done = [json.loads(line) for line in runs if line.strip()]
    except (OSError, ValueError):
        return 0
    done = [r for r in done if r.get("label") == label and r.get("status") == "successful"]
    return int(done[-1].get("tasks") or 0) if done else 0


def _count_block(block):
    count = 0
    for part in ("block", "rescue", "always"):
        for item in getattr(block, part, None) or []:
            if hasattr(item, "block"):
                count += _count_block(item)
            elif getattr(item, "action", "") not in ("meta", "ansible.builtin.meta", "ansible.legacy.meta"):
                count += 1
    return count


def listed_tasks(playbook):
    """Tasks the playbook lists (fact gathering included; roles included at run time not)."""
    count = 0
    for play in playbook.get_plays():
        try:
            count += sum(_count_block(block) for block in play.compile())
        except Exception:  # pylint: disable=broad-except  # an estimate never stops a run
            continue
        if play.gather_facts is not False:
            count += 1
    return count


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "secure_cloud.iaas.progress"

    def __init__(self, display=None, out=None):
        super(CallbackModule, self).__init__(display=display)
        self.out = out or sys.stdout
        self.tty = False
        self.label = None
        self.runs_file = None
        self.playbook = None
        self.start = time.monotonic()
        self.started = time.time()
        self.play = ""
        self.task = ""
        self.retry = ""
        self.tasks = 0
        self.total = 0
        self.counts = dict(ok=0, changed=0, failed=0)
        self.lock = threading.RLock()
        self.done = threading.Event()

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(CallbackModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.configure()

    def configure(self):
        """Read the options (set_options calls it; tests call it after setting options directly)."""
        mode = self.get_option("mode")
        if mode == "auto":
            isatty = getattr(self.out, "isatty", None)
            self.tty = bool(isatty and isatty())
        else:
            self.tty = mode == "line"
        self.runs_file = self.get_option("runs_file")
        self.label = self.get_option("label")

    # --- drawing -------------------------------------------------------------

    def line(self):
        elapsed = int(time.monotonic() - self.start)
        # Past the estimate (roles included at run time): say so rather than guess.
        total = "%d" % self.total if self.tasks <= self.total else "%d+" % self.total
        return "[%02d:%02d] task %d/%s ok=%d changed=%d failed=%d | %s | %s%s" % (
            elapsed // 60, elapsed % 60, self.tasks, total,
            self.counts["ok"], self.counts["changed"], self.counts["failed"], self.play, self.task, self.retry)

    def _write(self, text):
        self.out.write(text)
        self.out.flush()

    def show(self):
        """The progress line: redrawn in place on a terminal, else a plain line."""
        with self.lock:
            if self.tty:
                width = shutil.get_terminal_size((120, 24)).columns
                self._write("\r\x1b[K" + self.line()[:max(width - 1, 20)])
            else:
                self._write(self.line() + "\n")

    def say(self, text):
        """Lines that stay (a failure, a debug message, the end)."""
        with self.lock:
            self._write(("\r\x1b[K" if self.tty else "") + text.rstrip("\n") + "\n")
            self.log(text)
            if self.tty and not self.done.is_set():
                self.show()

    def log(self, text):
        """To Ansible's log file only (when log_path is set)."""
        self._display.display(text, log_only=True)

    def _ticker(self):
        # Keep the elapsed time moving on a terminal during a long task.
        while not self.done.wait(1.0):
            self.show()

    # --- the run -------------------------------------------------------------

    def v2_playbook_on_start(self, playbook):
        self.playbook = os.path.abspath(playbook._file_name)
        if not self.label:
            self.label = os.path.splitext(os.path.basename(self.playbook))[0]
        self.start = time.monotonic()
        self.started = time.time()
        self.total = previous_tasks(self.runs_file, self.label) if self.runs_file else 0
        if not self.total:
            self.total = listed_tasks(playbook)
        self.log("===== %s %s %s" % (self.label, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), self.playbook))
        if self.tty:
            threading.Thread(target=self._ticker, name="progress-ticker", daemon=True).start()

    def v2_playbook_on_play_start(self, play):
        self.play = play.get_name().strip()
        self.task = ""
        self.log("PLAY [%s]" % self.play)
        self.show()

    def _task_start(self, task):
        self.tasks += 1
        self.task = task.get_name().strip()
        self.retry = ""
        self.log("TASK [%s]" % self.task)
        self.show()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task)

    # --- results -------------------------------------------------------------

    def _count(self, outcome):
        with self.lock:
            self.counts[outcome] += 1
        if self.tty:
            self.show()

    def _warnings(self, result):
        """Warnings and deprecations the task sent, as Ansible shows them (none from a no_log result)."""
        if _hidden(result) or not hasattr(result, "result") or not hasattr(self, "_handle_warnings"):
            return
        data = dict(result.result)
        if not data.get("warnings") and not data.get("deprecations"):
            return
        with self.lock:
            if self.tty:
                self._write("\r\x1b[K")
            self._handle_warnings(data)

    def error_lines(self, result):
        """What a person needs of a failure: its message and stderr; nothing when no_log."""
        if _hidden(result):
            return [HIDDEN]
        data = _data_of(result)
        lines = []
        msg = data.get("msg") or data.get("reason") or data.get("message")
        if msg:
            lines.extend(_text(msg).splitlines() or [""])
        stderr = data.get("stderr") or data.get("module_stderr")
        if stderr:
            err = _text(stderr).rstrip().splitlines()
            lines.extend("stderr: " + s for s in err[-STDERR_LINES:])
        if not lines:
            lines.append("(no message; the result is in the log)")
        return lines

    def _failure(self, kind, result, item=None):
        host = _host_of(result).get_name()
        where = "%s: [%s]%s %s" % (kind, host, " (item=%s)" % item if item is not None else "", _task_of(result).get_name().strip())
        lines = self.error_lines(result)
        self.say("\n".join([where + ": " + lines[0]] + ["    " + s for s in lines[1:]]))

    def _log_result(self, kind, result, item=None, full=False):
        host = _host_of(result).get_name()
        text = "%s: [%s]%s" % (kind, host, " => (item=%s)" % item if item is not None else "")
        if full:
            text += " => " + (HIDDEN if _hidden(result) else self._dump_results(_data_of(result), indent=4))
        self.log(text)

    def v2_runner_on_ok(self, result):
        data = _data_of(result)
        outcome = "changed" if data.get("changed") else "ok"
        self._log_result(outcome, result)
        self._warnings(result)
        task = _task_of(result)
        if (getattr(task, "resolved_action", None) or task.action) in DEBUG_ACTIONS and "msg" in data:
            # debug honours no_log itself: its censored result has no msg.
            if not _hidden(result):
                msg = data["msg"]
                lines = [_text(m) for m in msg] if isinstance(msg, list) else _text(msg).splitlines()
                self.say("\n".join("%s: %s" % (_host_of(result).get_name(), m) for m in lines))
        self._count(outcome)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._log_result("failed" + (" (ignored)" if ignore_errors else ""), result, full=True)
        self._warnings(result)
        if ignore_errors:
            self._count("ok")
            return
        self._failure("failed", result)
        self._count("failed")

    def v2_runner_on_unreachable(self, result):
        self._log_result("unreachable", result, full=True)
        self._failure("unreachable", result)
        self._count("failed")

    def v2_runner_on_skipped(self, result):
        self._log_result("skipped", result)

    def v2_runner_item_on_ok(self, result):
        data = _data_of(result)
        self._log_result("changed" if data.get("changed") else "ok", result, item=self._get_item_label(data))

    def v2_runner_item_on_skipped(self, result):
        self._log_result("skipped", result, item=self._get_item_label(_data_of(result)))

    def v2_runner_item_on_failed(self, result):
        data = _data_of(result)
        label = self._get_item_label(data)
        self._log_result("failed", result, item=label, full=True)
        if not _task_of(result).ignore_errors:
            self._failure("failed", result, item=HIDDEN if _hidden(result) else label)

    def v2_runner_retry(self, result):
        data = _data_of(result)
        self.retry = " (attempt %s of %s)" % (data.get("attempts", "?"), data.get("retries", "?"))
        self.log("retrying: [%s] %s%s" % (_host_of(result).get_name(), self.task, self.retry))
        self.show()

    def v2_playbook_on_stats(self, stats):
        self.done.set()
        seconds = round(time.monotonic() - self.start, 1)
        hosts = sorted(stats.processed.keys())
        changed = sum(stats.summarize(h)["changed"] for h in hosts)
        failures = sum(stats.summarize(h)["failures"] for h in hosts)
        unreachable = sum(stats.summarize(h)["unreachable"] for h in hosts)
        status = "failed" if failures or unreachable else "successful"
        for host in hosts:
            s = stats.summarize(host)
            self.log("%-26s : ok=%d changed=%d unreachable=%d failed=%d skipped=%d rescued=%d ignored=%d" % (
                host, s["ok"], s["changed"], s["unreachable"], s["failures"], s["skipped"], s["rescued"], s["ignored"]))
        bad = [h for h in hosts if stats.summarize(h)["failures"] or stats.summarize(h)["unreachable"]]
        with self.lock:
            if self.tty:
                self.show()
                self._write("\n")
        self.say("%s: %s in %s s, %d tasks, changed=%d failed=%d%s" % (
            self.label, status, seconds, self.tasks, changed, failures + unreachable,
            "; failed on " + ", ".join(bad) if bad else ""))
        if self.runs_file:
            record = dict(label=self.label, playbook=self.playbook, started=self.started, seconds=seconds,
                          tasks=self.tasks, changed=changed, failed=failures + unreachable, status=status)
            try:
                with open(self.runs_file, "a", encoding="utf-8") as runs:
                    runs.write(json.dumps(record, sort_keys=True) + "\n")
            except OSError as exc:
                self._display.warning("secure_cloud.iaas.progress: cannot record the run in %s: %s" % (self.runs_file, exc))
