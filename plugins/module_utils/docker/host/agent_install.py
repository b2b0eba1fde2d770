# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Installing and starting the host agent (agent.py): called by the docker provider on every run.

The agent runs the same provider code as the modules, from a copy of the
collection's module_utils under AGENT_DIR (one directory per version of that
code, so an upgraded collection restarts it).

    python /var/lib/secure-cloud-iaas/agent/<version>/secure_cloud_iaas_agent.py \\
        --docker-host unix:///var/run/docker.sock
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import hashlib
import os
import shlex
import shutil
import signal
import sys
import time
import zipfile

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import agent
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import ProviderError

_PACKAGE = "ansible_collections.secure_cloud.iaas.plugins.module_utils"
_OURS = _PACKAGE.replace(".", "/") + "/"
# Imported here so that every docker module's payload carries the agent's code
# (the payload holds what the module imports, and the agent is copied from it).
AGENT_MODULE = agent.__name__
PROVIDER_MODULE = _PACKAGE + ".docker.provider"
LAUNCHER = "secure_cloud_iaas_agent.py"
# The agent is a program, not module code: module_utils only ever receive a
# command runner, and this launcher (written beside the code) gives the agent
# a plain subprocess one.
_LAUNCHER_TEXT = """# secure_cloud.iaas host agent (written by the docker provider; see docker/host/agent_install.py)
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from %s import main  # noqa: E402
from %s import DockerProvider  # noqa: E402


def run(argv, data=None):
    proc = subprocess.run(argv, input=data, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


sys.exit(main(sys.argv[1:], run, DockerProvider))
""" % (AGENT_MODULE, PROVIDER_MODULE)
AGENT_DIR = agent.AGENT_DIR
PIDFILE = agent.PIDFILE
LOGFILE = "/var/log/secure-cloud-iaas-agent.log"
UNIT = "secure-cloud-iaas-agent.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT


# -- installing and starting it (called by the provider) -----------------------
def _code_root():
    """The directory or zip (an AnsiballZ payload) that holds ansible_collections/."""
    here = os.path.abspath(__file__)
    return here[:here.rindex("/ansible_collections/")]


def _code_files():
    """{relative path: bytes}: the collection's module_utils the agent runs (this
    module and the docker provider and all they import) and, from a module's
    payload, the ansible.module_utils it carries (the agent's interpreter may
    have no ansible-core of its own)."""
    root = _code_root()
    if zipfile.is_zipfile(root):
        with zipfile.ZipFile(root) as payload:
            available = dict((n, payload.read(n)) for n in payload.namelist()
                             if n.endswith(".py") and n.startswith(("ansible/", _OURS)))
    else:
        available = {}
        for top, _dirs, names in os.walk(os.path.join(root, _OURS)):
            for name in sorted(n for n in names if n.endswith(".py")):
                path = os.path.join(top, name)
                with open(path, "rb") as handle:
                    available[os.path.relpath(path, root)] = handle.read()
    files = dict((n, data) for n, data in available.items() if n.startswith("ansible/"))
    files.update(closure(available, _OURS + "docker/provider.py"))
    return files


def closure(available, start):
    """{path: bytes} of START and every module of ours it imports, from AVAILABLE ({path: bytes}).

    The same closure whichever module's payload it comes from, so every module
    finds the same version running.
    """
    files = {}
    todo = [start]
    while todo:
        path = todo.pop()
        if path in files or path not in available:
            continue
        files[path] = available[path]
        for node in ast.walk(ast.parse(files[path])):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(_PACKAGE):
                base = _OURS + node.module[len(_PACKAGE):].lstrip(".").replace(".", "/")
                # "from pkg.mod import name" or "from pkg import mod".
                todo.append(base.rstrip("/") + ".py")
                todo.extend("%s/%s.py" % (base.rstrip("/"), alias.name) for alias in node.names)
    # The packages' own __init__ files come along with their modules.
    for path in list(files):
        init = path.rsplit("/", 1)[0] + "/__init__.py"
        if init in available:
            files[init] = available[init]
    return files


def _install_code():
    """AGENT_DIR/<version>/ with the code; the version is a hash of ours."""
    files = _code_files()
    digest = hashlib.sha256()
    for name in sorted(n for n in files if n.startswith(_OURS)):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    target = os.path.join(AGENT_DIR, digest.hexdigest()[:16])
    if not os.path.isdir(target):
        staging = target + ".new.%d" % os.getpid()
        for name, data in files.items():
            path = os.path.join(staging, name)
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
        with open(os.path.join(staging, LAUNCHER), "w") as handle:
            handle.write(_LAUNCHER_TEXT)
        # Plain packages down to ours, whatever the payload held.
        parts = _OURS.rstrip("/").split("/")
        for depth in range(1, len(parts) + 1):
            init = os.path.join(staging, *parts[:depth]) + "/__init__.py"
            if not os.path.exists(init):
                open(init, "w").close()
        os.rename(staging, target)
    return target


@contextlib.contextmanager
def _locked():
    os.makedirs(AGENT_DIR, mode=0o700, exist_ok=True)
    with open(os.path.join(AGENT_DIR, ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def running_pid(code_dir=None):
    """The agent's PID, when it runs (from CODE_DIR, if given); else None."""
    try:
        with open(PIDFILE) as handle:
            pid = int(handle.read().split()[0])
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            argv = handle.read().decode("utf-8", "replace").split("\0")
    except (OSError, ValueError, IndexError):
        return None
    launchers = [a for a in argv if a.endswith("/" + LAUNCHER)]
    if not launchers or (code_dir and launchers[0] != os.path.join(code_dir, LAUNCHER)):
        return None
    return pid


def _unit_text(argv):
    return """[Unit]
Description=secure_cloud.iaas host agent: guests boot confined, vlan isolation and vip guard stay on
After=docker.service
Wants=docker.service

[Service]
ExecStart=%s
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
""" % " ".join(shlex.quote(a) for a in argv)


def ensure_running(run, docker_host):
    """Start the agent for this engine unless the same version already runs. True when started.

    run: the module's command runner, run(argv, data=None) -> (rc, stdout, stderr).
    """
    if os.geteuid() != 0:
        raise ProviderError("the docker provider confines its guests from the Docker host and needs root there",
                            field="docker_host", fix="run the task as root on the Docker host (become: true)")
    with _locked():
        code_dir = _install_code()
        if running_pid(code_dir):
            return False
        argv = [sys.executable, os.path.join(code_dir, LAUNCHER), "--docker-host", docker_host]
        if os.path.isdir("/run/systemd/system"):
            # Untested here (these hosts do not boot systemd): the unit brings
            # the agent back after a reboot and restarts it if it dies.
            with open(UNIT_PATH, "w") as handle:
                handle.write(_unit_text(argv))
            commands = [["systemctl", "daemon-reload"], ["systemctl", "enable", "--quiet", UNIT],
                        ["systemctl", "restart", UNIT]]
        else:
            old = running_pid()
            if old:
                os.kill(old, signal.SIGTERM)
            # setsid -f: detached from the module, which returns at once.
            detached = "exec %s >>%s 2>&1 </dev/null" % (" ".join(shlex.quote(a) for a in argv), LOGFILE)
            commands = [["setsid", "-f", "/bin/sh", "-c", detached]]
        for cmd in commands:
            rc, out, err = run(cmd)
            if rc != 0:
                raise ProviderError("could not start the host agent (%s): %s" % (" ".join(cmd[:2]), (err or out).strip()),
                                    field="docker_host", fix="see %s (or journalctl -u %s)" % (LOGFILE, UNIT))
        deadline = time.monotonic() + 10
        while not running_pid(code_dir):
            if time.monotonic() > deadline:
                raise ProviderError("the host agent did not start", field="docker_host",
                                    fix="see %s (or journalctl -u %s)" % (LOGFILE, UNIT))
            time.sleep(0.05)
    _prune(code_dir)
    return True


def _prune(keep):
    """Older versions of the code go once a newer one runs."""
    for name in os.listdir(AGENT_DIR):
        path = os.path.join(AGENT_DIR, name)
        if os.path.isdir(path) and path != keep and not name.startswith("."):
            shutil.rmtree(path, ignore_errors=True)
