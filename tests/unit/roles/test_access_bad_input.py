# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the access role fails before any change, with a message naming the
entry and the field, and never the text of a key that may be a private one."""

from __future__ import annotations

_PLAYBOOK = "- {name: Run the access role, hosts: localhost, connection: local, gather_facts: false, roles: [secure_cloud.iaas.access]}\n"
_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFUoX1D3XqAlZr6ZC5bQvXrA6M0e2UXsBoiAwVtqG2xq test@example"
_PRIVATE_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"


def _entry(**fields):
    entry = dict(name="alice", owner="Alice", approval="CHG-1", public_keys=[_KEY])
    entry.update(fields)
    return entry


def test_a_private_key_pasted_as_public_is_refused_without_its_text(check_playbook):
    rc, out = check_playbook(_PLAYBOOK, {"access_accounts": [_entry(public_keys=[_KEY, _PRIVATE_BODY])]})
    assert rc != 0
    assert "access_accounts entries refused" in out and "alice: public_keys" in out
    assert "positions (from 0) are not OpenSSH public keys, text not shown: 1" in out
    assert _PRIVATE_BODY[:20] not in out
    assert "ACC-02" not in out


def test_bad_dates_and_the_admin_user_are_refused(check_playbook):
    rc, out = check_playbook(_PLAYBOOK, {"access_admin_user": "cloudadmin",
                                         "access_accounts": [_entry(expires="31/12/2026"), _entry(name="cloudadmin")]})
    assert rc != 0
    assert "dates must be YYYY-MM-DD: 31/12/2026" in out
    assert "is root or the admin user" in out


def test_an_entry_without_an_approval_is_refused(check_playbook):
    entry = _entry()
    del entry["approval"]
    rc, out = check_playbook(_PLAYBOOK, {"access_accounts": [entry]})
    assert rc != 0
    assert "approval" in out


def test_admin_keys_without_the_admin_user_are_refused(check_playbook):
    rc, out = check_playbook(_PLAYBOOK, {"access_admin_public_keys": [_KEY]})
    assert rc != 0
    assert "access_admin_user must name the admin user" in out
