#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_account
short_description: One login account on an instance, with its approval, expiry, keys and sudo rules
version_added: 0.1.0
description:
  - Runs on the instance. Creates, changes, locks, revokes or removes one account and
    records what was granted (owner, approval, dates, when each key was added) in
    C(/var/lib/secure-cloud-iaas/access.json), which M(secure_cloud.iaas.access_account_info) reads.
  - The expiry day and the revalidation due day (O(revalidated) + O(revalidation_days)) are
    enforced by the instance itself. The shadow database's account expiry is set to the day
    after the earlier of the two, so sshd refuses the account from then on even if no
    playbook runs.
  - A revalidation found overdue withdraws every key and the sudo rules. An expired account
    keeps its keys (the shadow expiry refuses it).
  - Keys are replaced in one rename, so sshd never reads a half-written file. With
    O(keys_mode=add) keys already on the host stay (the first half of a rotation; the
    result lists them in RV(pending_keys)); O(keys_mode=exclusive) removes them.
  - V(revoked) and V(absent) end every process of the account (its SSH sessions with them).
  - The result carries RV(approval), which the P(secure_cloud.iaas.audit_log#callback)
    callback writes into the change's audit record.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description: The account.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates it. V(locked) expires the account and locks its password,
        keeping keys and home (an account found but not declared). V(revoked) also ends its
        processes and withdraws keys, sudo rules and groups, keeping the home for review.
        V(absent) ends its processes and deletes it.
    type: str
    choices: [present, locked, revoked, absent]
    default: present
  admin:
    description:
      - The admin user the provider made. Only its keys are managed; it is never expired,
        locked, revoked nor removed, and never left without a key.
    type: bool
    default: false
  owner:
    description: The person or team answerable for the account (written to its GECOS field).
    type: str
    default: ''
  approval:
    description: The approval reference of this grant or change (a ticket, a change request).
    type: str
    default: ''
  kind:
    description: A person or a service account.
    type: str
    choices: [person, service]
    default: person
  groups:
    description: Supplementary groups, exactly these (created when missing).
    type: list
    elements: str
    default: []
  sudo:
    description: Sudo rules, each what follows the user name in a sudoers line, e.g. C(ALL=(root) /usr/bin/systemctl restart app).
    type: list
    elements: str
    default: []
  public_keys:
    description: OpenSSH public keys, one line each.
    type: list
    elements: str
    default: []
  keys_mode:
    description: V(exclusive) leaves only O(public_keys); V(add) keeps the keys already there too.
    type: str
    choices: [exclusive, add]
    default: exclusive
  expires:
    description: The last day the account may log in (YYYY-MM-DD); none when empty.
    type: str
  revalidated:
    description: The day access was last revalidated (YYYY-MM-DD).
    type: str
  revalidation_days:
    description: How many days a revalidation holds; 0 for no revalidation.
    type: int
    default: 0
  today:
    description: The day to judge dates by (YYYY-MM-DD); the instance's date (UTC) when empty.
    type: str
  shell:
    description: Login shell of an account this creates or updates.
    type: path
    default: /bin/bash
  remove_home:
    description: With O(state=absent), delete the home directory too.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Returns what would change and changes nothing.
  diff_mode:
    support: full
    description: Before and after of the account (keys as fingerprints, never the keys' text).
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
seealso:
  - module: secure_cloud.iaas.access_account_info
"""

EXAMPLES = r"""
- name: Grant an operator access until the end of the year, revalidated every 90 days
  secure_cloud.iaas.access_account:
    name: alice
    owner: Alice Example (operations)
    approval: CHG-1234
    groups: [adm]
    sudo: ["ALL=(root) /usr/bin/systemctl restart demo-http"]
    public_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0tbV+3l9xk3n2p3ZbOa8bqL3z6r4Xc0b6Ht2m1uYkF alice@laptop"]
    expires: "2026-12-31"
    revalidated: "2026-10-01"
    revalidation_days: 90

- name: Revoke her access and end her sessions
  secure_cloud.iaas.access_account:
    name: alice
    state: revoked
    approval: CHG-1300
"""

RETURN = r"""
account:
  description: The account after the run (predicted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: The account.
      type: str
      returned: always
    id:
      description: Its uid; null when it does not exist.
      type: int
      returned: always
    state:
      description: What was asked.
      type: str
      returned: always
    shadow_expire:
      description: The first day the instance refuses it (YYYY-MM-DD); null when never.
      type: str
      returned: always
    expired:
      description: Whether it is past its expiry day.
      type: bool
      returned: always
    revalidation_due:
      description: The last day of the current revalidation; null when none.
      type: str
      returned: always
    revalidation_overdue:
      description: Whether the revalidation is overdue (keys withdrawn).
      type: bool
      returned: always
    key_fingerprints:
      description: SHA256 fingerprints of the keys left.
      type: list
      elements: str
      returned: always
    declared_fingerprints:
      description: SHA256 fingerprints of O(public_keys).
      type: list
      elements: str
      returned: always
approval:
  description: O(approval), for the audit trail.
  returned: always
  type: str
changes:
  description: What changed (or would), in words.
  returned: always
  type: list
  elements: str
added_keys:
  description: Fingerprints of keys added by this run.
  returned: always
  type: list
  elements: str
pending_keys:
  description: Fingerprints of keys on the host that O(public_keys) lacks, kept because of O(keys_mode=add).
  returned: always
  type: list
  elements: str
sessions_ended:
  description: Whether processes of the account were running and were ended.
  returned: always
  type: bool
"""

import datetime
import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.secure_cloud.iaas.plugins.module_utils import access as acc


def _entry(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _groups_of(name):
    return sorted(g.gr_name for g in grp.getgrall() if name in g.gr_mem)


def _state_of(module, p, entry, record):
    """The account as the diff shows it."""
    if entry is None:
        return dict(exists=False)
    shadow = acc.read_shadow().get(p["name"], {})
    sudo = None
    path = acc.sudoers_path(p["name"])
    if os.path.exists(path):
        with open(path) as handle:
            sudo = handle.read()
    keys = acc.read_keys(acc.keys_file(entry))
    return dict(
        exists=True, comment=entry.pw_gecos, shell=entry.pw_shell, groups=_groups_of(p["name"]),
        shadow_expire=shadow.get("expire", ""), password_locked=shadow.get("password", "").startswith("!"),
        keys=[acc.fingerprint(k) for k in keys], key_lines=keys, sudoers=sudo,
        record=record.get("accounts", {}).get(p["name"]),
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "locked", "revoked", "absent"]),
            admin=dict(type="bool", default=False),
            owner=dict(type="str", default=""),
            approval=dict(type="str", default=""),
            kind=dict(type="str", default="person", choices=["person", "service"]),
            groups=dict(type="list", elements="str", default=[]),
            sudo=dict(type="list", elements="str", default=[]),
            public_keys=dict(type="list", elements="str", default=[], no_log=False),
            keys_mode=dict(type="str", default="exclusive", choices=["exclusive", "add"], no_log=False),
            expires=dict(type="str"),
            revalidated=dict(type="str"),
            revalidation_days=dict(type="int", default=0),
            today=dict(type="str"),
            shell=dict(type="path", default="/bin/bash"),
            remove_home=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    acc.use_module(module)
    p = module.params
    try:
        result = apply(module, p)
    except acc.AccessError as exc:
        module.fail_json(msg="account %s: %s" % (p["name"], exc), approval=p["approval"])
    module.exit_json(**result)


def apply(module, p):
    name, state = p["name"], p["state"]
    today = acc.parse_day(p["today"], "today") or datetime.datetime.now(datetime.timezone.utc).date()
    expires = acc.parse_day(p["expires"], "expires")
    revalidated = acc.parse_day(p["revalidated"], "revalidated")
    declared = [line.strip() for line in p["public_keys"] if line.strip()]
    for index, line in enumerate(declared):
        try:
            acc.parse_key(line)
        except acc.AccessError as exc:
            raise acc.AccessError("public_keys[%d]: %s" % (index, exc))
    if p["admin"]:
        if state != "present":
            raise acc.AccessError("the admin user is never %s (lockout guard)" % state)
        if not declared:
            raise acc.AccessError("the admin user would have no key (lockout guard): give public_keys")
    record = acc.read_record()
    entry = _entry(name)
    before = _state_of(module, p, entry, record)
    plan = acc.plan_expiry(today, expires, revalidated, p["revalidation_days"])
    changes, commands = [], []
    new_keys = None
    sudo_content = False  # False: leave; None: remove; str: write
    end = False
    rec = dict(before.get("record") or {})
    current_keys = before.get("key_lines", [])

    post = []  # after the sessions are ended
    if state == "absent":
        if entry is not None:
            end = True
            commands.append(["usermod", "-L", "-e", "1970-01-02", name])
            post.append(["userdel"] + (["-r"] if p["remove_home"] else []) + [name])
            changes.append("account deleted")
            if before.get("sudoers") is not None:
                sudo_content = None
        rec = None
    elif state in ("revoked", "locked"):
        if entry is not None:
            if before["shadow_expire"] != "1" or not before["password_locked"]:
                commands.append(["usermod", "-L", "-e", "1970-01-02", name])
                changes.append("account expired and password locked")
            if state == "revoked":
                end = True
                if current_keys:
                    new_keys = []
                    changes.append("every key withdrawn")
                if before["sudoers"] is not None:
                    sudo_content = None
                    changes.append("sudo rules removed")
                if before["groups"]:
                    commands.append(["usermod", "-G", "", name])
                    changes.append("groups removed")
                if rec:
                    rec.update(state="revoked", approval=p["approval"] or rec.get("approval"), keys={})
                    rec.setdefault("revoked", today.isoformat())
        if state == "locked":
            rec = before.get("record")
    else:
        for group in p["groups"]:
            try:
                grp.getgrnam(group)
            except KeyError:
                commands.append(["groupadd", group])
                changes.append("group %s created" % group)
        if entry is None:
            if not p["admin"]:
                try:
                    grp.getgrnam(name)
                    # useradd -U would fail on it; joining a system group (Debian's
                    # "operator") as one's own would grant what that group may.
                    raise acc.AccessError("name: a group %s already exists on this instance (a system group?), so "
                                          "the account cannot have its own group of that name. Fix: choose another "
                                          "name" % name)
                except KeyError:
                    pass
                commands.append(["useradd", "-m", "-U", "-s", p["shell"], "-c", p["owner"]]
                                + (["-G", ",".join(p["groups"])] if p["groups"] else []) + [name])
                changes.append("account created")
            else:
                raise acc.AccessError("the admin user does not exist on this instance")
        elif not p["admin"]:
            if entry.pw_gecos != p["owner"] or entry.pw_shell != p["shell"]:
                commands.append(["usermod", "-c", p["owner"], "-s", p["shell"], name])
                changes.append("owner or shell set")
            if before["groups"] != sorted(set(p["groups"])):
                commands.append(["usermod", "-G", ",".join(p["groups"]), name])
                changes.append("groups set to %s" % (", ".join(p["groups"]) or "none"))
        if not p["admin"]:
            shadow = acc.shadow_day(plan["shadow_expire"])
            if (before["shadow_expire"] if entry is not None else "") != shadow:
                commands.append(["usermod", "-e", plan["shadow_expire"].isoformat() if plan["shadow_expire"] else "", name])
                changes.append("account expiry set to %s" % (plan["shadow_expire"] or "never"))
        mode = "none" if plan["revalidation_overdue"] and not p["admin"] else p["keys_mode"]
        wanted = acc.plan_keys(current_keys, declared, mode)
        if wanted != current_keys:
            new_keys = wanted
            changes.append("keys withdrawn: revalidation overdue" if mode == "none" else "authorized keys set")
        want_sudo = None if p["admin"] or plan["revalidation_overdue"] else acc.sudoers_content(name, p["sudo"])
        if not p["admin"] and want_sudo != before.get("sudoers"):
            sudo_content = want_sudo
            changes.append("sudo rules %s" % ("removed" if want_sudo is None else "set"))
        if not p["admin"]:
            since = dict(rec.get("keys") or {})
            fps = [acc.fingerprint(k) for k in (wanted if new_keys is not None else current_keys)]
            keys_since = dict((fp, since.get(fp, today.isoformat())) for fp in fps)
            granted = rec.get("granted") if rec.get("state") == "present" else None
            rec = dict(owner=p["owner"], approval=p["approval"], kind=p["kind"], state="present",
                       granted=granted or today.isoformat(), expires=expires and expires.isoformat(),
                       revalidated=revalidated and revalidated.isoformat(), revalidation_days=p["revalidation_days"],
                       revalidation_due=plan["revalidation_due"] and plan["revalidation_due"].isoformat(), keys=keys_since)
        else:
            rec = before.get("record")

    final_keys = new_keys if new_keys is not None else current_keys
    old_rec = dict((k, v) for k, v in (before.get("record") or {}).items() if k != "changed")
    record_changed = (dict((k, v) for k, v in (rec or {}).items() if k != "changed") or None) != (old_rec or None)
    if record_changed and not changes:
        changes.append("access record updated")
    if end and entry is not None and acc.processes_of(entry.pw_uid):
        changes.append("sessions ended")

    after = dict(before)
    if state == "absent":
        after = dict(exists=False)
    else:
        after.update(keys=[acc.fingerprint(k) for k in final_keys], record=rec)
    declared_fps = [acc.fingerprint(k) for k in declared]
    added = [acc.fingerprint(k) for k in final_keys if acc.key_identity(k) not in set(acc.key_identity(c) for c in current_keys)]
    pending = [fp for fp in (acc.fingerprint(k) for k in final_keys) if fp not in declared_fps] if state == "present" else []
    sessions_ended = False
    if changes and not module.check_mode:
        # Refused first (expired, keys gone), then its processes ended: no new login
        # can slip in between.
        for argv in commands:
            acc.run(argv)
        entry = _entry(name)
        if entry is not None and new_keys is not None:
            acc.write_keys(entry, new_keys, user_owned=p["admin"])
        if end and entry is not None:
            sessions_ended = acc.end_sessions(name, entry.pw_uid)
        for argv in post:
            acc.run(argv)
        entry = _entry(name)
        if sudo_content is not False:
            acc.write_sudoers(name, sudo_content)
        if record_changed:
            record.setdefault("accounts", {})
            if rec is None:
                record["accounts"].pop(name, None)
            else:
                record["accounts"][name] = dict(rec, changed=today.isoformat())
            acc.write_record(record)
        after = _state_of(module, p, entry, acc.read_record())

    def shown(state_dict):
        return dict((k, v) for k, v in state_dict.items() if k != "key_lines")

    entry = _entry(name) if not module.check_mode else entry
    return dict(
        changed=bool(changes),
        approval=p["approval"],
        changes=changes,
        added_keys=added if state == "present" else [],
        pending_keys=pending,
        sessions_ended=sessions_ended,
        account=dict(
            name=name, id=entry.pw_uid if entry is not None and state != "absent" else None, state=state,
            shadow_expire=plan["shadow_expire"] and plan["shadow_expire"].isoformat() if state == "present" and not p["admin"] else None,
            expired=plan["expired"] if state == "present" and not p["admin"] else state != "present",
            revalidation_due=plan["revalidation_due"] and plan["revalidation_due"].isoformat(),
            revalidation_overdue=plan["revalidation_overdue"] and not p["admin"],
            key_fingerprints=[acc.fingerprint(k) for k in final_keys] if state != "absent" else [],
            declared_fingerprints=declared_fps,
        ),
        diff=dict(before=shown(before), after=shown(after)),
    )


if __name__ == "__main__":
    main()
