#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: audit_log_verify
short_description: Verify the hash chain of an audit log and name the first bad record
version_added: 0.1.0
description:
  - Walks an audit log written by the P(secure_cloud.iaas.audit_log#callback) callback,
    recomputes every record's hash and checks its sequence number and its link to
    the record before it.
  - Fails on the first bad record, naming its line and whether it was edited, removed,
    reordered or is not a record at all (malformed).
  - Run it where the log is, usually the controller (with C(delegate_to) V(localhost)).
  - The chain shows changes made by anyone who did not rewrite every later record.
    To catch a rewritten or cut tail, keep RV(head) and RV(records) somewhere else and
    give them back as O(expected_head) and O(expected_records) next time.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  path:
    description: The audit log file.
    type: path
    required: true
  expected_head:
    description:
      - The RV(head) of an earlier verification. The log must still contain that
        record, at O(expected_records).
    type: str
  expected_records:
    description: The RV(records) count of the earlier verification O(expected_head) came from.
    type: int
  fail_on_invalid:
    description: Fail when the chain is broken. With V(false) the result only reports it.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: It only reads the log.
  diff_mode:
    support: none
    description: It changes nothing, so there is nothing to diff.
  idempotent:
    support: full
    description: It only reads the log.
seealso:
  - plugin: secure_cloud.iaas.audit_log
    plugin_type: callback
"""

EXAMPLES = r"""
- name: Verify the controller's audit log
  secure_cloud.iaas.audit_log_verify:
    path: ~/.local/state/secure_cloud_iaas/audit.log
  delegate_to: localhost
  run_once: true
  register: audit

- name: Verify again later, against the head kept from the first check
  secure_cloud.iaas.audit_log_verify:
    path: ~/.local/state/secure_cloud_iaas/audit.log
    expected_head: "{{ audit.head }}"
    expected_records: "{{ audit.records }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
valid:
  description: Whether every record is intact and in order.
  returned: always
  type: bool
  sample: true
records:
  description: How many records were verified (up to the first bad one).
  returned: always
  type: int
  sample: 42
head:
  description: The hash of the last good record (64 zeros for an empty log).
  returned: always
  type: str
  sample: 9f2c4e0b7d1a3c5e8f6a2b4d9c0e1f3a5b7c9d2e4f6a8b0c1d3e5f7a9b2c4d6e
first_bad:
  description: The first bad record, or null when the chain is valid.
  returned: always
  type: dict
  contains:
    line:
      description: Its line number in the file (1 is the first).
      type: int
    seq:
      description: The sequence number it carries, when readable.
      type: int
    kind:
      description: V(edited), V(removed), V(reordered), V(malformed) or V(truncated).
      type: str
    reason:
      description: What is wrong, in words.
      type: str
  sample:
    line: 7
    seq: 8
    kind: removed
    reason: seq 7 removed before line 7
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.secure_cloud.iaas.plugins.module_utils.audit_chain import verify_file


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            expected_head=dict(type="str"),
            expected_records=dict(type="int"),
            fail_on_invalid=dict(type="bool", default=True),
        ),
        required_together=[("expected_head", "expected_records")],
        supports_check_mode=True,
    )
    path = module.params["path"]
    if not os.path.isfile(path):
        module.fail_json(msg="path: %s is not a file. Fix: give the audit log's path (the callback's log_path)" % path)
    try:
        result = verify_file(path, anchor=(module.params["expected_head"], module.params["expected_records"]))
    except (IOError, OSError) as exc:
        module.fail_json(msg="path: cannot read %s: %s" % (path, exc))
    if not result["valid"] and module.params["fail_on_invalid"]:
        module.fail_json(msg="audit log %s is broken at line %d: %s"
                             % (path, result["first_bad"]["line"], result["first_bad"]["reason"]), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
