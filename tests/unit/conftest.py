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

import json
import os
import shutil
import subprocess
import sys

import pytest

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


@pytest.fixture
def check_playbook(tmp_path):
    """Run PLAYBOOK (text) against localhost in check mode with VARIABLES as extra
    vars, through the venv's ansible-playbook; returns (rc, stdout + stderr).

    The roles' bad-input tests use it: validation comes first and only reads the
    host, and check mode keeps the host untouched even if a check let bad input by.
    """
    def run(playbook_text, variables, *options):
        playbook = tmp_path / "play.yml"
        playbook.write_text(playbook_text)
        extra = tmp_path / "vars.json"
        extra.write_text(json.dumps(variables))
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=_collections_root(),
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
            ANSIBLE_NOCOLOR="true",
            ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
            ANSIBLE_CALLBACK_RESULT_FORMAT="json",
        )
        env.pop("ANSIBLE_CONFIG", None)
        ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        if not os.path.exists(ansible_playbook):
            ansible_playbook = shutil.which("ansible-playbook")
        result = subprocess.run(
            [ansible_playbook, "-i", "localhost,", "--check"] + list(options) + ["-e", "@" + str(extra), str(playbook)],
            capture_output=True, text=True, env=env, timeout=300, check=False, cwd=str(tmp_path),
        )
        return result.returncode, result.stdout + result.stderr
    return run
