# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The encryption key never reaches Ansible's output: every task that writes, makes or uses it is no_log.

The Molecule scenario cannot run these tasks (a guest of the docker provider has no
device-mapper and no FUSE mount: encryption at rest is not applicable there), so
this static check is what guards them.
"""

from __future__ import annotations

import glob
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TASK_FILES = sorted(glob.glob(os.path.join(ROOT, "roles", "os_hardening", "tasks", "encryption*.yml")))
# Modules whose arguments or output can carry the key's content.
CARRIERS = {"ansible.builtin.command", "ansible.builtin.shell", "ansible.builtin.copy", "ansible.builtin.template"}
SECRETS = ("os_hardening_encryption_passphrase", "os_hardening_encryption_keyfile")


def tasks():
    for path in TASK_FILES:
        with open(path) as handle:
            for task in yaml.safe_load(handle) or []:
                yield os.path.basename(path), task


def touches_secret(task):
    module = next((key for key in task if key in CARRIERS), None)
    if module is None:
        return False
    args = yaml.safe_dump({module: task[module]})
    return any(secret in args for secret in SECRETS)


KEY_TASKS = [(f, t) for f, t in tasks() if touches_secret(t)]


def test_the_key_tasks_are_found():
    """The key is stored (passphrase or random), initialised, formatted and opened: five tasks at least."""
    names = sorted(t["name"].split(" | ")[0] for _f, t in KEY_TASKS)
    assert {"OSH-ENC-04", "OSH-ENC-05", "OSH-ENC-11", "OSH-ENC-20", "OSH-ENC-21"} <= set(names)


@pytest.mark.parametrize("task", [t for _f, t in KEY_TASKS], ids=[t["name"].split(" | ")[0] for _f, t in KEY_TASKS])
def test_every_task_that_handles_the_key_is_no_log(task):
    assert task.get("no_log") is True
