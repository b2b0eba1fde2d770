# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's strongSwan-style proposals as Neutron VPNaaS policy fields, and back (pure, no I/O).

Neutron holds one proposal per policy: the first proposal of each list is
used and the others are reported; anything Neutron cannot express fails
naming the field, before any write.
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.ipsec.proposals import AEAD, DH, ENC, ESN, INTEG, PRF

# Neutron's default SA lifetime, for IKE and IPsec (IKEv2 does not negotiate it).
LIFETIME = 3600

# strongSwan cipher -> Neutron encryption_algorithm (aes256gcm is strongSwan's alias of aes256gcm16).
ENCRYPTION = {"aes128": "aes-128", "aes192": "aes-192", "aes256": "aes-256",
              "aes128ctr": "aes-128-ctr", "aes192ctr": "aes-192-ctr", "aes256ctr": "aes-256-ctr"}
for _bits in ("128", "192", "256"):
    ENCRYPTION["aes%sgcm" % _bits] = "aes-%s-gcm-16" % _bits
    for _icv in ("12", "16"):
        ENCRYPTION["aes%sgcm%s" % (_bits, _icv)] = "aes-%s-gcm-%s" % (_bits, _icv)
        ENCRYPTION["aes%sccm%s" % (_bits, _icv)] = "aes-%s-ccm-%s" % (_bits, _icv)
# strongSwan integrity or PRF -> Neutron auth_algorithm (one hash for both).
HASH = {"sha256": "sha256", "sha2_256": "sha256", "prfsha256": "sha256",
        "sha384": "sha384", "sha2_384": "sha384", "prfsha384": "sha384",
        "sha512": "sha512", "sha2_512": "sha512", "prfsha512": "sha512"}
# strongSwan key exchange -> Neutron pfs (the IANA group numbers).
GROUP = {"modp2048": "group14", "modp3072": "group15", "modp4096": "group16", "modp6144": "group17",
         "modp8192": "group18", "ecp256": "group19", "ecp384": "group20", "ecp521": "group21",
         "ecp256bp": "group28", "ecp384bp": "group29", "ecp512bp": "group30",
         "x25519": "group31", "curve25519": "group31"}
# The way back, in the canonical spelling the module reports.
CANONICAL_ENCRYPTION = dict((v, k) for k, v in ENCRYPTION.items() if not k.endswith("gcm"))
CANONICAL_GROUP = dict((v, k) for k, v in GROUP.items() if k != "curve25519")
NEUTRON_AEAD = frozenset(v for k, v in ENCRYPTION.items() if k in AEAD)
# Sent as auth_algorithm of an IPsec policy with an AEAD cipher: Neutron needs
# one, strongSwan drops integrity algorithms next to an AEAD cipher in ESP.
AEAD_ESP_AUTH = "sha256"


def map_proposal(entry, kind, index=0):
    """One checked proposal (vpn_tunnel.check_proposals) -> Neutron policy fields, or IaasError.

    kind: 'ike' or 'esp'. Returns {encryption_algorithm, auth_algorithm, pfs}.
    """
    field = "%s_proposals[%d]" % (kind, index)
    algs = str(entry).lower().split("-")
    ciphers = [a for a in algs if a in ENC or a in AEAD]
    hashes = [a for a in algs if a in INTEG or a in PRF]
    groups = [a for a in algs if a in DH]
    example = "aes256gcm16-prfsha384-ecp384" if kind == "ike" else "aes256gcm16-ecp384"
    if len(ciphers) != 1:
        raise IaasError("%r lists %d ciphers (%s): a Neutron policy holds one encryption_algorithm"
                        % (entry, len(ciphers), ", ".join(ciphers)), field=field,
                        fix="give one cipher per proposal, e.g. %s" % example)
    encryption = ENCRYPTION.get(ciphers[0])
    if encryption is None:
        raise IaasError("Neutron VPNaaS has no encryption_algorithm for %s (%r)" % (ciphers[0], entry), field=field,
                        fix="use AES-GCM (e.g. %s) or AES with SHA-2; for other ciphers run the VPN gateway on an "
                            "instance (secure_cloud.iaas.ipsec_gateway role)" % example)
    neutron_hashes = sorted(set(HASH[a] for a in hashes))
    if len(neutron_hashes) > 1:
        raise IaasError("%r names %s: a Neutron policy has one auth_algorithm for integrity and PRF"
                        % (entry, " and ".join(neutron_hashes)), field=field,
                        fix="use one hash in the proposal, e.g. %s" % example)
    if neutron_hashes:
        auth = neutron_hashes[0]
    elif kind == "esp" and encryption in NEUTRON_AEAD:
        auth = AEAD_ESP_AUTH
    else:  # check_proposals refuses this already
        raise IaasError("%r has no integrity algorithm" % (entry,), field=field, fix="add one, e.g. %s" % example)
    if len(groups) > 1:
        raise IaasError("%r lists %d key exchange groups: a Neutron policy holds one pfs group" % (entry, len(groups)),
                        field=field, fix="give one group per proposal, e.g. %s" % example)
    if not groups:
        raise IaasError("%r has no key exchange group: Neutron's %s policy always uses one (pfs)"
                        % (entry, "IKE" if kind == "ike" else "IPsec"), field=field,
                        fix="add one, e.g. %s-ecp384" % entry)
    pfs = GROUP.get(groups[0])
    if pfs is None:
        raise IaasError("Neutron VPNaaS has no pfs group for %s (%r)" % (groups[0], entry), field=field,
                        fix="use ecp384 (group20), ecp256 (group19), x25519 (group31) or modp3072 (group15)")
    if "esn" in algs:
        raise IaasError("Neutron VPNaaS cannot ask for extended sequence numbers (esn in %r)" % (entry,),
                        field=field, fix="leave esn out (Neutron's drivers use noesn)")
    unknown = [a for a in algs if a not in ciphers and a not in hashes and a not in groups and a not in ESN]
    if unknown:
        raise IaasError("%r has %s, which Neutron VPNaaS cannot express" % (entry, ", ".join(unknown)), field=field,
                        fix="use e.g. %s" % example)
    return dict(encryption_algorithm=encryption, auth_algorithm=auth, pfs=pfs)


def proposal_name(attrs, kind):
    """Neutron policy fields -> the proposal in the module's canonical spelling."""
    neutron_enc = attrs.get("encryption_algorithm")
    enc = CANONICAL_ENCRYPTION.get(neutron_enc, neutron_enc)
    auth = attrs.get("auth_algorithm")
    group = CANONICAL_GROUP.get(attrs.get("pfs"), attrs.get("pfs"))
    if neutron_enc in NEUTRON_AEAD:
        parts = [enc, "prf" + str(auth), group] if kind == "ike" else [enc, group]
    else:
        parts = [enc, auth, group]
    return "-".join(str(p) for p in parts)


def neutron_policies(tunnel):
    """(ike policy fields, ipsec policy fields, [note]) for a tunnel; IaasError when one cannot be expressed.

    Neutron offers one proposal per policy: the first of each list is used,
    the others are named in the notes.
    """
    if tunnel.get("authentication", "psk") != "psk":
        raise IaasError("Neutron VPNaaS authenticates only with a pre-shared key", field="authentication",
                        fix="use authentication: psk, or run the VPN gateway on an instance "
                            "(secure_cloud.iaas.ipsec_gateway role) for certificates")
    out, notes = [], []
    for kind in ("ike", "esp"):
        proposals = tunnel["%s_proposals" % kind]
        attrs = map_proposal(proposals[0], kind, 0)
        lifetime = dict(units="seconds", value=LIFETIME)
        if kind == "ike":
            attrs.update(ike_version="v2", phase1_negotiation_mode="main", lifetime=lifetime)
        else:
            attrs.update(transform_protocol="esp", encapsulation_mode="tunnel", lifetime=lifetime)
        out.append(attrs)
        if len(proposals) > 1:
            notes.append("%s_proposals: Neutron VPNaaS offers one proposal per policy: the tunnel uses %s and "
                         "not %s" % (kind, proposal_name(attrs, kind), ", ".join(proposals[1:])))
    return out[0], out[1], notes
