# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image provenance: a detached SSH signature over the pinned image digest.

The signed message is the digest string itself (``sha256:<64 hex>`` or
``sha512:<128 hex>``, no newline), signed in the namespace ``secure-cloud-iaas-image``:

    printf %s sha256:... | ssh-keygen -Y sign -f image_signing_key -n secure-cloud-iaas-image > image.sig

It is checked with ``ssh-keygen -Y verify`` against the one public key the
user configured, through the module's run_command.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError

NAMESPACE = "secure-cloud-iaas-image"
PRINCIPAL = "secure-cloud-iaas-image-signer"
PUBLIC_KEY_RE = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
                           r"sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$")
SIGNATURE_HEADER = "-----BEGIN SSH SIGNATURE-----"


def _public_key(value):
    """The key line from O(image_signing_key): the key itself or a file that holds it."""
    text = (value or "").strip()
    if not PUBLIC_KEY_RE.match(text) and os.path.isfile(os.path.expanduser(text)):
        with open(os.path.expanduser(text)) as handle:
            text = handle.read().strip()
    if "\n" in text or not PUBLIC_KEY_RE.match(text):
        raise IaasError("is not one OpenSSH public key (nor a file holding one)", field="image_signing_key",
                        fix="give the signer's public key line, e.g. the content of signer.pub (ssh-ed25519 AAAA...)")
    return text


def check_params(params):
    """Refuse an incomplete provenance request before anything is looked up."""
    signature, key = params.get("image_signature"), params.get("image_signing_key")
    if signature and not key:
        raise IaasError("a signature is given but no key to check it against", field="image_signing_key",
                        fix="give the signer's public key (image_signing_key)")
    if key and not signature:
        raise IaasError("is missing: image_signing_key requires every image to carry a signature over its digest",
                        field="image_signature",
                        fix="sign the digest (printf %%s DIGEST | ssh-keygen -Y sign -f KEY -n %s > image.sig) "
                            "and give that file" % NAMESPACE)
    if key and not params.get("image_digest"):
        raise IaasError("is required when the image must be signed: the signature covers the digest",
                        field="image_digest", fix="pin the image digest the signature was made over")


def verify(params, run_command):
    """Check O(image_signature) over O(image_digest); no-op when no signing key is configured.

    run_command(argv, data=None) -> (rc, out, err). Raises IaasError naming the field.
    """
    check_params(params)
    key = params.get("image_signing_key")
    if not key:
        return
    key = _public_key(key)
    signature = os.path.expanduser(params["image_signature"])
    if not os.path.isfile(signature):
        raise IaasError("%s does not exist" % signature, field="image_signature",
                        fix="give the path of the detached signature file (ssh-keygen -Y sign output)")
    with open(signature) as handle:
        if not handle.read(len(SIGNATURE_HEADER)) == SIGNATURE_HEADER:
            raise IaasError("%s is not an SSH signature" % signature, field="image_signature",
                            fix="sign with ssh-keygen -Y sign -n %s" % NAMESPACE)
    workdir = tempfile.mkdtemp(prefix="sciaas-provenance-")
    try:
        allowed = os.path.join(workdir, "allowed_signers")
        with open(allowed, "w") as handle:
            handle.write('%s namespaces="%s" %s\n' % (PRINCIPAL, NAMESPACE, key))
        rc, out, err = run_command(["ssh-keygen", "-Y", "verify", "-f", allowed, "-I", PRINCIPAL,
                                    "-n", NAMESPACE, "-s", signature], data=params["image_digest"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if rc != 0:
        detail = (err or out or "").strip().splitlines()
        raise IaasError("does not verify image digest %s against image_signing_key (%s)"
                        % (params["image_digest"], detail[-1] if detail else "ssh-keygen exit %d" % rc),
                        field="image_signature",
                        fix="use the signature made over this exact digest with the configured key, "
                            "or pin the digest that was signed")


def public_key_of(private_key, run_command):
    """The public key line of O(image_signing_private_key) (which must have no passphrase)."""
    path = os.path.expanduser(private_key)
    if not os.path.isfile(path):
        raise IaasError("%s does not exist on the host that runs the module" % path, field="image_signing_private_key",
                        fix="give the path of the signer's OpenSSH private key (ssh-keygen -t ed25519 -f signer)")
    rc, out, err = run_command(["ssh-keygen", "-y", "-P", "", "-f", path])
    text = out.decode() if isinstance(out, bytes) else (out or "")
    if rc != 0 or not PUBLIC_KEY_RE.match(text.strip()):
        raise IaasError("%s is not an OpenSSH private key without a passphrase" % path, field="image_signing_private_key",
                        fix="give an unencrypted OpenSSH private key readable only by its owner (chmod 0600), "
                            "or sign elsewhere and give only image_signature and image_signing_key")
    return text.strip()


def sign(digest, private_key, signature_path, run_command):
    """Write a detached signature over DIGEST, made with PRIVATE_KEY, to SIGNATURE_PATH (what verify() checks)."""
    path = os.path.expanduser(private_key)
    rc, out, err = run_command(["ssh-keygen", "-q", "-Y", "sign", "-f", path, "-n", NAMESPACE], data=digest)
    text = out.decode() if isinstance(out, bytes) else (out or "")
    if rc != 0 or SIGNATURE_HEADER not in text:
        detail = (err.decode() if isinstance(err, bytes) else (err or "")).strip().splitlines()
        raise IaasError("could not sign %s (%s)" % (digest, detail[-1] if detail else "ssh-keygen exit %d" % rc),
                        field="image_signing_private_key",
                        fix="give an unencrypted OpenSSH private key readable only by its owner (chmod 0600)")
    target = os.path.expanduser(signature_path)
    directory = os.path.dirname(os.path.abspath(target))
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".sciaas-signature-")
    with os.fdopen(handle, "w") as out_file:
        out_file.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, target)
