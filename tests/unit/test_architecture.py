# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layering docs/architecture.md describes, held by the code.

Each rule here fails on the change that would break it: a module calling a
provider method the contract lacks, a planner importing a platform, an import
hidden in a function, a picture that no longer matches the imports.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.provider import DockerProvider
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import OpenStackProvider
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import Provider

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGINS = os.path.join(ROOT, "plugins")


def _sources(*parts):
    top = os.path.join(PLUGINS, *parts)
    for here, _dirs, names in os.walk(top):
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(here, name)
                with open(path) as handle:
                    yield os.path.relpath(path, ROOT), handle.read()


def test_modules_and_plugins_call_only_what_the_contract_declares():
    called = set()
    for _path, text in list(_sources("modules")) + list(_sources("inventory")) + [
            ("resource", open(os.path.join(PLUGINS, "module_utils", "resource.py")).read())]:
        called.update(re.findall(r"\bprovider\.([a-z_]+)\(", text))
    assert called, "the scan found no provider call at all"
    missing = sorted(name for name in called if not hasattr(Provider, name))
    assert missing == []
    # And the contract is abstract where a provider must say something.
    assert {"create_vip", "update_vip", "delete_vip", "capabilities", "list_vips"} <= Provider.__abstractmethods__


def test_planners_and_modules_import_no_platform():
    platform = re.compile(r"^\s*(from|import) (docker|openstack|keystoneauth1)\b|module_utils\.(docker|openstack)\b", re.M)
    for path, text in list(_sources("module_utils", "model")) + list(_sources("modules")):
        assert not platform.search(text), path


def test_no_import_hides_in_a_function():
    # The one exception: get_provider imports only the provider asked for
    # (importing the other's SDK would cost every module run 0.2 s).
    allowed = {("plugins/module_utils/provider.py", "get_provider")}
    found = []
    for path, text in _sources():
        for func in ast.walk(ast.parse(text)):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(func):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and (path, func.name) not in allowed:
                        found.append("%s:%d in %s" % (path, node.lineno, func.name))
    assert found == []


def test_a_provider_exposes_the_contract_and_nothing_else_public():
    for cls in (DockerProvider, OpenStackProvider):
        assert not cls.__abstractmethods__
        public = set(n for n, v in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_"))
        extra = public - set(dir(Provider))
        # What the docker package's own host agent calls besides the contract.
        assert extra <= {"instances_changed", "ensure_isolation"}, (cls.__name__, sorted(extra))


def test_the_picture_in_docs_is_the_code():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "architecture_graph.py")],
                         capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(ROOT, "docs", "architecture.md")) as handle:
        assert out in handle.read(), "run: python scripts/architecture_graph.py --write docs/architecture.md"
