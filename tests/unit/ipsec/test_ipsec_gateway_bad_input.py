# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the ipsec_gateway role fails before anything is installed,
with a message that names the field and the fix, and never shows the PSK.

Each case runs the real role with ansible-playbook against localhost in check
mode: the checks come first and only read the controller, and check mode
keeps the host untouched even if a check were to let bad input through.
"""

from __future__ import annotations

import datetime

import pytest

cryptography = pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

_PLAYBOOK = """
- name: Run the ipsec_gateway role with the given variables
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Include the role
      ansible.builtin.include_role:
        name: secure_cloud.iaas.ipsec_gateway
        tasks_from: {tasks_from}
"""
PSK = "Zq8-correct-horse-battery-staple-41x"


def _run_role(check_playbook, connections, tasks_from="main", **extra_vars):
    rc, out = check_playbook(_PLAYBOOK.format(tasks_from=tasks_from),
                             dict(ipsec_gateway_connections=connections, **extra_vars), "-v")
    assert PSK not in out, "the PSK reached Ansible's output"
    return rc, out


def _conn(**overrides):
    conn = {
        "name": "dc1",
        "remote_addrs": ["198.51.100.10"],
        "local_ts": ["10.1.0.0/24"],
        "remote_ts": ["10.2.0.0/24"],
        "psk": PSK,
    }
    conn.update(overrides)
    return conn


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(subject, key, issuer, issuer_key, ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def _pem(tmp_path, name, obj):
    path = tmp_path / name
    if isinstance(obj, x509.Certificate):
        path.write_bytes(obj.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(path)


@pytest.fixture(name="pki")
def fixture_pki(tmp_path):
    """A CA, a gateway key and certificate, a stranger key, and a certificate from another CA."""
    ca_key, gw_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for _key in range(3))
    ca = _issue("test CA", ca_key, "test CA", ca_key, ca=True)
    gw = _issue("gw.site.example", gw_key, "test CA", ca_key)
    foreign = _issue("gw.site.example", gw_key, "other CA", other_key)
    return {
        "cacert": _pem(tmp_path, "ca.pem", ca),
        "cert": _pem(tmp_path, "gw.pem", gw),
        "key": _pem(tmp_path, "gw.key", gw_key),
        "other_key": _pem(tmp_path, "other.key", other_key),
        "foreign_cert": _pem(tmp_path, "foreign.pem", foreign),
    }


def _pubkey_conn(pki, **overrides):
    conn = _conn(auth="pubkey", remote_id="dc.example", local_id="gw.site.example",
                 cacert=pki["cacert"], cert=pki["cert"], key=pki["key"])
    conn.pop("psk")
    conn.update(overrides)
    return conn


def test_good_connections_pass_the_checks(check_playbook, pki):
    rc, out = _run_role(check_playbook, [_conn(), _pubkey_conn(pki, name="dc2", remote_ts=["10.3.0.0/24"])],
                        tasks_from="validate")
    assert rc == 0, out


@pytest.mark.parametrize("local_ts, remote_ts, overlap", [
    (["10.1.0.0/24"], ["10.1.0.0/16"], "local_ts 10.1.0.0/24 overlaps remote_ts 10.1.0.0/16"),
    (["10.1.0.0/16"], ["10.1.7.0/24"], "local_ts 10.1.0.0/16 overlaps remote_ts 10.1.7.0/24"),
    (["10.1.0.0/24", "10.9.0.0/24"], ["10.9.0.0/24"], "local_ts 10.9.0.0/24 overlaps remote_ts 10.9.0.0/24"),
])
def test_remote_subnets_overlapping_local_subnets_are_refused(check_playbook, local_ts, remote_ts, overlap):
    rc, out = _run_role(check_playbook, [_conn(local_ts=local_ts, remote_ts=remote_ts)])
    assert rc != 0
    assert "ipsec_gateway_connections[0] (dc1): " + overlap in out
    assert "need distinct subnets" in out


@pytest.mark.parametrize("field, value", [
    ("remote_ts", ["10.2.0.5/24"]),
    ("remote_ts", ["10.2.0.0"]),
    ("local_ts", ["not-a-net"]),
    ("local_ts", ["10.300.0.0/24"]),
])
def test_malformed_subnets_are_refused(check_playbook, field, value):
    rc, out = _run_role(check_playbook, [_conn(**{field: value})])
    assert rc != 0
    assert f"ipsec_gateway_connections[0] (dc1).{field} entry {value[0]} is not a network in CIDR form" in out


@pytest.mark.parametrize("field, proposal, weak", [
    ("ike_proposals", "3des-sha1-modp1024", "3des, sha1, modp1024"),
    ("ike_proposals", "aes256-sha256-modp1536", "modp1536"),
    ("ike_proposals", "aes128-md5-prfmd5-ecp256", "md5, prfmd5"),
    ("esp_proposals", "aes128-sha1", "sha1"),
    ("esp_proposals", "null-sha256", "null"),
    ("esp_proposals", "aes128gcm8-ecp256", "aes128gcm8"),
])
def test_weak_proposals_are_refused(check_playbook, field, proposal, weak):
    rc, out = _run_role(check_playbook, [_conn(**{field: [proposal]})])
    assert rc != 0
    assert f"(dc1).{field} entry {proposal} uses weak algorithm(s) {weak}" in out


@pytest.mark.parametrize("field, proposal, reason", [
    ("ike_proposals", "aes256gcm16-frobnicate-ecp384", "unknown algorithm(s) frobnicate"),
    ("ike_proposals", "aes256gcm16--ecp384", "unknown algorithm(s) (empty)"),
    ("ike_proposals", "aes256gcm16-prfsha384", "needs a key exchange group"),
    ("ike_proposals", "aes256-prfsha384-ecp384", "needs an integrity algorithm"),
    ("ike_proposals", "sha256-ecp384", "has no encryption algorithm"),
    ("ike_proposals", "aes256gcm16-aes256-sha256-ecp384", "mixes AEAD"),
    ("esp_proposals", "aes256gcm16-prfsha384", "unknown algorithm(s) prfsha384"),
    ("esp_proposals", "aes256", "needs an integrity algorithm"),
])
def test_malformed_proposals_are_refused(check_playbook, field, proposal, reason):
    rc, out = _run_role(check_playbook, [_conn(**{field: [proposal]})])
    assert rc != 0
    assert f"(dc1).{field} entry {proposal} " in out
    assert reason in out


def test_a_proposal_string_instead_of_a_list_is_refused(check_playbook):
    rc, out = _run_role(check_playbook, [_conn(ike_proposals=[])])
    assert rc != 0
    assert "(dc1).ike_proposals must be a non-empty list of proposals" in out


def test_a_short_psk_is_refused_without_showing_it(check_playbook):
    short = "tooshort-7Kq"
    rc, out = _run_role(check_playbook, [_conn(psk=short)])
    assert rc != 0
    assert "(dc1).psk must be a string of at least 20 characters" in out
    assert short not in out


def test_a_missing_psk_is_refused(check_playbook):
    conn = _conn()
    conn.pop("psk")
    rc, out = _run_role(check_playbook, [conn])
    assert rc != 0
    assert "(dc1).psk must be a string of at least 20 characters" in out


@pytest.mark.parametrize("missing", ["cacert", "cert", "key"])
def test_a_missing_certificate_file_is_refused(check_playbook, tmp_path, pki, missing):
    gone = str(tmp_path / "nowhere.pem")
    rc, out = _run_role(check_playbook, [_pubkey_conn(pki, **{missing: gone})])
    assert rc != 0
    assert f"(dc1).{missing} {gone} does not exist on the controller" in out


def test_certificates_left_out_are_refused(check_playbook, pki):
    conn = _pubkey_conn(pki)
    del conn["cert"]
    rc, out = _run_role(check_playbook, [conn])
    assert rc != 0
    assert "(dc1).cert is required with auth pubkey" in out


def test_a_key_that_does_not_match_its_certificate_is_refused(check_playbook, pki):
    rc, out = _run_role(check_playbook, [_pubkey_conn(pki, key=pki["other_key"])])
    assert rc != 0
    assert f"ipsec_gateway_connections (dc1): key {pki['other_key']} does not match cert {pki['cert']}" in out


def test_a_certificate_from_another_ca_is_refused(check_playbook, pki):
    rc, out = _run_role(check_playbook, [_pubkey_conn(pki, cert=pki["foreign_cert"])])
    assert rc != 0
    assert f"cert {pki['foreign_cert']} is not issued by cacert {pki['cacert']}" in out


def test_a_key_file_that_is_not_pem_is_refused(check_playbook, tmp_path, pki):
    junk = tmp_path / "junk.key"
    junk.write_text("not a key\n")
    rc, out = _run_role(check_playbook, [_pubkey_conn(pki, key=str(junk))])
    assert rc != 0
    assert f"key {junk} cannot be read: not PEM, or an encrypted key" in out


def test_duplicate_names_are_refused(check_playbook):
    rc, out = _run_role(check_playbook, [_conn(), _conn(remote_ts=["10.3.0.0/24"])])
    assert rc != 0
    assert "ipsec_gateway_connections[1] (dc1).name dc1 is used twice" in out


def test_a_name_that_cannot_name_a_file_is_refused(check_playbook):
    rc, out = _run_role(check_playbook, [_conn(name="dc 1/../x")])
    assert rc != 0
    assert ".name must be 1-32 letters, digits, - or _" in out


def test_an_unknown_auth_method_is_refused_by_the_argument_spec(check_playbook):
    rc, out = _run_role(check_playbook, [_conn(auth="password")])
    assert rc != 0
    assert "auth" in out and "password" in out and "psk, pubkey" in out
