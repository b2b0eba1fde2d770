# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker engine as the other drivers of this provider use it.

One client, one way to call the API (errors become ProviderError), the names
and labels of every object the provider makes, commands and files inside a
container, and the one way to make a guest container (instances and VPN
gateways alike; the policy itself is guest.py's). Only this package imports
the docker SDK.
"""

from __future__ import annotations

import io
import tarfile
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils import poll
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import DEFAULT_DOCKER_HOST

try:
    import docker
    from docker import errors as docker_errors
    HAS_DOCKER = True
except ImportError:
    HAS_DOCKER = False

PREFIX = "secure_cloud.iaas."
MANAGED = PREFIX + "managed"
KIND_LABEL = PREFIX + "kind"
USER_LABEL = PREFIX + "label."
NETWORK_PREFIX = "sciaas-vlan-"
CONTAINER_PREFIX = "sciaas-"


def network_name(vlan_name):
    return NETWORK_PREFIX + vlan_name


def container_name(instance_name):
    return CONTAINER_PREFIX + instance_name


def bridge_name(net):
    """The host's bridge interface of a Docker network: the one it was given, else the engine's default name."""
    return (net.attrs.get("Options") or {}).get("com.docker.network.bridge.name") or "br-" + net.id[:12]


def user_labels(labels):
    """The user's labels among a Docker object's labels."""
    return dict((k[len(USER_LABEL):], v) for k, v in (labels or {}).items() if k.startswith(USER_LABEL))


def labels_of(container):
    return container.attrs["Config"].get("Labels") or {}


def tar_of(info, data):
    """A tar archive holding one file (INFO, DATA), as put_archive takes it."""
    info.size = len(data)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Engine(object):
    """A connected Docker engine."""

    def __init__(self, docker_host, timeout):
        if not HAS_DOCKER:
            raise IaasError("the docker Python SDK is missing on the host that runs the module",
                            field="provider",
                            fix="install the docker Python SDK there (pip install 'docker>=7'), or use another provider")
        self.docker_host = docker_host or DEFAULT_DOCKER_HOST
        try:
            self.client = docker.DockerClient(base_url=self.docker_host, timeout=timeout or 60)
            self.client.ping()
        except Exception as exc:  # pylint: disable=broad-except
            raise ProviderError("no Docker engine answers at %s (%s)" % (self.docker_host, exc), field="docker_host",
                                fix="start the Docker engine on that host (systemctl start docker; on Debian apt-get install docker.io first), "
                                    "or point docker_host / DOCKER_HOST at one that runs")

    def api(self, what, func, *args, **kwargs):
        """FUNC(*ARGS, **KWARGS); the engine's refusal becomes a ProviderError saying WHAT failed."""
        try:
            return func(*args, **kwargs)
        except docker_errors.APIError as exc:
            raise ProviderError("Docker refused to %s: %s" % (what, exc.explanation or exc))

    def is_local(self):
        """The engine runs on this host (its bridges and namespaces are ours to reach)."""
        return self.docker_host.startswith("unix://")

    # -- containers ------------------------------------------------------------
    def containers(self, kind, running_only=False):
        """The collection's containers of KIND. ignore_removed: parallel tasks remove
        containers between the listing and the inspection of each; those are gone, not an error."""
        return self.api("list containers", self.client.containers.list, all=not running_only, ignore_removed=True,
                        filters={"label": [MANAGED + "=true", KIND_LABEL + "=" + kind]})

    def find(self, name_or_id):
        """The container, or None when there is none."""
        try:
            return self.client.containers.get(name_or_id)
        except docker_errors.NotFound:
            return None

    def find_network(self, name_or_id):
        """The network, or None when there is none."""
        try:
            return self.client.networks.get(name_or_id)
        except docker_errors.NotFound:
            return None

    def get(self, name_or_id):
        return self.api("inspect container %s" % name_or_id, self.client.containers.get, name_or_id)

    def remove_quietly(self, container, name):
        """Remove our container (CONTAINER, or the one named NAME) on the way out of a failure."""
        try:
            target = container or self.client.containers.get(name)
            if labels_of(target).get(MANAGED) == "true":
                target.remove(force=True, v=True)
        except Exception:  # pylint: disable=broad-except
            pass

    def create_guest(self, name, image, labels, memory_bytes, networks, capabilities, devices=(), **options):
        """The one way this provider makes a guest container: confined as guest.py says, attached to
        NETWORKS ([(network name, ip)], the first one at creation) before its first start, started.

        It waits at its entrypoint until boot() (the host's half). On any error
        nothing of it is left.
        """
        labels = dict(labels, **{guest.GUEST_LABEL: "true"})
        first_net, first_ip = networks[0]
        container = None
        try:
            container = self.api(
                "create container %s" % name, self.client.containers.create, image, name=name, detach=True,
                labels=labels, restart_policy={"Name": "unless-stopped"},
                network=first_net,
                networking_config={first_net: self.client.api.create_endpoint_config(ipv4_address=first_ip)},
                **dict(guest.create_options(memory_bytes, capabilities, devices=devices), **options))
            # Every network is attached before the first start, so the guest
            # boots with all its interfaces and addresses.
            for net, ip in networks[1:]:
                self.api("attach %s to %s" % (name, net), self.client.api.connect_container_to_network,
                         container.id, net, ipv4_address=ip)
            self.api("start %s" % name, container.start)
        except BaseException:
            self.remove_quietly(container, name)
            raise
        return container

    def boot(self, container, mounts=()):
        """The host's half of a guest's boot (guest.prepare, MOUNTS: its volumes): it waits at its
        entrypoint until then."""
        container.reload()
        pid = container.attrs["State"].get("Pid")
        if not pid or not container.attrs["State"].get("Running"):
            raise ProviderError("%s is not running, so it cannot boot (exit code %s)"
                                % (container.name, container.attrs["State"].get("ExitCode")),
                                fix="look at docker logs %s" % container.name)
        # A remote engine's guests are prepared by the agent on that host.
        if self.is_local():
            guest.prepare(pid, container.name, mounts)

    def wait_running(self, container, timeout):
        """Until systemd reports running or degraded; a guest that stops, or a timeout, fails loudly."""
        def state():
            container.reload()
            if not container.attrs["State"].get("Running"):
                raise ProviderError("container %s stopped while booting (exit code %s)"
                                    % (container.name, container.attrs["State"].get("ExitCode")),
                                    fix="look at docker logs %s" % container.name)
            return (container.exec_run(["systemctl", "is-system-running"]).output or b"").decode("utf-8", "replace").strip()

        def failure(last):
            fix = "raise wait_timeout, or see docker exec %s systemctl --failed" % container.name
            if not self.is_local():
                fix = "start the host agent on the engine's host (any docker provider module run there starts it), or " + fix
            return ProviderError("%s did not finish booting within wait_timeout=%ss (systemd says %r)"
                                 % (container.name, timeout, last or "unknown"), field="wait_timeout", fix=fix)
        return poll.until(state, lambda s: s in ("running", "degraded"), timeout, failure, interval=0.25)

    # -- inside a container ------------------------------------------------------
    def exec_status(self, container, cmd, environment=None, what="run a command"):
        """(exit code, output) of CMD in the container."""
        result = self.api(what, container.exec_run, cmd, environment=environment, demux=False)
        return result.exit_code, (result.output or b"").decode("utf-8", "replace").strip()

    def exec(self, container, cmd, environment=None, what="run a command"):
        """The output of CMD in the container; a non-zero exit is a ProviderError."""
        exit_code, output = self.exec_status(container, cmd, environment, what)
        if exit_code != 0:
            raise ProviderError("could not %s in %s (exit %s): %s" % (what, container.name, exit_code, output))
        return output

    def put_file(self, container, path, text, mode):
        """Write a root-owned file through the archive API: its content never appears on a command line."""
        data = text.encode() if isinstance(text, str) else text
        info = tarfile.TarInfo(name=path.rsplit("/", 1)[1])
        info.mode, info.mtime, info.uid, info.gid = mode, int(time.time()), 0, 0
        self.api("write %s" % path, container.put_archive, path.rsplit("/", 1)[0], tar_of(info, data))

    def read_file(self, container, path):
        """(tar member info, bytes) of a file in the container, or None when it cannot be read."""
        try:
            data = b"".join(container.get_archive(path)[0])
        except docker_errors.APIError:
            return None
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            info = tar.getmembers()[0]
            member = tar.extractfile(info)
            return info, member.read() if member else b""

    # -- for the host agent --------------------------------------------------------
    def waiting_guests(self):
        """Running guest containers whose entrypoint still waits for the host."""
        out = []
        for container in self.api("list containers", self.client.containers.list, ignore_removed=True,
                                  filters={"label": guest.GUEST_LABEL + "=true"}):
            pid = container.attrs["State"].get("Pid")
            try:
                if pid and guest.waiting(pid):
                    out.append(container)
            except OSError:
                continue  # it stopped since the listing
        return out

    @staticmethod
    def still_running(container):
        """The container exists and runs (it may have gone since it was listed)."""
        try:
            container.reload()
        except Exception:  # pylint: disable=broad-except
            return False
        return bool(container.attrs["State"].get("Running"))

    def limit_pids(self, container, limit):
        """Give a guest a pids limit after the fact (the SDK's update() has no such option)."""
        url = self.client.api._url("/containers/{0}/update", container.id)
        self.api("limit the pids of %s" % container.name,
                 lambda: self.client.api._result(self.client.api._post_json(url, data={"PidsLimit": limit}), True))
        container.reload()

    def events(self):
        """The engine's events that change ports or networks, as they happen (blocks)."""
        actions = ("start", "restart", "die", "connect", "disconnect", "create", "destroy")
        for event in self.client.events(decode=True, filters={"type": ["container", "network"]}):
            if event.get("Action") in actions:
                yield event
