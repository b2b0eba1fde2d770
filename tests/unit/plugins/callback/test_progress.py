# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress stdout callback, driven with fake plays, tasks and results in both modes,
and once in a real ansible-playbook run."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.secure_cloud.iaas.plugins.callback import progress

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SECRET = "Marker-Secret-51c0ffee"


class Named:
    """A host or a play: all the callback asks of them is their name."""

    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


Host = Play = Named


class Task:
    def __init__(self, name, action="ansible.builtin.command", no_log=False, ignore_errors=False):
        self.name = name
        self.action = action
        self.resolved_action = action
        self.no_log = no_log
        self.ignore_errors = ignore_errors

    def get_name(self):
        return self.name


class Result:
    """What a callback gets: the host, the task and the result dict (the pre-2.19 attribute names)."""

    def __init__(self, host, task, data):
        self._host = host
        self._task = task
        self._result = data


class Playbook:
    def __init__(self, path):
        self._file_name = path

    def get_plays(self):
        return []


class Stats:
    def __init__(self, **hosts):
        self.processed = dict((h, 1) for h in hosts)
        self.hosts = hosts

    def summarize(self, host):
        base = dict(ok=0, changed=0, unreachable=0, failures=0, skipped=0, rescued=0, ignored=0)
        base.update(self.hosts[host])
        return base


class Terminal(io.StringIO):
    def isatty(self):
        return True


def make(mode="auto", tty=False, runs_file=None, label="site"):
    out = Terminal() if tty else io.StringIO()
    plugin = progress.CallbackModule(out=out)
    # set_options needs the plugin loaded by Ansible's loader; the options it would set:
    plugin._plugin_options = dict(mode=mode, runs_file=runs_file, label=label)
    plugin.configure()
    return plugin, out


def start(plugin, play="Harden every instance", task=None):
    plugin.v2_playbook_on_start(Playbook("/x/playbooks/site.yml"))
    plugin.v2_playbook_on_play_start(Play(play))
    if task:
        plugin.v2_playbook_on_task_start(task, False)


def failing(no_log=False, result_no_log=False, msg="Permission denied on " + SECRET):
    task = Task("Write the key", no_log=no_log)
    data = dict(failed=True, msg=msg, rc=1, stderr="cannot write " + SECRET + "\nsecond line")
    if result_no_log:
        data["_ansible_no_log"] = True
    return task, Result(Host("demo-app-1"), task, data)


@pytest.mark.parametrize("tty", [False, True])
def test_the_line_names_play_task_count_results_and_time(tty):
    plugin, out = make(tty=tty)
    plugin.total = 0
    task = Task("SSH-CFG-01 | Write sshd_config")
    start(plugin, task=task)
    plugin.total = 212
    plugin.v2_runner_on_ok(Result(Host("demo-app-1"), task, dict(changed=True)))
    plugin.v2_runner_on_ok(Result(Host("demo-app-2"), task, dict(changed=False)))
    plugin.show()
    text = out.getvalue()
    assert "[00:00] task 1/212 ok=1 changed=1 failed=0 | Harden every instance | SSH-CFG-01 | Write sshd_config" in text
    if tty:
        # One line redrawn in place: no line ends until something must stay.
        assert "\r\x1b[K[00:00] task 1/" in text
        assert "\n" not in text
    else:
        assert "\x1b" not in text and "\r" not in text
        assert text.splitlines()[-1].startswith("[00:00] task 1/212 ok=1 changed=1 failed=0 | ")


@pytest.mark.parametrize("tty", [False, True])
def test_a_failure_stays_with_its_message_and_stderr(tty):
    plugin, out = make(tty=tty)
    task, result = failing(msg="disk full")
    start(plugin, task=task)
    plugin.v2_runner_on_failed(result)
    text = out.getvalue()
    assert "failed: [demo-app-1] Write the key: disk full\n" in text
    assert "    stderr: second line\n" in text
    assert "failed=1" in plugin.line()


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("where", ["task", "result"])
def test_a_no_log_failure_shows_nothing_of_its_result(tty, where):
    plugin, out = make(tty=tty)
    task, result = failing(no_log=where == "task", result_no_log=where == "result")
    start(plugin, task=task)
    plugin.v2_runner_on_failed(result)
    plugin.v2_playbook_on_stats(Stats(**{"demo-app-1": dict(failures=1)}))
    text = out.getvalue()
    assert SECRET not in text
    assert "Permission denied" not in text
    assert "failed: [demo-app-1] Write the key: (output hidden: no_log)" in text


def test_control_the_same_failure_without_no_log_shows_its_msg():
    plugin, out = make()
    task, result = failing()
    start(plugin, task=task)
    plugin.v2_runner_on_failed(result)
    assert "Write the key: Permission denied on " + SECRET in out.getvalue()


def test_a_no_log_item_failure_hides_the_item_and_the_message():
    plugin, out = make()
    task = Task("Set the passwords", no_log=True)
    start(plugin, task=task)
    plugin.v2_runner_item_on_failed(Result(Host("h"), task, dict(failed=True, item=SECRET, msg=SECRET, _ansible_no_log=True)))
    text = out.getvalue()
    assert SECRET not in text
    assert "(output hidden: no_log)" in text


def test_control_an_item_failure_names_its_item():
    plugin, out = make()
    task = Task("Install packages")
    start(plugin, task=task)
    plugin.v2_runner_item_on_failed(Result(Host("h"), task, dict(failed=True, item="lynis", msg="no such package")))
    assert "failed: [h] (item=lynis) Install packages: no such package" in out.getvalue()


@pytest.mark.parametrize("no_log", [True, False])
def test_debug_messages_stay_unless_no_log(no_log):
    plugin, out = make(tty=True)
    task = Task("Show the summary", action="ansible.builtin.debug", no_log=no_log)
    start(plugin, task=task)
    plugin.v2_runner_on_ok(Result(Host("localhost"), task, dict(msg=["site demo", "token " + SECRET], changed=False)))
    text = out.getvalue()
    assert (SECRET in text) is not no_log
    if not no_log:
        assert "\r\x1b[Klocalhost: site demo\nlocalhost: token " + SECRET + "\n" in text


def test_an_ignored_failure_counts_as_ok_and_does_not_stay():
    plugin, out = make()
    task = Task("Probe")
    start(plugin, task=task)
    plugin.v2_runner_on_failed(Result(Host("h"), task, dict(failed=True, msg="expected")), ignore_errors=True)
    assert "expected" not in out.getvalue()
    assert "ok=1 changed=0 failed=0" in plugin.line()


def test_an_unreachable_host_stays_with_the_reason():
    plugin, out = make()
    task = Task("Gathering Facts")
    start(plugin, task=task)
    plugin.v2_runner_on_unreachable(Result(Host("demo-client"), task, dict(unreachable=True, msg="container not running")))
    assert "unreachable: [demo-client] Gathering Facts: container not running" in out.getvalue()


def test_auto_mode_follows_the_terminal():
    assert make("auto", tty=True)[0].tty is True
    assert make("auto", tty=False)[0].tty is False
    assert make("line", tty=False)[0].tty is True
    assert make("plain", tty=True)[0].tty is False


def test_the_run_is_recorded_and_its_task_count_is_the_next_estimate(tmp_path):
    runs = str(tmp_path / "runs.jsonl")
    plugin, out = make(runs_file=runs)
    start(plugin)
    for n in range(3):
        plugin.v2_playbook_on_task_start(Task("t%d" % n), False)
    plugin.v2_playbook_on_stats(Stats(a=dict(ok=3, changed=2), b=dict(ok=3, changed=1)))
    record = json.loads(open(runs).read())
    assert record["label"] == "site" and record["status"] == "successful"
    assert (record["tasks"], record["changed"], record["failed"]) == (3, 3, 0)
    assert out.getvalue().splitlines()[-1].startswith("site: successful in ")
    # A failed run is kept but not used as the estimate.
    with open(runs, "a") as handle:
        handle.write(json.dumps(dict(label="site", status="failed", tasks=1)) + "\n")
    nxt, _out = make(runs_file=runs)
    start(nxt)
    assert nxt.total == 3
    assert "task 0/3 " in nxt.line()


def test_a_real_run_hides_the_no_log_result_and_shows_the_other(tmp_path):
    book = tmp_path / "book.yml"
    book.write_text("""
- name: Two failures
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Fail with a secret, no_log
      ansible.builtin.command: "sh -c 'echo %(s)s >&2; exit 3'"
      no_log: true
      ignore_errors: true
    - name: Fail with a secret, no_log, not ignored
      ansible.builtin.fail:
        msg: "%(s)s"
      no_log: true
      ignore_errors: true
    - name: Fail in plain sight
      ansible.builtin.fail:
        msg: "visible failure message"
""" % dict(s=SECRET))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="secure_cloud.iaas.progress", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOG_PATH=str(tmp_path / "ansible.log"), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    env.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".collections"))
    bindir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(book)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    everything = proc.stdout + proc.stderr + (tmp_path / "ansible.log").read_text()
    assert proc.returncode == 2, everything
    assert SECRET not in everything
    assert "failed: [localhost] Fail in plain sight: visible failure message" in proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("book: failed in ")
