# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Name and label rules shared by every resource kind."""

from __future__ import annotations

import re

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError

# Names become parts of platform object names (Docker networks, containers,
# hostnames), so they follow DNS label rules.
NAME_RE = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
LABEL_KEY_RE = re.compile(r"^[a-z0-9]([a-z0-9_.-]{0,62})$")
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def check_name(value, field="name"):
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise IaasError("%r is not a legal name" % (value,), field=field,
                        fix="use 1 to 40 lower-case letters, digits and hyphens, starting with a letter "
                            "and not ending with a hyphen (e.g. web-1)")
    return value


def check_location(location, kind):
    """The location a new KIND ('an instance', 'a vlan', ...) is made in: given and a legal name."""
    if not location:
        raise IaasError("is required to create %s" % kind, field="location",
                        fix="name the data center, e.g. location: fra1")
    return check_name(location, field="location")


def check_labels(labels, field="labels"):
    labels = labels or {}
    out = {}
    for key, value in labels.items():
        if not LABEL_KEY_RE.match(str(key)):
            raise IaasError("label key %r is not legal" % (key,), field=field,
                            fix="use lower-case letters, digits, '.', '_' and '-' (at most 63), e.g. tier")
        if value is None or isinstance(value, (dict, list)):
            raise IaasError("label %r must have a string value" % (key,), field=field,
                            fix="give a string, e.g. %s: web" % key)
        out[str(key)] = str(value)
    return out


def labels_match(have, want):
    """Every wanted label is present with the same value."""
    have = have or {}
    return all(have.get(k) == v for k, v in (want or {}).items())


def filter_resources(resources, name=None, location=None, labels=None):
    """The _info modules' filter: by name, location and labels; a list, maybe empty."""
    out = []
    for res in resources:
        if name and res.get("name") != name:
            continue
        if location and res.get("location") != location:
            continue
        if not labels_match(res.get("labels"), labels):
            continue
        out.append(res)
    return sorted(out, key=lambda r: r.get("name") or "")
