# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets the collection generates into files on the host that runs the module.

One way for every kind of secret (a tunnel's pre-shared key, a volume's key,
a backup repository's password): made from the operating system's CSPRNG,
written 0600 from the first byte in a 0700 directory, never reused from a file
someone else made, and refused when others can read it.
"""

from __future__ import annotations

import base64
import os

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError


def generate(nbytes=32):
    """NBYTES random bytes as base64 text."""
    return base64.b64encode(os.urandom(nbytes)).decode()


def read(path, field):
    """The secret in PATH (stripped), or None when there is no such file; IaasError naming FIELD
    when others may read it."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if st.st_mode & 0o077:
        raise IaasError("%s is readable by others (mode %o)" % (path, st.st_mode & 0o777), field=field,
                        fix="chmod 0600 %s" % path)
    with open(path) as handle:
        return handle.read().strip()


def create(path, secret, field):
    """Create PATH 0600 from the start (O_EXCL: never follow or reuse someone's file), holding SECRET."""
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise IaasError("cannot create %s: %s" % (path, exc), field=field,
                        fix="point %s at a path in a directory you can write" % field)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


def read_or_create(path, field, check_mode, nbytes=32, min_length=32):
    """(secret, generated): the secret in PATH, or a new one written there (not in check mode)."""
    secret = read(path, field)
    if secret:
        if len(secret) < min_length:
            raise IaasError("%s holds a secret of fewer than %d characters" % (path, min_length), field=field,
                            fix="remove the file to have a new one generated")
        return secret, False
    secret = generate(nbytes)
    if not check_mode:
        create(path, secret, field)
    return secret, True
