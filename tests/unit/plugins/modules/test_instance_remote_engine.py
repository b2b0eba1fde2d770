# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An instance where the provider cannot keep its vlans apart from the host from here: refused unless accepted."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.secure_cloud.iaas.plugins.modules import instance

WEB = dict(name="web-1", image="debian12", location="fra1", networks=[dict(vlan="app")])


def test_refused_on_a_remote_engine_unless_accepted_and_never_for_a_delete(provider, run_module, monkeypatch):
    warned = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning: warned.append(warning))
    provider.add_vlan("app", "fra1", "10.210.2.0/24")
    # The control: where isolation is enforced nothing is said.
    failed, result = run_module(instance.main, WEB)
    assert not failed and result["changed"] and warned == []
    provider.enforces = ()  # as the docker provider says of a remote engine
    provider.writes = []
    for check in (True, False):
        failed, result = run_module(instance.main, dict(WEB, name="web-2"), check=check)
        assert failed and result["msg"].startswith("docker_host: the fake provider cannot keep this instance's vlans apart")
        assert "accept_unenforced_isolation: true" in result["msg"] and provider.writes == []
    failed, result = run_module(instance.main, dict(WEB, name="web-2", accept_unenforced_isolation=True))
    assert not failed and result["changed"] and ("create_instance", "web-2") in provider.writes
    assert any("cannot keep this instance's vlans apart" in w for w in warned), warned
    failed, result = run_module(instance.main, dict(name="web-2", state="absent"))
    assert not failed and result["changed"] and ("delete_instance", "web-2") in provider.writes
