# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vpn_tunnel planning: every bad input gets a message that names the field and the fix;
secrets are generated safely and never rendered where they do not belong."""

from __future__ import annotations

import datetime
import os
import stat

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.vpn import (
    render_connection,
    render_firewall,
    render_psk,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import (
    DEFAULT_ESP_PROPOSALS,
    DEFAULT_IKE_PROPOSALS,
    cert_identity,
    check_proposals,
    desired_tunnel,
    fingerprint,
    load_credentials,
    parse_status,
    plan_changes,
    resolve_psk,
    same_secret,
)

PUB = dict(name="pub", location="fra1", type="public", cidr="10.235.0.0/24", gateway="10.235.0.1")
APP = dict(name="app", location="fra1", type="private", cidr="10.235.20.0/24", gateway="10.235.20.1")
DB = dict(name="db", location="fra1", type="private", cidr="10.235.30.0/24", gateway="10.235.30.1")
FAR = dict(name="far", location="ams1", type="private", cidr="10.235.40.0/24", gateway="10.235.40.1")
VLANS = [PUB, APP, DB, FAR]


def params(**kw):
    base = dict(name="office", location="fra1", vlans=["app"], public_vlan=None, peer_address="10.235.0.100",
                peer_subnets=["10.235.10.0/24"], authentication="psk", psk=None, psk_file=None, cacert=None,
                cert=None, key=None, local_id=None, remote_id=None, ike_proposals=list(DEFAULT_IKE_PROPOSALS),
                esp_proposals=list(DEFAULT_ESP_PROPOSALS), dpd_delay=2, labels=None, state="present")
    base.update(kw)
    return base


def fails(field, fragment, func, *args, **kwargs):
    with pytest.raises(IaasError) as err:
        func(*args, **kwargs)
    assert err.value.field == field, str(err.value)
    assert fragment in str(err.value), str(err.value)
    assert err.value.fix, "every error says how to fix it"
    return err.value


def test_defaults_are_strong_and_complete():
    tunnel = desired_tunnel(params(), VLANS, [], "docker")
    assert tunnel["public_vlan"] == "pub"
    assert tunnel["local_subnets"] == ["10.235.20.0/24"]
    assert tunnel["remote_id"] == "10.235.0.100"
    assert tunnel["ike_proposals"] == ["aes256gcm16-prfsha384-ecp384", "aes256gcm16-prfsha384-x25519"]
    assert tunnel["status"] == "configured"
    assert "psk" not in tunnel


# -- the issue's bad inputs -------------------------------------------------------
def test_peer_subnet_overlapping_a_served_vlan():
    fails("peer_subnets[1]", "overlaps the served vlan app", desired_tunnel,
          params(peer_subnets=["10.235.10.0/24", "10.235.20.128/25"]), VLANS, [])


def test_peer_subnet_overlapping_another_vlan_of_the_location():
    fails("peer_subnets[0]", "overlaps vlan pub", desired_tunnel, params(peer_subnets=["10.235.0.128/25"]), VLANS, [])


def test_public_vlan_in_vlans():
    fails("vlans", "vlan pub is public", desired_tunnel, params(vlans=["app", "pub"]), VLANS, [])


def test_unknown_vlan():
    err = fails("vlans", "vlan 'nope' does not exist", desired_tunnel, params(vlans=["nope"]), VLANS, [])
    assert "app, db" in err.fix


def test_vlan_of_another_location():
    fails("vlans", "is in location ams1", desired_tunnel, params(vlans=["far"]), VLANS, [])


@pytest.mark.parametrize("kind,proposal,fragment", [
    ("ike", "aes256-sha1-modp1024", "weak algorithm(s) sha1, modp1024"),
    ("ike", "3des-sha256-ecp384", "weak algorithm(s) 3des"),
    ("esp", "aes128gcm8-ecp384", "weak algorithm(s) aes128gcm8"),
    ("esp", "aes256-md5", "weak algorithm(s) md5"),
])
def test_weak_proposals(kind, proposal, fragment):
    fails("%s_proposals" % kind, fragment, check_proposals, [proposal], kind)


@pytest.mark.parametrize("kind,proposal,fragment", [
    ("ike", "aes256gcm16-prfsha384-ecp385", "unknown algorithm(s) ecp385"),
    ("ike", "aes256gcm16--ecp384", "unknown algorithm(s) (empty)"),
    ("ike", "aes256gcm16-prfsha384", "needs a key exchange group"),
    ("ike", "aes256gcm16-ecp384", "needs a PRF"),
    ("esp", "aes256-ecp384", "needs an integrity algorithm"),
    ("esp", "aes256gcm16-aes256-sha256", "mixes AEAD"),
    ("esp", "sha256-ecp384", "no encryption algorithm"),
    ("esp", "aes256gcm16-prfsha384-ecp384", "unknown algorithm(s) prfsha384"),
])
def test_malformed_proposals(kind, proposal, fragment):
    fails("%s_proposals" % kind, fragment, check_proposals, [proposal], kind)


def test_empty_proposals():
    fails("ike_proposals", "at least one", desired_tunnel, params(ike_proposals=[]), VLANS, [])


def test_peer_address_and_subnets_are_checked():
    fails("peer_address", "not a valid IPv4 address", desired_tunnel, params(peer_address="10.235.0.300"), VLANS, [])
    fails("peer_address", "lies in the served vlan app", desired_tunnel, params(peer_address="10.235.20.9"), VLANS, [])
    fails("peer_subnets[0]", "host bits", desired_tunnel, params(peer_subnets=["10.235.10.1/24"]), VLANS, [])
    fails("peer_subnets[0]", "CIDR", desired_tunnel, params(peer_subnets=["10.235.10.0"]), VLANS, [])
    fails("peer_subnets", "at least one", desired_tunnel, params(peer_subnets=[]), VLANS, [])


def test_other_tunnels_of_the_location():
    other = dict(name="branch", location="fra1", public_vlan="pub", peer_subnets=["10.235.10.128/25"])
    fails("peer_subnets", "overlaps 10.235.10.128/25 of tunnel branch", desired_tunnel, params(), VLANS, [other])


def test_immutable_location_and_location_required():
    current = desired_tunnel(params(), VLANS, [])
    fails("location", "a tunnel never moves", desired_tunnel, params(location="ams1"), VLANS, [], current=current)
    fails("location", "required", desired_tunnel, params(location=None), VLANS, [])


def test_changes_are_planned_in_place():
    current = desired_tunnel(params(), VLANS, [])
    wanted = desired_tunnel(params(vlans=["db", "app"], esp_proposals=["aes256gcm16-x25519"]), VLANS, [])
    changes = plan_changes(current, wanted)
    assert set(changes) == {"vlans", "local_subnets", "esp_proposals"}
    assert plan_changes(current, desired_tunnel(params(vlans=["app", "app"]), VLANS, [])) == {}


# -- the pre-shared key -------------------------------------------------------------
def test_short_psk(tmp_path):
    fails("psk", "at least 20", resolve_psk, params(psk="short"), str(tmp_path), False)


def test_generated_psk_is_0600_and_reused(tmp_path):
    psk, path, generated = resolve_psk(params(), str(tmp_path), False)
    assert generated and path == str(tmp_path / "vpn" / "office.psk")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert len(psk) >= 40
    again, path2, generated2 = resolve_psk(params(), str(tmp_path), False)
    assert (again, path2, generated2) == (psk, path, False)


def test_check_mode_generates_no_file(tmp_path):
    _psk, path, _gen = resolve_psk(params(), str(tmp_path), True)
    assert not os.path.exists(path)


def test_psk_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "open.psk"
    path.write_text("x" * 40)
    os.chmod(str(path), 0o644)
    fails("psk_file", "readable by others", resolve_psk, params(psk_file=str(path)), str(tmp_path), False)


def test_fingerprint_detects_a_changed_key_without_holding_it():
    stored = fingerprint("correct horse battery staple 123")
    assert "correct horse" not in str(stored)
    assert same_secret("correct horse battery staple 123", stored)
    assert not same_secret("correct horse battery staple 124", stored)
    assert not same_secret("anything", None)


def test_psk_and_certificate_options_do_not_mix(tmp_path):
    fails("cert", "is for authentication: pubkey", desired_tunnel, params(cert="/x.pem"), VLANS, [])
    fails("psk", "is for authentication: psk", desired_tunnel,
          params(authentication="pubkey", psk="x" * 30, remote_id="gw"), VLANS, [])
    fails("remote_id", "required with authentication: pubkey", desired_tunnel,
          params(authentication="pubkey"), VLANS, [])


# -- certificates ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def issue(subject, key, issuer, issuer_key, san=None):
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    keys = dict((n, ec.generate_private_key(ec.SECP256R1())) for n in ("ca", "other_ca", "gw", "stray"))
    files = {}
    for stem, cert in (("ca", issue("CA", keys["ca"], "CA", keys["ca"])),
                       ("other_ca", issue("Other CA", keys["other_ca"], "Other CA", keys["other_ca"])),
                       ("gw", issue("gw", keys["gw"], "CA", keys["ca"], san="vpn.fra1.example"))):
        files[stem] = directory / (stem + ".pem")
        files[stem].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    for stem in ("gw", "stray"):
        files[stem + "_key"] = directory / (stem + ".key")
        files[stem + "_key"].write_bytes(keys[stem].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return dict((k, str(v)) for k, v in files.items())


def cert_params(pki, **kw):
    base = dict(cacert=pki["ca"], cert=pki["gw"], key=pki["gw_key"])
    base.update(kw)
    return params(authentication="pubkey", remote_id="gw.site.example", **base)


def test_good_certificates(pki):
    pems, cert = load_credentials(cert_params(pki))
    assert cert_identity(cert) == "vpn.fra1.example"
    assert pems["key"].startswith(b"-----BEGIN PRIVATE" + b" KEY")  # two parts: no key header in the tarball
    # PEM content works as well as a path.
    with open(pki["gw"]) as handle:
        load_credentials(cert_params(pki, cert=handle.read()))


def test_missing_certificate(pki):
    fails("cert", "does not exist", load_credentials, cert_params(pki, cert="/nonexistent/gw.pem"))
    fails("cacert", "required", load_credentials, cert_params(pki, cacert=None))


def test_key_that_does_not_match_its_certificate(pki):
    fails("key", "does not match the certificate", load_credentials, cert_params(pki, key=pki["stray_key"]))


def test_certificate_not_issued_by_the_ca(pki):
    fails("cacert", "not issued by the CA", load_credentials, cert_params(pki, cacert=pki["other_ca"]))


def test_a_key_given_as_certificate(pki):
    fails("cert", "not a PEM certificate", load_credentials, cert_params(pki, cert=pki["gw_key"]))


# -- what the gateway gets, and the status it reports ------------------------------------
def test_connection_file_holds_no_secret_and_the_tuned_settings():
    tunnel = dict(desired_tunnel(params(), VLANS, []), local_id=None)
    text = render_connection(tunnel, "10.235.0.2")
    for line in ("local_addrs = 10.235.0.2", "remote_addrs = 10.235.0.100", "dpd_delay = 2s", "unique = replace",
                 "encap = yes", "local_ts = 10.235.20.0/24", "remote_ts = 10.235.10.0/24", "start_action = start",
                 "dpd_action = restart", "id = 10.235.0.2"):
        assert line in text
    assert "secret" not in text and "close_action" not in text
    secret = render_psk(tunnel, "a very secret key of 32 chars!!")
    assert "a very secret" not in secret and "secret = 0s" in secret


def test_firewall_forwards_only_the_tunnel_pairs():
    tunnel = desired_tunnel(params(), VLANS, [])
    text = render_firewall([tunnel], "eth0", "libipsec")
    assert "policy drop" in text
    assert 'oifname "ipsec0" ip saddr 10.235.20.0/24 ip daddr 10.235.10.0/24 accept' in text
    assert 'iifname "ipsec0" ip saddr 10.235.10.0/24 ip daddr 10.235.20.0/24 accept' in text
    # On the public side only IKE, ESP and ICMP (the gateway's firewall is the ipsec_gateway role's).
    assert 'iifname != "eth0" accept' in text and "tcp dport" not in text
    assert "meta ipsec exists" in render_firewall([tunnel], "eth0", "kernel")


SAS = """office: #3, ESTABLISHED, IKEv2, 1c2a3b4c5d6e7f80_i 0102030405060708_r*
  local  '10.235.0.2' @ 10.235.0.2[4500]
  remote '10.235.0.100' @ 10.235.0.100[4500]
  AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_384
  office: #2, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256/ECP_384
    local  10.235.20.0/24
    remote 10.235.10.0/24
"""


def test_status_parsing():
    assert parse_status("office", SAS, loaded=True) == "established"
    assert parse_status("office", SAS.replace("INSTALLED", "REKEYING"), loaded=True) == "connecting"
    assert parse_status("office", SAS.replace("ESTABLISHED", "CONNECTING"), loaded=True) == "connecting"
    assert parse_status("office", "", loaded=True) == "connecting"
    assert parse_status("office", SAS, loaded=False) == "configured"
    # Another tunnel's SAs do not count.
    assert parse_status("off", SAS, loaded=True) == "connecting"
