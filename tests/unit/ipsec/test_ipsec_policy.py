# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPsec policy has one source (module_utils/ipsec), used by the vpn_tunnel module's
docker provider and, through the collection's ipsec filters, by the ipsec_gateway role.

Both sides render the inputs of fixtures/cases.json as they did before (fixtures/golden,
see fixtures/README.md): the same files modulo comments and whitespace, with the few
differences kept or made on purpose spelled out here. Every weak algorithm is refused by
the module's validation and by the role's filter alike.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.secure_cloud.iaas.plugins.filter.ipsec import ipsec_refusals
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import vpn
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.ipsec import proposals, swanctl
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import check_proposals

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
GOLDEN = os.path.join(FIXTURES, "golden")
ROLE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "roles", "ipsec_gateway"))
with open(os.path.join(FIXTURES, "cases.json")) as _handle:
    CASES = json.load(_handle)
MOD = CASES["module"]


def golden(*parts):
    if parts[0] == "module" and parts[1] != "refusals.json":
        # One JSON file: an nft file's interpreter line and a bare shell script
        # are not for the tree's shebang and shellcheck tests.
        with open(os.path.join(GOLDEN, "module", "files.json")) as handle:
            return json.load(handle)[parts[1]]
    with open(os.path.join(GOLDEN, *parts)) as handle:
        return handle.read()


# -- comparing files by meaning -------------------------------------------------------
def parse_conf(text):
    """swanctl.conf / strongswan.conf text -> nested dicts; list values split on commas.

    Comments, blank lines, indentation and the order of keys do not count; in a
    ``secrets`` entry the id keys (id, id-1, id-remote...) are one set, as for strongSwan.
    """
    root = {}
    stack = [root]
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith("{"):
            name = line[:-1].strip()
            assert name not in stack[-1], "section %s twice" % name
            stack[-1][name] = {}
            stack.append(stack[-1][name])
        elif line == "}":
            stack.pop()
        else:
            key, value = [part.strip() for part in line.split("=", 1)]
            stack[-1][key] = [v.strip() for v in value.split(",")] if "," in value else value
    assert len(stack) == 1, "unbalanced braces"
    for entry in root.get("secrets", {}).values():
        ids = set(entry.pop(k) for k in [k for k in entry if re.match(r"^id(-.*)?$", k)])
        entry["ids"] = ids
    return root


def conf_lines(text):
    """Non-comment, non-blank lines, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def chains(text):
    """{chain: [rule]} of an nft file, without comments, counters and rule comments."""
    out, current = {}, None
    for line in conf_lines(text):
        match = re.match(r"^chain (\w+) \{$", line)
        if match:
            current = out.setdefault(match.group(1), [])
        elif line == "}":
            current = None
        elif current is not None:
            line = re.sub(r' comment "[^"]*"', "", line).replace("counter ", "")
            current.append(line)
    return out


# The packets the input chain is judged on: (interface, conntrack state, protocol, port).
PUBLIC, PRIVATE = "eth1", "eth0"
PACKETS = [(iif, ct, proto, port)
           for iif in (PUBLIC, PRIVATE)
           for ct in ("new", "established", "related", "invalid")
           for proto, port in (("udp", 500), ("udp", 4500), ("udp", 53), ("tcp", 22), ("tcp", 443), ("esp", None),
                               ("icmp", None), ("icmpv6", None), ("gre", None))]
PROTO_NUMBERS = {"icmp": 1, "esp": 50, "icmpv6": 58, "gre": 47, "udp": 17, "tcp": 6}


def verdict(rules, policy, packet):
    """What a simple input chain (the forms these files use) does with a packet."""
    iif, ct, proto, port = packet
    for rule in rules:
        words = rule
        ok = True
        for match in re.finditer(r'iifname (!= )?"([^"]+)"', words):
            ok &= (iif != match.group(2)) if match.group(1) else (iif == match.group(2))
        match = re.search(r"ct state ([\w,]+)", words)
        if match:
            ok &= ct in match.group(1).split(",")
        match = re.search(r"(udp|tcp) dport \{ ([\d, ]+) \}", words)
        if match:
            ok &= proto == match.group(1) and port in [int(p) for p in match.group(2).split(",")]
        match = re.search(r"meta l4proto (\{ [\d, ]+ \}|\w+)", words)
        if match:
            allowed = match.group(1).strip("{} ").split(",")
            ok &= any(a.strip() in (proto, str(PROTO_NUMBERS[proto])) for a in allowed)
        if ok:
            return words.split()[-1]
    return policy


# -- the module's side ---------------------------------------------------------------
@pytest.mark.parametrize("tunnel", MOD["tunnels"], ids=lambda t: t["name"])
def test_module_connection_unchanged(tunnel):
    new = vpn.render_connection(tunnel, MOD["public_ip"])
    assert parse_conf(new) == parse_conf(golden("module", "%s.conf" % tunnel["name"]))
    # Still no mode/close_action: strongSwan's defaults (tunnel, none), as before.
    assert "close_action" not in new and "mode =" not in new


def test_module_secret_unchanged():
    tunnel = MOD["tunnels"][0]
    new = vpn.render_psk(tunnel, MOD["psk"])
    assert parse_conf(new) == parse_conf(golden("module", "office.secret.conf"))
    assert MOD["psk"] not in new


@pytest.mark.parametrize("backend", ["kernel", "libipsec"])
def test_module_settings_unchanged(backend):
    new = vpn.render_settings(backend)
    assert parse_conf(new) == parse_conf(golden("module", "settings-%s.conf" % backend))
    # The first line names the backend: the provider reads it back from the gateway.
    assert new.splitlines()[0].endswith("backend: %s" % backend)


@pytest.mark.parametrize("backend", ["kernel", "libipsec"])
def test_module_firewall_forwards_the_same(backend):
    new = vpn.render_firewall(MOD["tunnels"], PUBLIC, backend)
    old = golden("module", "firewall-%s.nft" % backend)
    assert new.startswith("#!/usr/sbin/nft -f\n")
    new_fwd, old_fwd = chains(new)["forward"], chains(old)["forward"]
    # Both: policy drop; the new chain ends in an explicit drop (with a counter).
    assert new_fwd[-1] == "drop" and "policy drop" in new_fwd[0] and "policy drop" in old_fwd[0]
    assert sorted(new_fwd[:-1]) == sorted(old_fwd)
    assert conf_lines(new)[:3] == conf_lines(old)[:3] == [
        "table inet sciaas_vpn", "delete table inet sciaas_vpn", "table inet sciaas_vpn {"]


@pytest.mark.parametrize("backend", ["kernel", "libipsec"])
def test_module_firewall_input_is_the_roles_with_its_two_differences(backend):
    """The gateway's input chain is now the role's (one firewall policy). Compared with
    the module's own chain before, on purpose: a packet conntrack calls invalid is
    dropped on the public side, and ICMPv6 is accepted there like ICMP. Nothing else."""
    new_rules = chains(vpn.render_firewall(MOD["tunnels"], PUBLIC, backend))["input"]
    old_rules = chains(golden("module", "firewall-%s.nft" % backend))["input"]
    assert "policy accept" in new_rules[0] and "policy accept" in old_rules[0]
    differ = [p for p in PACKETS if verdict(new_rules[1:], "accept", p) != verdict(old_rules[1:], "accept", p)]
    expected = [p for p in PACKETS if p[0] == PUBLIC and (
        (p[1] == "invalid" and verdict(old_rules[1:], "accept", p) == "accept")
        or (p[1] == "new" and p[2] == "icmpv6"))]
    assert differ == expected
    assert all(verdict(new_rules[1:], "accept", p) == "drop" for p in PACKETS
               if p[0] == PUBLIC and p[1] == "new" and p[2] in ("tcp", "gre"))
    # The role's file, with the module's table, no TCP port and the module's interface.
    role = chains(golden("role", "pubkey_kernel", "firewall.nft"))["input"]
    assert new_rules == [r.replace('"eth0"', '"%s"' % PUBLIC) for r in role]


def _fake_ip(tmp_path, accepts):
    """A PATH whose ip accepts (or refuses) every xfrm state change, logging its calls."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "ip"
    script.write_text('#!/bin/sh\necho "$@" >> "%s"\nexit %d\n' % (tmp_path / "calls", 0 if accepts else 2))
    script.chmod(0o755)
    return dict(os.environ, PATH="%s:%s" % (bindir, os.environ.get("PATH", "")))


@pytest.mark.parametrize("accepts,backend", [(True, "kernel"), (False, "libipsec")])
def test_the_probe_picks_the_same_backend(tmp_path, accepts, backend):
    env = _fake_ip(tmp_path, accepts)
    old = subprocess.run(["/bin/sh", "-c", golden("module", "probe.sh")], env=env, capture_output=True, text=True, check=False)
    new = subprocess.run(["/bin/sh", "-c", vpn._PROBE], env=env, capture_output=True, text=True, check=False)
    assert (old.returncode == 0) == (new.returncode == 0) == (backend == "kernel")
    assert new.stdout.strip() == backend
    assert "aead rfc4106(gcm(aes))" in (tmp_path / "calls").read_text()
    for forced in ("kernel", "libipsec"):
        done = subprocess.run(["/bin/sh", "-c", swanctl.probe_command(forced)], env=env, capture_output=True, text=True, check=False)
        assert done.stdout.strip() == forced and (done.returncode == 0) == (forced == "kernel")


def test_module_refusals_unchanged():
    for kind, proposal, field, msg, fix in json.loads(golden("module", "refusals.json")):
        with pytest.raises(IaasError) as err:
            check_proposals([proposal], kind)
        assert [err.value.field, err.value.msg, err.value.fix] == [field, msg, fix]


# -- the role's side -------------------------------------------------------------------
_PLAYBOOK = """
- name: Render the ipsec_gateway templates
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [%(role)s/defaults/main.yml, %(role)s/vars/main.yml]
  vars:
    ipsec_gateway_backend_in_use: "{{ backend_in_use }}"
  tasks:
    - name: Facts the templates read
      ansible.builtin.set_fact:
        cacheable: true
        default_ipv4: {address: 192.0.2.10, interface: eth0}
    - name: Connections
      ansible.builtin.template: {src: %(role)s/templates/connection.conf.j2, dest: "{{ out }}/{{ item }}.conf"}
      loop: "{{ _ipsec_gateway_present_names }}"
      vars: {_c: "{{ _ipsec_gateway_present_conns | selectattr('name', 'eq', item) | first }}"}
    - name: Secrets
      ansible.builtin.template: {src: %(role)s/templates/secret.conf.j2, dest: "{{ out }}/{{ item }}.secret.conf"}
      loop: "{{ _ipsec_gateway_psk_names }}"
      vars: {_c: "{{ _ipsec_gateway_present_conns | selectattr('name', 'eq', item) | first }}"}
    - name: Firewall
      ansible.builtin.template: {src: %(role)s/templates/firewall.nft.j2, dest: "{{ out }}/firewall.nft"}
    - name: Backend
      ansible.builtin.template: {src: %(role)s/templates/backend.conf.j2, dest: "{{ out }}/backend.conf"}
    - name: Tuning
      ansible.builtin.template: {src: %(role)s/templates/tuning.conf.j2, dest: "{{ out }}/tuning.conf"}
"""
_VALIDATE = """
- name: Validate
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [%(role)s/defaults/main.yml, %(role)s/vars/main.yml]
  tasks:
    - name: Errors
      ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', '%(role)s/templates/validate.j2') | from_json | to_nice_json }}"
        dest: "{{ out }}/refusals.json"
"""


def _play(tmp_path, text, variables, out):
    os.makedirs(out, exist_ok=True)
    playbook = tmp_path / ("play-%s.yml" % os.path.basename(out))
    playbook.write_text(text % dict(role=ROLE))
    extra = tmp_path / ("vars-%s.json" % os.path.basename(out))
    extra.write_text(json.dumps(dict(variables, out=out)))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(ansible_playbook):
        ansible_playbook = shutil.which("ansible-playbook")
    collections = os.path.normpath(os.path.join(ROLE, "..", "..", "..", "..", ".."))
    if not os.path.isdir(os.path.join(collections, "ansible_collections")):
        collections = os.path.normpath(os.path.join(ROLE, "..", "..", ".collections"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="true")
    env.pop("ANSIBLE_CONFIG", None)
    result = subprocess.run([ansible_playbook, "-i", "localhost,", "-e", "@%s" % extra, str(playbook)],
                            capture_output=True, text=True, env=env, timeout=300, check=False, cwd=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


# Proposals strong but for one weak algorithm each: every entry of the one list.
WEAK_PROPOSALS = [(kind, "%s-%s" % (proposals.EXAMPLE[kind], alg)) for kind in proposals.KINDS
                  for alg in sorted(proposals.WEAK)]


def _refusal_connections(entries):
    return [dict(name="p%d" % i, remote_addrs=["198.51.100.10"], local_ts=["10.1.0.0/24"], remote_ts=["10.2.0.0/24"],
                 psk="Zq8-correct-horse-battery-staple-41x", **{"%s_proposals" % kind: [p]})
            for i, (kind, p) in enumerate(entries)]


@pytest.fixture(scope="module")
def role_output(tmp_path_factory):
    """The role's templates rendered by Ansible for every case (and its validation for the refusals)."""
    tmp_path = tmp_path_factory.mktemp("ipsec_role")
    for name, variables in CASES["role"].items():
        _play(tmp_path, _PLAYBOOK, variables, str(tmp_path / name))
    golden_entries = [(k, p) for k in proposals.KINDS for p in CASES["refused"][k]]
    _play(tmp_path, _VALIDATE, dict(ipsec_gateway_connections=_refusal_connections(golden_entries)),
          str(tmp_path / "refusals"))
    _play(tmp_path, _VALIDATE, dict(ipsec_gateway_connections=_refusal_connections(WEAK_PROPOSALS)),
          str(tmp_path / "weak"))
    return tmp_path


def _role_files():
    for case in sorted(CASES["role"]):
        for fname in sorted(os.listdir(os.path.join(GOLDEN, "role", case))):
            yield case, fname


@pytest.mark.parametrize("case,fname", list(_role_files()))
def test_role_files_unchanged(role_output, case, fname):
    new = (role_output / case / fname).read_text()
    old = golden("role", case, fname)
    assert new.startswith("# Ansible managed\n")
    if fname.endswith(".nft"):
        assert conf_lines(new) == conf_lines(old)
    else:
        assert parse_conf(new) == parse_conf(old)


def test_role_writes_no_file_more(role_output):
    for case in CASES["role"]:
        assert sorted(os.listdir(str(role_output / case))) == sorted(os.listdir(os.path.join(GOLDEN, "role", case)))


def test_role_refusals_unchanged(role_output):
    """The same entries refused for the same reasons; the fix now reads as the module's."""
    new = json.loads((role_output / "refusals" / "refusals.json").read_text())
    old = json.loads(golden("role", "refusals.json"))
    assert len(new) == len(old)
    for new_msg, old_msg in zip(new, old):
        reason = re.split(r": use AES|; write algorithms", old_msg)[0]
        assert new_msg.startswith(reason + "; ")


# -- one list of weak algorithms, refused on both sides -----------------------------------
@pytest.mark.parametrize("kind,proposal", WEAK_PROPOSALS)
def test_each_weak_algorithm_is_refused_by_the_module_and_the_filter(kind, proposal):
    alg = proposal.rsplit("-", 1)[1]
    with pytest.raises(IaasError) as err:
        check_proposals([proposal], kind)
    assert err.value.field == "%s_proposals" % kind and "weak algorithm(s) %s" % alg in err.value.msg
    messages = ipsec_refusals([proposal], kind, "ipsec_gateway_connections[0] (x).%s_proposals" % kind)
    assert messages == ["ipsec_gateway_connections[0] (x).%s_proposals entry %s uses weak algorithm(s) %s; %s"
                        % (kind, proposal, alg, err.value.fix)]


def test_each_weak_algorithm_is_refused_by_the_role(role_output):
    errors = json.loads((role_output / "weak" / "refusals.json").read_text())
    assert len(errors) == len(WEAK_PROPOSALS)
    for i, (kind, proposal) in enumerate(WEAK_PROPOSALS):
        assert errors[i].startswith("ipsec_gateway_connections[%d] (p%d).%s_proposals entry %s uses weak algorithm(s) %s;"
                                    % (i, i, kind, proposal, proposal.rsplit("-", 1)[1]))


def test_the_defaults_strong_and_accepted():
    for kind, default in (("ike", proposals.DEFAULT_IKE_PROPOSALS), ("esp", proposals.DEFAULT_ESP_PROPOSALS)):
        assert proposals.refusals(default, kind) == []
        assert check_proposals(default, kind) == default


def test_the_roles_defaults_are_the_policys():
    """The role's user-facing defaults stay in its defaults/main.yml and argument specs; they are these."""
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROLE, "meta", "argument_specs.yml")) as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    wanted = dict(ipsec_gateway_ike_proposals=proposals.DEFAULT_IKE_PROPOSALS,
                  ipsec_gateway_esp_proposals=proposals.DEFAULT_ESP_PROPOSALS,
                  ipsec_gateway_dpd_delay=swanctl.DEFAULT_DPD_DELAY,
                  ipsec_gateway_retransmit_tries=swanctl.RETRANSMIT["tries"],
                  ipsec_gateway_retransmit_timeout=swanctl.RETRANSMIT["timeout"],
                  ipsec_gateway_retransmit_base=swanctl.RETRANSMIT["base"])
    for name, value in wanted.items():
        assert defaults[name] == value, name
        assert spec[name]["default"] == value, name
