"""Checks, on the controller, that a private key matches its certificate and
that the certificate is issued by the given CA. Runs with the controller's
Python, which always has the cryptography package (ansible-core needs it).

usage: keypair_check.py CACERT CERT KEY
Prints one line saying what is wrong and exits 1, or exits 0. Never prints key
material.
"""
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization


def load(path, what, loader):
    try:
        with open(path, "rb") as handle:
            return loader(handle.read())
    except (OSError, ValueError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not PEM, or an encrypted key"
        raise SystemExit(f"{what} {path} cannot be read: {reason}") from None


def public_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def main(argv):
    if len(argv) != 4:
        raise SystemExit("usage: keypair_check.py CACERT CERT KEY")
    cacert = load(argv[1], "cacert", x509.load_pem_x509_certificate)
    cert = load(argv[2], "cert", x509.load_pem_x509_certificate)
    key = load(argv[3], "key", lambda data: serialization.load_pem_private_key(data, password=None))
    if public_der(cert.public_key()) != public_der(key.public_key()):
        raise SystemExit(f"key {argv[3]} does not match cert {argv[2]}: give the private key the certificate was issued for")
    try:
        cert.verify_directly_issued_by(cacert)
    except (ValueError, TypeError, InvalidSignature):
        raise SystemExit(f"cert {argv[2]} is not issued by cacert {argv[1]}: give the CA that signed it") from None
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
