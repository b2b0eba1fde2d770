# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IKE and ESP proposals: the strong defaults, the algorithms known, and the one
list of weak ones refused by the vpn_tunnel module and the ipsec_gateway role alike."""

from __future__ import annotations

# The defaults of vpn_tunnel's ike_proposals/esp_proposals and of the role's
# ipsec_gateway_ike_proposals/ipsec_gateway_esp_proposals (a unit test holds the
# role's defaults/main.yml to these).
DEFAULT_IKE_PROPOSALS = ["aes256gcm16-prfsha384-ecp384", "aes256gcm16-prfsha384-x25519"]
DEFAULT_ESP_PROPOSALS = ["aes256gcm16-ecp384", "aes256gcm16-x25519"]
EXAMPLE = {"ike": "aes256gcm16-prfsha384-ecp384", "esp": "aes256gcm16-ecp384"}

WEAK = frozenset([
    "des", "3des", "cast128", "blowfish", "blowfish128", "blowfish192", "blowfish256",
    "null", "md5", "md5_128", "sha1", "sha", "sha1_160", "sha256_96", "sha2_256_96",
    "prfmd5", "prfsha1", "modp768", "modp1024", "modp1536", "modp1024s160",
    "modp2048s224", "modp2048s256", "ecp192", "ecp224", "ecp224bp",
    "aes128gcm8", "aes192gcm8", "aes256gcm8", "aes128ccm8", "aes192ccm8", "aes256ccm8"])
ENC = frozenset(["aes128", "aes192", "aes256", "aes128ctr", "aes192ctr", "aes256ctr",
                 "camellia128", "camellia192", "camellia256"])
AEAD = frozenset(["aes128gcm16", "aes192gcm16", "aes256gcm16", "aes128gcm", "aes192gcm", "aes256gcm",
                  "aes128gcm12", "aes192gcm12", "aes256gcm12", "aes128ccm16", "aes192ccm16", "aes256ccm16",
                  "aes128ccm12", "aes192ccm12", "aes256ccm12", "chacha20poly1305"])
INTEG = frozenset(["sha256", "sha384", "sha512", "sha2_256", "sha2_384", "sha2_512"])
PRF = frozenset(["prfsha256", "prfsha384", "prfsha512"])
DH = frozenset(["ecp256", "ecp384", "ecp521", "ecp256bp", "ecp384bp", "ecp512bp", "x25519", "curve25519",
                "x448", "curve448", "modp2048", "modp3072", "modp4096", "modp6144", "modp8192"])
ESN = frozenset(["esn", "noesn"])
KINDS = ("ike", "esp")


def normalize(proposal):
    """A proposal as strongSwan reads it: trimmed, lower case."""
    return str(proposal or "").strip().lower()


def refusal(proposal, kind):
    """Why one proposal is refused, as (problem, fix), or None when it is acceptable.

    kind: 'ike' or 'esp'. problem reads after the proposal ("uses weak algorithm(s) sha1").
    """
    if kind not in KINDS:
        raise ValueError("kind must be ike or esp, not %r" % (kind,))
    example = EXAMPLE[kind]
    algs = normalize(proposal).split("-")
    weak = [a for a in algs if a in WEAK]
    if weak:
        return ("uses weak algorithm(s) %s" % ", ".join(weak),
                "use AES-GCM (or AES with SHA-2) and ECP-256 or stronger, e.g. %s" % example)
    known = ENC | AEAD | INTEG | DH | (PRF if kind == "ike" else ESN)
    unknown = [a or "(empty)" for a in algs if a not in known]
    has_aead = any(a in AEAD for a in algs)
    has_enc = any(a in ENC for a in algs)
    problem = None
    if unknown:
        problem = "unknown algorithm(s) %s" % ", ".join(unknown)
    elif not has_aead and not has_enc:
        problem = "it has no encryption algorithm"
    elif has_aead and has_enc:
        problem = "it mixes AEAD (GCM, CCM, ChaCha20-Poly1305) and non-AEAD ciphers"
    elif has_enc and not any(a in INTEG for a in algs):
        problem = "a non-AEAD cipher needs an integrity algorithm such as sha256"
    elif kind == "ike" and not any(a in DH for a in algs):
        problem = "an IKE proposal needs a key exchange group such as ecp384"
    elif kind == "ike" and has_aead and not any(a in PRF or a in INTEG for a in algs):
        problem = "an AEAD IKE proposal needs a PRF such as prfsha384"
    if problem:
        return "is malformed: %s" % problem, "write algorithms joined by -, e.g. %s" % example
    return None


def refusals(proposals, kind):
    """[(proposal, problem, fix)] for every refused entry of a list, in order."""
    out = []
    for proposal in proposals or []:
        found = refusal(proposal, kind)
        if found:
            out.append((proposal,) + found)
    return out
