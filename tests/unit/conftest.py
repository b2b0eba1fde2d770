# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.secure_cloud.iaas`` importable for a plain ``pytest``.

ansible-test sets the path up itself; ``python -m pytest tests/unit`` from the
checkout finds the collection through the ``.collections`` tree that
``make setup`` links (or the ``ansible_collections`` directory the checkout
sits in).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(_HERE))


def _collections_root():
    parts = _ROOT.split(os.sep)
    if len(parts) >= 3 and parts[-3] == "ansible_collections":
        return os.sep.join(parts[:-3])
    return os.path.join(_ROOT, ".collections")


try:
    import ansible_collections.secure_cloud.iaas  # noqa: F401  pylint: disable=unused-import
except ImportError:
    sys.path.insert(0, _collections_root())
