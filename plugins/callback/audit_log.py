# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_log
type: notification
short_description: Tamper-evident audit trail of every change and failure
description:
  - Appends one JSON line per task that changed something, failed or found its host
    unreachable to a log file on the controller, with the UTC time, the user and controller host
    that ran it, playbook, play, task, host, module, the names and ids of the resources
    it touched, changed/failed/unreachable and a diff summary (which keys changed,
    never their values). Records of a C(--check) run carry C(check_mode) set to V(true).
  - A result that carries an approval reference (C(approval), as M(secure_cloud.iaas.access_account)
    returns it) adds C(approvals), the references of the changed loop items or of the task; and the
    resources of changed loop items are listed too.
  - Task arguments are never recorded. A task or result marked C(no_log) is recorded
    by its identity and outcome only; strings equal to the value of a secret-looking
    task argument (password, passphrase, key, secret, token, psk) are masked.
  - Each record carries C(seq), the hash of the record before it (C(prev)) and its own
    C(hash), so a removed, reordered or edited record is detected by
    M(secure_cloud.iaas.audit_log_verify), which names the first bad one.
  - The file is created with mode 0600 whatever the umask, and made 0600 again (with a
    warning) if it was found wider. Records are appended under an exclusive lock on the
    file, so playbooks running at once chain onto each other's records.
  - When the log cannot be written (a symbolic link, a file of another user), the callback
    warns once and records nothing more in that run, and the playbook goes on.
version_added: 0.1.0
requirements:
  - Enable it with C(callbacks_enabled = secure_cloud.iaas.audit_log) in ansible.cfg
    or C(ANSIBLE_CALLBACKS_ENABLED).
options:
  log_path:
    description: The audit log file; its directory is created (0700) when missing.
    type: path
    default: ~/.local/state/secure_cloud_iaas/audit.log
    env:
      - name: SECURE_CLOUD_AUDIT_LOG
    ini:
      - section: callback_audit_log
        key: log_path
"""

import datetime
import getpass
import os
import re
import socket

from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.secure_cloud.iaas.plugins.module_utils.audit_chain import AuditLogError, append

# Result keys that hold one resource of this collection: {name, id, ...}.
RESOURCE_KEYS = ("vlan", "instance", "vip", "vpn_tunnel", "account")
SECRET_ARG_RE = re.compile(r"(pass(word|phrase)?|secret|token|psk|private|key)", re.IGNORECASE)
MASK = "********"


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _changed_keys(before, after):
    if isinstance(before, dict) or isinstance(after, dict):
        before = before if isinstance(before, dict) else {}
        after = after if isinstance(after, dict) else {}
        return sorted(str(k) for k in set(before) | set(after) if before.get(k) != after.get(k))
    if before != after:
        return ["(content)"]
    return []


def diff_summary(diff):
    """Which keys a --diff result changed: names only, never values."""
    parts = diff if isinstance(diff, list) else [diff]
    keys = set()
    for part in parts:
        if isinstance(part, dict) and ("before" in part or "after" in part):
            keys.update(_changed_keys(part.get("before"), part.get("after")))
    return sorted(keys)


def approvals(result):
    """The approval references a result carries (access_account's C(approval)), one per
    changed loop item: the value the task really applied, templated for this host and item."""
    items = result.get("results") if isinstance(result.get("results"), list) else [result]
    found = []
    for item in items:
        value = item.get("approval") if isinstance(item, dict) and (item.get("changed") or item is result) else None
        if isinstance(value, str) and value and value not in found:
            found.append(value)
    return found


def resources(result):
    out = []
    for item in result.get("results") if isinstance(result.get("results"), list) else []:
        if isinstance(item, dict) and item.get("changed"):
            out.extend(r for r in resources(item) if r not in out)
    for kind in RESOURCE_KEYS:
        value = result.get(kind)
        if isinstance(value, dict) and (value.get("name") or value.get("id")):
            out.append(dict(kind=kind, name=value.get("name"), id=value.get("id")))
    return out


def secret_values(args):
    """Values of task arguments whose name says they hold a secret."""
    found = set()
    for name, value in (args or {}).items():
        if isinstance(value, dict):
            found.update(secret_values(value))
        elif SECRET_ARG_RE.search(str(name)) and isinstance(value, str) and len(value) >= 4:
            found.add(value)
    return found


def mask(value, secrets):
    if isinstance(value, dict):
        return dict((k, mask(v, secrets)) for k, v in value.items())
    if isinstance(value, list):
        return [mask(v, secrets) for v in value]
    if isinstance(value, str) and any(s in value for s in secrets):
        return MASK
    return value


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "secure_cloud.iaas.audit_log"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self.playbook = None
        self.play = None
        self.disabled_reason = None
        try:
            self.user = getpass.getuser()
        except (KeyError, OSError):
            self.user = str(os.getuid())
        self.controller = socket.gethostname()

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(CallbackModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.log_path = os.path.expanduser(self.get_option("log_path"))

    def v2_playbook_on_start(self, playbook):
        self.playbook = os.path.abspath(playbook._file_name)

    def v2_playbook_on_play_start(self, play):
        self.play = play.get_name()

    def v2_runner_on_ok(self, result):
        if result._result.get("changed"):
            self._record(result, changed=True, failed=False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, changed=bool(result._result.get("changed")), failed=True, ignored=ignore_errors)

    def v2_runner_on_unreachable(self, result):
        self._record(result, changed=False, failed=True, unreachable=True)

    def _record(self, result, changed, failed, unreachable=False, ignored=False):
        if self.disabled_reason:
            return
        task = result._task
        data = result._result
        record = dict(
            time=_utc_now(), user=self.user, controller=self.controller, playbook=self.playbook,
            play=self.play, task=task.get_name(), host=result._host.get_name(),
            module=task.resolved_action or task.action, changed=changed, failed=failed,
        )
        if context.CLIARGS.get("check"):
            # A prediction, not a change: said so, so an auditor does not count it.
            record["check_mode"] = True
        if unreachable:
            record["unreachable"] = True
        if ignored:
            record["ignored"] = True
        if task.no_log or data.get("_ansible_no_log"):
            # Identity and outcome only: the result may hold the secret itself.
            record["no_log"] = True
        else:
            found = resources(data)
            if found:
                record["resources"] = found
            approved = approvals(data)
            if approved:
                record["approvals"] = approved
            if data.get("diff"):
                record["diff_keys"] = diff_summary(data["diff"])
            secrets = secret_values(task.args)
            if secrets:
                record = mask(record, secrets)
        try:
            _sealed, warning = append(self.log_path, record)
        except (AuditLogError, OSError) as exc:
            self.disabled_reason = str(exc)
            self._display.warning("secure_cloud.iaas.audit_log: not recording this run: %s" % exc)
            return
        if warning:
            self._display.warning("secure_cloud.iaas.audit_log: %s" % warning)
