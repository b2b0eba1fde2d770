# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit_log callback in real ansible-playbook runs on localhost, and the verifier module on their log."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
BIN = os.path.dirname(sys.executable)
MARKER = "Marker-Secret-7f3a9c1e"

TASK = """
    - name: Change {number} ({name})
      ansible.builtin.command: "true {name} {number}"
      changed_when: true
"""


def changes(name, count):
    """A play of count tasks that each report a change (one record per task)."""
    head = "- name: Make %d changes as %s\n  hosts: localhost\n  gather_facts: false\n  tasks:\n" % (count, name)
    return head + "".join(TASK.format(name=name, number=n) for n in range(1, count + 1))


SECRET = """
- name: Use a secret
  hosts: localhost
  gather_facts: false
  vars:
    db_password: "%s"
  tasks:
    - name: Store the secret without logging it
      ansible.builtin.copy:
        content: "{{ db_password }}"
        dest: "{{ out_dir }}/secret.txt"
        mode: "0600"
      no_log: true
    - name: Fail with the secret in the command, not logged
      ansible.builtin.command: "false {{ db_password }}"
      no_log: true
      ignore_errors: true
    - name: Echo a value derived from the secret
      ansible.builtin.command: "echo {{ db_password | length }}"
      changed_when: true
    - name: "Set the token {{ db_password }}"
      ansible.builtin.set_fact:
        api_token: "{{ db_password }}"
      changed_when: true
""" % MARKER

FAILING = """
- name: Fail once
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Unchanged check
      ansible.builtin.command: "true"
      changed_when: false
    - name: A failing command
      ansible.builtin.command: "false"
"""

COPY = """
- name: Copy
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Write a file
      ansible.builtin.copy:
        content: "x"
        dest: "%s"
        mode: "0600"
"""


def tool(name):
    path = os.path.join(BIN, name)
    return path if os.path.exists(path) else name


@pytest.fixture
def env(tmp_path):
    out = dict(os.environ)
    out.update(
        ANSIBLE_CALLBACKS_ENABLED="secure_cloud.iaas.audit_log",
        SECURE_CLOUD_AUDIT_LOG=str(tmp_path / "logs" / "audit.log"),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_NOCOLOR="1",
    )
    out.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))
    out.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".collections"))
    return out


def playbook(tmp_path, name, text):
    path = tmp_path / (name + ".yml")
    path.write_text(text)
    return str(path)


def start(env, path, *extra):
    return subprocess.Popen([tool("ansible-playbook"), "-i", "localhost,", "-c", "local", path] + list(extra),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)


def finish(proc):
    out, _err = proc.communicate(timeout=300)
    return proc.returncode, out


def records(env):
    with open(env["SECURE_CLOUD_AUDIT_LOG"]) as handle:
        return [json.loads(line) for line in handle]


def verify(env, *args):
    # The verification itself is not recorded into the log it reads.
    quiet = dict((k, v) for k, v in env.items() if k != "ANSIBLE_CALLBACKS_ENABLED")
    quiet.update(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    proc = subprocess.run([tool("ansible"), "localhost", "-i", "localhost,", "-c", "local",
                           "-m", "secure_cloud.iaas.audit_log_verify", "-a", " ".join(("path=" + env["SECURE_CLOUD_AUDIT_LOG"],) + args)],
                          env=quiet,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False)
    return proc.returncode, proc.stdout


def test_two_playbooks_at_once_leave_one_valid_chain(tmp_path, env):
    procs = [start(env, playbook(tmp_path, name, changes(name, 6))) for name in ("alpha", "beta")]
    for proc in procs:
        rc, out = finish(proc)
        assert rc == 0, out
    got = records(env)
    assert sorted(r["playbook"] for r in got) == sorted([str(tmp_path / "alpha.yml")] * 6 + [str(tmp_path / "beta.yml")] * 6)
    first = got[0]
    assert first["task"].startswith("Change 1 (") and first["host"] == "localhost"
    assert first["module"] == "ansible.builtin.command" and first["changed"] is True and first["failed"] is False
    assert first["play"].startswith("Make 6 changes as") and first["time"].endswith("Z")
    assert first["user"] and first["controller"]
    assert stat.S_IMODE(os.stat(env["SECURE_CLOUD_AUDIT_LOG"]).st_mode) == 0o600
    rc, out = verify(env)
    assert rc == 0, out
    assert '"records": 12' in out and '"valid": true' in out


def test_no_log_secret_never_reaches_the_log(tmp_path, env):
    rc, out = finish(start(env, playbook(tmp_path, "secret", SECRET), "-e", "out_dir=%s" % tmp_path, "--diff"))
    assert rc == 0, out
    text = open(env["SECURE_CLOUD_AUDIT_LOG"]).read()
    assert MARKER not in text
    got = records(env)
    assert [(r["task"], r["changed"], r["failed"], r.get("no_log")) for r in got] == [
        ("Store the secret without logging it", True, False, True),
        ("Fail with the secret in the command, not logged", True, True, True),
        ("Echo a value derived from the secret", True, False, None),
        ("********", True, False, None),
    ]
    assert got[1]["ignored"] is True


def test_failures_recorded_unchanged_ok_not(tmp_path, env):
    rc, _out = finish(start(env, playbook(tmp_path, "failing", FAILING)))
    assert rc == 2
    got = records(env)
    assert [(r["task"], r["failed"], r.get("check_mode")) for r in got] == [("A failing command", True, None)]


def test_check_mode_records_say_so(tmp_path, env):
    text = COPY % (tmp_path / "never-written.txt")
    rc, out = finish(start(env, playbook(tmp_path, "copy", text), "--check"))
    assert rc == 0, out
    assert not (tmp_path / "never-written.txt").exists()
    assert [(r["task"], r["changed"], r.get("check_mode")) for r in records(env)] == [("Write a file", True, True)]


def test_verifier_names_an_edited_line_of_a_real_log(tmp_path, env):
    rc, out = finish(start(env, playbook(tmp_path, "alpha", changes("alpha", 4))))
    assert rc == 0, out
    path = env["SECURE_CLOUD_AUDIT_LOG"]
    with open(path) as handle:
        lines = handle.readlines()
    lines[1] = lines[1].replace('"changed":true', '"changed":false')
    with open(path, "w") as handle:
        handle.writelines(lines)
    rc, out = verify(env)
    assert rc != 0
    assert "is broken at line 2: line 2 (seq 2) was edited" in out
