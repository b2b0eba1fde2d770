# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The access review's rows for the access role's report; documented in access_review.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.secure_cloud.iaas.plugins.module_utils.access import review_rows


def access_review(value, admin="", declared=None, today=None):
    """{host: accounts} -> rows, those needing attention first."""
    try:
        return review_rows(value, admin, declared or [], today)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("access_review: %s" % exc)


class FilterModule(object):
    """The access_review filter."""

    def filters(self):
        return dict(access_review=access_review)
