# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vpn_tunnel resource: its options, its one result shape, and its planning.

A tunnel joins the private vlans it serves (``vlans``) with a customer site
(``peer_subnets``) behind the customer's gateway (``peer_address``) through
IKEv2/IPsec. Used by the vpn_tunnel and vpn_tunnel_info modules and every
provider. Everything here is pure validation: no platform is touched.

Secrets: a pre-shared key is given (``psk``, from a vault) or generated with
the operating system's CSPRNG into ``psk_file`` (mode 0600) on the host that
runs the module. Only a salted PBKDF2 fingerprint is ever stored, so a changed
key is noticed without keeping the key anywhere but its file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model import ipam
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.common import check_labels, check_location, check_name
from ansible_collections.secure_cloud.iaas.plugins.module_utils import secret_file
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.ipsec.proposals import (
    DEFAULT_ESP_PROPOSALS,
    DEFAULT_IKE_PROPOSALS,
    EXAMPLE,
    normalize,
    refusal,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.ipsec.swanctl import DEFAULT_DPD_DELAY

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

KIND = "vpn_tunnel"

VPN_TUNNEL_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    location=dict(type="str"),
    vlans=dict(type="list", elements="str"),
    public_vlan=dict(type="str"),
    peer_address=dict(type="str"),
    peer_subnets=dict(type="list", elements="str"),
    authentication=dict(type="str", choices=["psk", "pubkey"], default="psk"),
    psk=dict(type="str", no_log=True),
    psk_file=dict(type="path"),
    cacert=dict(type="str"),
    cert=dict(type="str"),
    key=dict(type="str", no_log=True),
    local_id=dict(type="str"),
    remote_id=dict(type="str"),
    ike_proposals=dict(type="list", elements="str", default=DEFAULT_IKE_PROPOSALS),
    esp_proposals=dict(type="list", elements="str", default=DEFAULT_ESP_PROPOSALS),
    dpd_delay=dict(type="int", default=DEFAULT_DPD_DELAY),
    labels=dict(type="dict"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)
# A key and a key file, or a key and certificates, would leave one of them
# unused without a word: refused before anything is read.
VPN_TUNNEL_MUTUALLY_EXCLUSIVE = [["psk", "psk_file"]] + [
    [secret, pki] for secret in ("psk", "psk_file") for pki in ("cacert", "cert", "key")]

# Fixed once the tunnel exists (the gateway belongs to a location and a public vlan).
IMMUTABLE_FIELDS = ("location", "public_vlan")
# Compared on every run and changed in place (swanctl reloads the connection).
MUTABLE_FIELDS = ("vlans", "peer_address", "peer_subnets", "authentication", "local_id", "remote_id",
                  "ike_proposals", "esp_proposals", "dpd_delay", "labels")

MIN_PSK_LENGTH = 20
PSK_BYTES = 32
PBKDF2_ROUNDS = 100000
ID_RE = re.compile(r"^[A-Za-z0-9@._:=, -]{1,255}$")


def vpn_tunnel_result(name, location, vlans, public_vlan, local_subnets, peer_address, peer_subnets, authentication,
                      local_id, remote_id, ike_proposals, esp_proposals, dpd_delay, status, gateway_address=None,
                      gateway_addresses=None, backend=None, psk_file=None, labels=None, provider=None,
                      resource_id=None):
    """The one shape of a tunnel, returned by vpn_tunnel, vpn_tunnel_info and every provider.

    Never holds a secret: ``psk_file`` is a path, certificates are not returned.
    """
    return dict(
        name=name,
        location=location,
        vlans=sorted(vlans or []),
        public_vlan=public_vlan,
        local_subnets=sorted(local_subnets or []),
        peer_address=peer_address,
        peer_subnets=sorted(peer_subnets or []),
        authentication=authentication,
        local_id=local_id,
        remote_id=remote_id,
        ike_proposals=list(ike_proposals or []),
        esp_proposals=list(esp_proposals or []),
        dpd_delay=dpd_delay,
        status=status,
        gateway_address=gateway_address,
        gateway_addresses=dict(gateway_addresses or {}),
        backend=backend,
        psk_file=psk_file,
        labels=dict(labels or {}),
        provider=provider,
        id=resource_id,
    )


# -- proposals ---------------------------------------------------------------
def check_proposals(proposals, kind):
    """kind: 'ike' or 'esp'. The list, lower-cased; IaasError naming the entry otherwise.

    What is refused, and why, is the IPsec policy's (module_utils/ipsec/proposals.py), which the
    ipsec_gateway role applies too.
    """
    field = "%s_proposals" % kind
    if not proposals:
        raise IaasError("must list at least one proposal", field=field,
                        fix="give e.g. [%s] (the default)" % EXAMPLE[kind])
    out = []
    for entry in proposals:
        found = refusal(entry, kind)
        if found:
            problem, fix = found
            raise IaasError("%r %s" % (entry, problem), field=field, fix=fix)
        out.append(normalize(entry))
    return out


# -- addresses -----------------------------------------------------------------
def served_vlans(names, location, vlans, field="vlans"):
    """names: the vlans asked for. Every one exists, is private and lies in location."""
    if not names:
        raise IaasError("must list at least one private vlan", field=field,
                        fix="name the private vlans the tunnel serves, e.g. vlans: [app]")
    by_name = dict((v["name"], v) for v in vlans)
    out = []
    for name in names:
        vlan = by_name.get(name)
        if vlan is None:
            here = sorted(v["name"] for v in vlans if v["location"] == location and v["type"] == "private")
            raise IaasError("vlan %r does not exist" % (name,), field=field,
                            fix="create it first with secure_cloud.iaas.vlan, or use one of: %s"
                                % (", ".join(here) or "(no private vlan in location %s)" % location))
        if vlan["type"] != "private":
            raise IaasError("vlan %s is public: a tunnel serves only private vlans (the gateway reaches the "
                            "peer through the public vlan)" % name, field=field,
                            fix="remove %s from vlans; the gateway takes its public address there by itself" % name)
        if vlan["location"] != location:
            raise IaasError("vlan %s is in location %s, not %s" % (name, vlan["location"], location), field=field,
                            fix="use private vlans of location %s" % location)
        if vlan not in out:
            out.append(vlan)
    return out


def pick_public_vlan(name, location, vlans, field="public_vlan"):
    public = [v for v in vlans if v["location"] == location and v["type"] == "public"]
    if name:
        vlan = next((v for v in vlans if v["name"] == name), None)
        if vlan is None or vlan["type"] != "public" or vlan["location"] != location:
            raise IaasError("%r is not a public vlan of location %s" % (name, location), field=field,
                            fix="use one of: %s" % (", ".join(v["name"] for v in public) or "(none yet)"))
        return vlan
    if not public:
        raise IaasError("location %s has no public vlan for the VPN gateway" % location, field=field,
                        fix="create one with secure_cloud.iaas.vlan (type: public)")
    if len(public) > 1:
        raise IaasError("location %s has several public vlans" % location, field=field,
                        fix="name the one the gateway faces the peer on: %s" % ", ".join(v["name"] for v in public))
    return public[0]


def check_peer(params, served, location_vlans):
    """peer_address and peer_subnets: well formed, and no subnet meets a vlan of the location."""
    if not params.get("peer_address"):
        raise IaasError("is required", field="peer_address", fix="give the customer gateway's public address")
    peer = ipam.parse_ip(params["peer_address"], field="peer_address")
    for vlan in served:
        if peer in ipam.parse_cidr(vlan["cidr"]):
            raise IaasError("%s lies in the served vlan %s (%s)" % (peer, vlan["name"], vlan["cidr"]),
                            field="peer_address", fix="give the customer gateway's public address")
    if not params.get("peer_subnets"):
        raise IaasError("must list at least one subnet", field="peer_subnets",
                        fix="list the customer site's subnets, e.g. [10.1.0.0/24]")
    subnets = []
    for i, value in enumerate(params["peer_subnets"]):
        net = ipam.parse_subnet(value, "peer_subnets[%d]" % i)
        for vlan in served:
            if ipam.overlaps(net, vlan["cidr"]):
                raise IaasError("%s overlaps the served vlan %s (%s)" % (net, vlan["name"], vlan["cidr"]),
                                field="peer_subnets[%d]" % i,
                                fix="the two sites need distinct subnets; renumber one of them")
        for vlan in location_vlans:
            if vlan not in served and ipam.overlaps(net, vlan["cidr"]):
                raise IaasError("%s overlaps vlan %s (%s) of the location" % (net, vlan["name"], vlan["cidr"]),
                                field="peer_subnets[%d]" % i,
                                fix="the customer's subnets must not meet the data center's vlans")
        if str(net) not in subnets:
            subnets.append(str(net))
    if any(peer in ipam.parse_subnet(s, "peer_subnets") for s in subnets):
        raise IaasError("the peer address %s lies inside peer_subnets" % peer, field="peer_subnets",
                        fix="list only the subnets behind the customer gateway")
    return str(peer), sorted(subnets)


# -- credentials ---------------------------------------------------------------
def fingerprint(secret, salt=None):
    """{salt, hash}: a salted PBKDF2-SHA256 of a secret; the secret cannot be read back from it."""
    salt = salt or base64.b64encode(os.urandom(16)).decode()
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode() if isinstance(secret, str) else secret,
                                 salt.encode(), PBKDF2_ROUNDS)
    return dict(salt=salt, hash=base64.b64encode(digest).decode())


def same_secret(secret, stored):
    if not stored or not stored.get("salt"):
        return False
    return hmac.compare_digest(fingerprint(secret, stored["salt"])["hash"], stored.get("hash") or "")


def default_psk_file(state_dir, name):
    return os.path.join(os.path.abspath(os.path.expanduser(state_dir)), "vpn", "%s.psk" % name)


def resolve_psk(params, state_dir, check_mode):
    """(psk or None, psk_file or None, generated). A given psk wins; else psk_file is read or made."""
    if params.get("psk") is not None:
        if len(params["psk"]) < MIN_PSK_LENGTH:
            raise IaasError("must have at least %d characters" % MIN_PSK_LENGTH, field="psk",
                            fix="use a random key from a vault, e.g. openssl rand -base64 32, or leave psk out "
                                "to have one generated into psk_file")
        return params["psk"], None, False
    path = params.get("psk_file") or default_psk_file(state_dir, params["name"])
    psk, generated = secret_file.read_or_create(path, "psk_file", check_mode, nbytes=PSK_BYTES, min_length=MIN_PSK_LENGTH)
    return psk, path, generated


def _pem(value, field):
    """PEM text from a path on the module's host or from the content itself."""
    text = str(value or "")
    if not text.strip():
        raise IaasError("is required with authentication: pubkey", field=field,
                        fix="give the path of a PEM file, or the PEM content")
    if text.lstrip().startswith("-----BEGIN"):
        return text.encode()
    if not os.path.isfile(text):
        raise IaasError("%s does not exist" % text, field=field, fix="give the path of a PEM file, or the PEM content")
    with open(text, "rb") as handle:
        return handle.read()


def _public_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_credentials(params):
    """{cacert, cert, key} as PEM bytes, checked: key matches cert, cert issued by the CA."""
    if not HAS_CRYPTOGRAPHY:
        raise IaasError("the cryptography Python library is missing on the host that runs the module", field="cert",
                        fix="install it there (pip install cryptography); ansible-core depends on it")
    pems = dict((f, _pem(params.get(f), f)) for f in ("cacert", "cert", "key"))
    certs = {}
    for field in ("cacert", "cert"):
        try:
            certs[field] = x509.load_pem_x509_certificate(pems[field])
        except ValueError:
            raise IaasError("is not a PEM certificate", field=field, fix="give a PEM file that starts with "
                                                                         "-----BEGIN CERTIFICATE-----")
    try:
        key = serialization.load_pem_private_key(pems["key"], password=None)
    except (ValueError, TypeError):
        raise IaasError("is not an unencrypted PEM private key", field="key",
                        fix="give the unencrypted key (keep it in a vault-encrypted file)")
    if _public_der(key.public_key()) != _public_der(certs["cert"].public_key()):
        raise IaasError("does not match the certificate in cert (different public keys)", field="key",
                        fix="give the private key the certificate was issued for")
    try:
        certs["cert"].verify_directly_issued_by(certs["cacert"])
    except (ValueError, TypeError, Exception):  # pylint: disable=broad-except
        raise IaasError("the certificate in cert was not issued by the CA in cacert", field="cacert",
                        fix="give the CA certificate that signed cert")
    return pems, certs["cert"]


def cert_identity(cert):
    """The first DNS subjectAltName, else the subject's common name."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
        if names:
            return names[0]
    except x509.ExtensionNotFound:
        pass
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return cns[0].value if cns else None


def check_id(value, field):
    if value is not None and not ID_RE.match(value):
        raise IaasError("%r is not a usable IKE identity" % value, field=field,
                        fix="give an address, a DNS name or an e-mail address")
    return value


def check_authentication(params):
    """The credential options that go with the authentication asked for; the authentication."""
    auth = params.get("authentication") or "psk"
    if auth == "pubkey":
        for field in ("psk", "psk_file"):
            if params.get(field):
                raise IaasError("is for authentication: psk", field=field, fix="leave it out with authentication: pubkey")
        if not params.get("remote_id"):
            raise IaasError("is required with authentication: pubkey", field="remote_id",
                            fix="give the identity in the peer's certificate, e.g. gw.site.example")
    else:
        for field in ("cacert", "cert", "key"):
            if params.get(field):
                raise IaasError("is for authentication: pubkey", field=field, fix="set authentication: pubkey, or leave it out")
    return auth


def check_dpd_delay(value):
    if not 1 <= int(value or 0) <= 300:
        raise IaasError("%s is out of range" % value, field="dpd_delay",
                        fix="give 1 to 300 seconds; 2 notices a dead peer in seconds")
    return int(value)


def check_tunnel_request(params):
    """The request's own fields, before any platform is asked: names, the peer, proposals, identities, credentials.

    What needs the platform (the vlans, the other tunnels of the gateway) is checked later.
    """
    check_name(params["name"])
    for field in ("location", "public_vlan"):
        if params.get(field):
            check_name(params[field], field=field)
    for name in params.get("vlans") or []:
        check_name(name, field="vlans")
    if params.get("peer_address"):
        ipam.parse_ip(params["peer_address"], field="peer_address")
    for i, value in enumerate(params.get("peer_subnets") or []):
        ipam.parse_subnet(value, "peer_subnets[%d]" % i)
    check_proposals(params.get("ike_proposals"), "ike")
    check_proposals(params.get("esp_proposals"), "esp")
    check_dpd_delay(params.get("dpd_delay"))
    check_id(params.get("local_id"), "local_id")
    check_id(params.get("remote_id"), "remote_id")
    check_labels(params.get("labels"))
    if params.get("state") != "absent":
        check_authentication(params)


# -- planning ---------------------------------------------------------------------
def desired_tunnel(params, vlans, tunnels, provider_name=None, current=None):
    """The tunnel the parameters ask for (no secret in it); IaasError on bad input.

    vlans: every vlan; tunnels: every other tunnel (they share the location's gateway).
    """
    check_name(params["name"])
    location = params.get("location") or (current or {}).get("location")
    check_location(location, "a tunnel")
    if current and params.get("location") and params["location"] != current["location"]:
        raise IaasError("cannot change from %s to %s: a tunnel never moves" % (current["location"], params["location"]),
                        field="location", fix="delete the tunnel and create it in the other location")
    names = params.get("vlans") if params.get("vlans") is not None else (current or {}).get("vlans")
    served = served_vlans(names, location, vlans)
    public_name = params.get("public_vlan") or (current or {}).get("public_vlan")
    public = pick_public_vlan(public_name, location, vlans)
    if current and params.get("public_vlan") and params["public_vlan"] != current["public_vlan"]:
        raise IaasError("cannot change from %s to %s" % (current["public_vlan"], params["public_vlan"]),
                        field="public_vlan", fix="delete the tunnel and create it again")
    for other in tunnels:
        if other["name"] != params["name"] and other["location"] == location and other["public_vlan"] != public["name"]:
            raise IaasError("the VPN gateway of %s faces public vlan %s (tunnel %s)"
                            % (location, other["public_vlan"], other["name"]), field="public_vlan",
                            fix="use public_vlan: %s; a location has one gateway" % other["public_vlan"])
    location_vlans = [v for v in vlans if v["location"] == location]
    peer, subnets = check_peer(params, served, location_vlans)
    for other in tunnels:
        if other["name"] == params["name"] or other["location"] != location:
            continue
        for net in subnets:
            for theirs in other["peer_subnets"]:
                if ipam.overlaps(net, theirs):
                    raise IaasError("%s overlaps %s of tunnel %s on the same gateway" % (net, theirs, other["name"]),
                                    field="peer_subnets", fix="each tunnel of a location needs its own subnets")
    ike = check_proposals(params.get("ike_proposals"), "ike")
    esp = check_proposals(params.get("esp_proposals"), "esp")
    check_dpd_delay(params.get("dpd_delay"))
    auth = check_authentication(params)
    local_id = check_id(params.get("local_id"), "local_id")
    remote_id = check_id(params.get("remote_id"), "remote_id") or peer
    return vpn_tunnel_result(
        name=params["name"], location=location, vlans=[v["name"] for v in served], public_vlan=public["name"],
        local_subnets=[str(ipam.parse_cidr(v["cidr"])) for v in served], peer_address=peer, peer_subnets=subnets,
        authentication=auth, local_id=local_id, remote_id=remote_id, ike_proposals=ike, esp_proposals=esp,
        dpd_delay=int(params["dpd_delay"]), status="configured", labels=check_labels(params.get("labels")),
        provider=provider_name,
    )


def plan_changes(current, desired):
    """{field: new value} for the fields that differ (labels and lists compared as sets)."""
    changes = {}
    for field in MUTABLE_FIELDS + ("local_subnets",):
        if desired.get(field) != current.get(field):
            changes[field] = desired[field]
    # local_id defaults on the provider side (the gateway's address or the cert's name).
    if desired.get("local_id") is None:
        changes.pop("local_id", None)
    return changes


def tunnels_on_vlan(vlan_name, tunnels):
    """The tunnels that serve a vlan: deleting it is refused while there are any."""
    return sorted(t["name"] for t in tunnels if vlan_name in t["vlans"])


STATUS_ESTABLISHED = "established"
STATUS_CONNECTING = "connecting"
STATUS_CONFIGURED = "configured"


def parse_status(name, sas_output, loaded):
    """Map ``swanctl --list-sas --ike NAME --noblock`` onto configured / connecting / established.

    ``NAME: #N, ESTABLISHED`` plus ``NAME: #N, reqid R, INSTALLED`` (the CHILD_SA)
    is established; a loaded connection without them is connecting.
    """
    if not loaded:
        return STATUS_CONFIGURED
    ike = re.search(r"^%s: #\d+, ESTABLISHED" % re.escape(name), sas_output or "", re.M)
    child = re.search(r"^\s+%s: #\d+, reqid \d+, INSTALLED" % re.escape(name), sas_output or "", re.M)
    return STATUS_ESTABLISHED if ike and child else STATUS_CONNECTING
