# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A test CA and two ECDSA P-384 certificates: the data center's gateway and the customer's.

Usage: python make_pki.py DIR DC_ID SITE_ID. Keys are written 0600; existing files are kept.
"""

from __future__ import annotations

import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _cert(subject, key, issuer, issuer_key, ca, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA384())


def main(directory, dc_id, site_id):
    if os.path.exists(os.path.join(directory, "ca.pem")):
        return
    os.makedirs(directory, mode=0o700, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca = _cert("secure_cloud test CA", ca_key, "secure_cloud test CA", ca_key, True)
    _write(os.path.join(directory, "ca.pem"), ca.public_bytes(serialization.Encoding.PEM), 0o644)
    for stem, ident in (("dc", dc_id), ("site", site_id)):
        key = ec.generate_private_key(ec.SECP384R1())
        cert = _cert(ident, key, "secure_cloud test CA", ca_key, False, san=ident)
        _write(os.path.join(directory, stem + ".pem"), cert.public_bytes(serialization.Encoding.PEM), 0o644)
        _write(os.path.join(directory, stem + ".key"), key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600)


if __name__ == "__main__":
    main(*sys.argv[1:4])
