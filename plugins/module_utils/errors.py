# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type every layer raises; the module base turns it into fail_json."""

from __future__ import annotations


class IaasError(Exception):
    """A request that cannot be carried out, with the field at fault and the fix.

    ``str(err)`` is the whole message a person reads: "<field>: <what> <fix>".
    """

    def __init__(self, msg, field=None, fix=None, **details):
        super().__init__(msg)
        self.msg = msg
        self.field = field
        self.fix = fix
        self.details = details

    def __str__(self):
        text = self.msg
        if self.field:
            text = "%s: %s" % (self.field, text)
        if self.fix:
            text = "%s. Fix: %s" % (text.rstrip("."), self.fix)
        return text


class ProviderError(IaasError):
    """The platform refused or failed an operation (engine down, API error)."""
