#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_account_info
short_description: Who can log in to this instance, with which keys, since when and until when
version_added: 0.1.0
description:
  - Runs on the instance and lists every login account (uid at or above C(UID_MIN) with a
    login shell), every account M(secure_cloud.iaas.access_account) manages, and the names in O(include).
  - For each, its keys' SHA256 fingerprints and since when each is there, its shadow expiry,
    whether its password is locked, the access record (owner, approval, granted, expiry,
    revalidation due), its running processes and its last login (lastlog, else sshd's journal).
  - Returns an empty list when there is no such account.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  include:
    description: Accounts to list even when they are not login accounts.
    type: list
    elements: str
    default: []
  today:
    description: The day to judge expiry by (YYYY-MM-DD); the instance's date (UTC) when empty.
    type: str
attributes:
  check_mode:
    support: full
    description: It only reads.
  diff_mode:
    support: none
    description: It changes nothing.
  idempotent:
    support: full
    description: It only reads.
seealso:
  - module: secure_cloud.iaas.access_account
"""

EXAMPLES = r"""
- name: Read who can log in, and the backup service account even without a login shell
  secure_cloud.iaas.access_account_info:
    include: [backup]
  register: logins

- name: Fail when an account nobody manages can log in
  ansible.builtin.assert:
    that: logins.accounts | rejectattr('managed') | selectattr('can_log_in') | map(attribute='name') | list == ['cloudadmin']
"""

RETURN = r"""
accounts:
  description: The accounts, by uid; empty when none.
  returned: always
  type: list
  elements: dict
  sample:
    - name: alice
      uid: 1001
      shell: /bin/bash
      home: /home/alice
      password_locked: true
      shadow_expire: "2027-01-01"
      expired: false
      keys: [{fingerprint: "SHA256:2Yk...", type: ssh-ed25519, comment: alice@laptop, since: "2026-10-01"}]
      managed: true
      owner: Alice Example
      approval: CHG-1234
      kind: person
      state: present
      granted: "2026-10-01"
      expires: "2026-12-31"
      revalidated: "2026-10-01"
      revalidation_days: 90
      revalidation_due: "2026-12-30"
      processes: 0
      can_log_in: true
      last_login: "2026-10-02T08:15:00Z"
today:
  description: The day the dates were judged by.
  returned: always
  type: str
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.secure_cloud.iaas.plugins.module_utils import access as acc


def main():
    module = AnsibleModule(
        argument_spec=dict(
            include=dict(type="list", elements="str", default=[]),
            today=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    acc.use_module(module)
    try:
        today = acc.parse_day(module.params["today"], "today") or datetime.datetime.now(datetime.timezone.utc).date()
        accounts = acc.list_accounts(today, include=module.params["include"])
    except acc.AccessError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, accounts=accounts, today=today.isoformat())


if __name__ == "__main__":
    main()
