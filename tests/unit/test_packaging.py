# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Galaxy reviewer reads besides the code: galaxy.yml, meta/, the roles' meta."""

from __future__ import annotations

import ast
import glob
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Top-level import name -> the distribution meta/ee-requirements.txt must list.
DISTRIBUTIONS = {"docker": "docker", "netaddr": "netaddr", "openstack": "openstacksdk",
                 "keystoneauth1": "openstacksdk", "cryptography": "cryptography"}


def _load(path):
    with open(os.path.join(ROOT, path)) as handle:
        return yaml.safe_load(handle)


def test_every_role_asks_for_the_ansible_the_collection_requires():
    requires = _load("meta/runtime.yml")["requires_ansible"]
    lowest = re.match(r"^>=\s*([0-9.]+)", requires).group(1)
    found = dict((path.split(os.sep)[-3], _load(path)["galaxy_info"]["min_ansible_version"])
                 for path in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "main.yml")))
    assert found and set(found.values()) == {lowest}, (requires, found)


def test_galaxy_yml_invents_no_public_home():
    galaxy = _load("galaxy.yml")
    for key in ("repository", "documentation", "homepage", "issues"):
        assert key not in galaxy, "%s: the project has no public home; leave it out rather than invent one" % key


def test_the_execution_environment_lists_every_library_the_plugins_import():
    ee = _load("meta/execution-environment.yml")
    assert ee["version"] == 1
    with open(os.path.join(ROOT, ee["dependencies"]["python"])) as handle:
        listed = set(re.split(r"[<>=!~\[ ;]", line.strip())[0].lower() for line in handle
                     if line.strip() and not line.startswith("#"))
    assert os.path.exists(os.path.join(ROOT, ee["dependencies"]["system"]))
    imported = set()
    for path in glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True):
        with open(path) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("ansible", "ansible_collections", "__future__"):
                    imported.add(top)
    assert imported - set(DISTRIBUTIONS) == set(), "a new library: add it to DISTRIBUTIONS and meta/ee-requirements.txt"
    assert set(DISTRIBUTIONS[name] for name in imported) <= listed, (imported, listed)
