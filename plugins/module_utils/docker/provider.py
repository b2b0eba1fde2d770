# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker provider: one Docker engine is one cloud.

Mapping (every object carries the label secure_cloud.iaas.managed=true):
- vlan     -> bridge network ``sciaas-vlan-<name>``; public: outbound NAT;
              private: ``internal`` (no route out). Docker's isolation chains keep
              bridge networks apart. IPAM: the vlan cidr, its gateway, and an
              ``ip_range`` outside the vip_range so the engine never hands out a
              vip address by itself (addresses are always given explicitly).
- instance -> container ``sciaas-<name>`` from the local image catalog, systemd as
              PID 1 confined as a tenant (guest.py), one static address per vlan (public vlans
              are eth0, eth1, ... then private ones, by name), cpu/memory limits, an
              admin user with SSH keys injected after boot.
- location -> a label; nothing ever moves between locations.

Only this file imports the docker SDK.
"""

from __future__ import annotations

import io
import os
import socket
import tarfile
import time
import traceback

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import agent as host_agent
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import isolation as host_isolation
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.vips import DockerVips
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.vpn import DockerVpn
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import instance_result, parse_memory
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import DEFAULT_DOCKER_HOST, Capabilities, Provider
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import vlan_result

try:
    import docker
    from docker import errors as docker_errors
    from docker.types import IPAMConfig, IPAMPool
    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

PREFIX = "secure_cloud.iaas."
MANAGED = PREFIX + "managed"
USER_LABEL = PREFIX + "label."
CATALOG_LABEL = PREFIX + "catalog"
CATALOG_REPOSITORY = "secure-cloud-iaas/instance"
NETWORK_PREFIX = "sciaas-vlan-"
CONTAINER_PREFIX = "sciaas-"

# CPU limits as CFS quota per period: the engine can change those in place
# (it cannot change NanoCpus through the SDK).
CPU_PERIOD = 100000

# What a root user on a VM may do with its own interfaces (vips, keepalived);
# everything else about how a guest runs is guest.py's.
CAPABILITIES = ("NET_ADMIN", "NET_RAW", "NET_BROADCAST")


def network_name(vlan_name):
    return NETWORK_PREFIX + vlan_name


def container_name(instance_name):
    return CONTAINER_PREFIX + instance_name


def _bridge_name(net):
    """The host's bridge interface of a Docker network: the one it was given, else the engine's default name."""
    return (net.attrs.get("Options") or {}).get("com.docker.network.bridge.name") or "br-" + net.id[:12]


def _user_labels(labels):
    return dict((k[len(USER_LABEL):], v) for k, v in (labels or {}).items() if k.startswith(USER_LABEL))


def local_routes(path="/proc/net/route"):
    """[(cidr, description)] of the host's routes, the default route left out."""
    out = []
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()[1:]
    except (IOError, OSError):
        return out
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, dest, mask = fields[0], fields[1], fields[7]
        dest_ip = socket.inet_ntoa(bytes.fromhex(dest)[::-1])
        mask_ip = socket.inet_ntoa(bytes.fromhex(mask)[::-1])
        prefix = sum(bin(int(part)).count("1") for part in mask_ip.split("."))
        if prefix == 0:
            continue
        out.append(("%s/%d" % (dest_ip, prefix), "a route of the host via %s" % iface))
    return out


class DockerProvider(DockerVips, DockerVpn, Provider):
    name = "docker"

    def __init__(self, params, store, run_command=None):
        super(DockerProvider, self).__init__(params, store, run_command=run_command)
        if not HAS_DOCKER:
            raise IaasError("the docker Python SDK is missing on the host that runs the module",
                            field="provider",
                            fix="install the docker Python SDK there (pip install 'docker>=7'), or use another provider")
        self.docker_host = params.get("docker_host") or DEFAULT_DOCKER_HOST
        try:
            self.client = docker.DockerClient(base_url=self.docker_host, timeout=params.get("docker_timeout") or 60)
            self.client.ping()
        except Exception as exc:  # pylint: disable=broad-except
            raise ProviderError("no Docker engine answers at %s (%s)" % (self.docker_host, exc), field="docker_host",
                                fix="start the engine (make docker) or point docker_host / DOCKER_HOST at it")
        # The host agent keeps the guests booting and the host's tables on
        # between runs; where the engine is remote, it must run on that host.
        # (Not for a caller that cannot run host commands: the inventory plugin.)
        if self.is_local() and params.get("start_host_agent", True) and run_command is not None:
            host_agent.ensure_running(self.run_command, self.docker_host, self.store.state_dir)

    def capabilities(self):
        # The engine resizes a container in place and keys are a file.
        return Capabilities(mutable={"vlan": (), "instance": ("cpus", "memory", "ssh_public_keys")},
                            enforces=("vip_allow_list", "vlan_isolation", "guest_confinement"))

    # -- helpers ---------------------------------------------------------
    def _api(self, what, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except docker_errors.APIError as exc:
            raise ProviderError("Docker refused to %s: %s" % (what, exc.explanation or exc))

    def is_local(self):
        return self.docker_host.startswith("unix://")

    # -- catalog ---------------------------------------------------------
    def list_images(self):
        """The catalog: secure-cloud-iaas/instance:<name> and images labelled secure_cloud.iaas.catalog=true."""
        out = []
        for image in self._api("list images", self.client.images.list, filters={"label": MANAGED + "=true"}):
            labels = image.labels or {}
            digests = [d.split("@", 1)[1] for d in image.attrs.get("RepoDigests") or [] if "@" in d]
            for tag in image.tags:
                repo, short = tag.rpartition(":")[0], tag.rpartition(":")[2]
                if repo == CATALOG_REPOSITORY:
                    out.append(dict(name=short, reference=tag, id=image.id, digests=digests))
                elif labels.get(CATALOG_LABEL) == "true":
                    out.append(dict(name=tag, reference=tag, id=image.id, digests=digests))
        return sorted(out, key=lambda i: i["name"])

    def resolve_image(self, image):
        catalog = self.list_images()
        for entry in catalog:
            if image in (entry["name"], entry["reference"]):
                return entry
        raise IaasError("%r is not in the image catalog" % (image,), field="image",
                        fix="use one of: %s (build them with make images)"
                            % (", ".join(e["name"] for e in catalog) or "(the catalog is empty)"))

    # -- host facts -----------------------------------------------------
    def reserved_networks(self):
        out = []
        for net in self._api("list networks", self.client.networks.list):
            labels = net.attrs.get("Labels") or {}
            if labels.get(PREFIX + "kind") == "vlan":
                continue
            for pool in (net.attrs.get("IPAM") or {}).get("Config") or []:
                if pool.get("Subnet") and ":" not in pool["Subnet"]:
                    out.append((pool["Subnet"], "Docker network %s" % net.name))
        if self.is_local():
            vlan_cidrs = set(v["cidr"] for v in self.list_vlans())
            out.extend(r for r in local_routes() if r[0] not in vlan_cidrs)
        return out

    # -- vlan -----------------------------------------------------------
    def _vlan_from_network(self, net):
        labels = net.attrs.get("Labels") or {}
        pools = (net.attrs.get("IPAM") or {}).get("Config") or [{}]
        pool = pools[0]
        return vlan_result(
            name=labels.get(PREFIX + "name"), location=labels.get(PREFIX + "location"),
            vlan_type=labels.get(PREFIX + "type"), cidr=pool.get("Subnet"), gateway=pool.get("Gateway"),
            vip_range=labels.get(PREFIX + "vip_range"), labels=_user_labels(labels), provider=self.name,
            resource_id=net.id, automatic_range=pool.get("IPRange"),
        )

    def _vlan_networks(self):
        return self._api("list networks", self.client.networks.list,
                         filters={"label": [MANAGED + "=true", PREFIX + "kind=vlan"]})

    def list_vlans(self):
        return sorted((self._vlan_from_network(n) for n in self._vlan_networks()), key=lambda v: v["name"])

    def create_vlan(self, spec):
        labels = {MANAGED: "true", PREFIX + "kind": "vlan", PREFIX + "name": spec["name"],
                  PREFIX + "location": spec["location"], PREFIX + "type": spec["type"],
                  PREFIX + "vip_range": spec["vip_range"]}
        labels.update((USER_LABEL + k, v) for k, v in spec["labels"].items())
        ipam_config = IPAMConfig(pool_configs=[IPAMPool(subnet=spec["cidr"], gateway=spec["gateway"],
                                                        iprange=spec["automatic_range"])])
        options = {"com.docker.network.bridge.enable_ip_masquerade": "true" if spec["type"] == "public" else "false"}
        name = network_name(spec["name"])
        try:
            net = self._api("create network %s" % name, self.client.networks.create, name, driver="bridge",
                            internal=spec["type"] == "private", ipam=ipam_config, labels=labels, options=options,
                            check_duplicate=True)
            net.reload()
            self.ensure_isolation()
        except BaseException:
            # Nothing half-made: no network, and the isolation table as before.
            self._remove_network_if_ours(name)
            try:
                self.ensure_isolation()
            except IaasError:
                pass
            raise
        return self._vlan_from_network(net)

    def ensure_isolation(self, apply=True):
        """The host's isolation table matches the vlans (and other guest networks); True when it had to change.

        Only where the engine runs on this host (its bridges are ours to filter).
        """
        if not self.is_local():
            return False
        wanted = [self._bridge_of(v) for v in self.list_vlans()]
        for net in self._api("list networks", self.client.networks.list,
                             filters={"label": guest.GUEST_NETWORK_LABEL + "=true"}):
            wanted.append(_bridge_name(net))
        if host_isolation.in_place(wanted, self.run_command):
            return False
        if apply:
            host_isolation.apply(wanted, self.run_command)
        return True

    @staticmethod
    def _bridge_of(vlan):
        return "br-" + vlan["id"][:12]

    def _remove_network_if_ours(self, name):
        try:
            net = self.client.networks.get(name)
            if (net.attrs.get("Labels") or {}).get(MANAGED) == "true":
                net.remove()
        except Exception:  # pylint: disable=broad-except
            pass

    def delete_vlan(self, current):
        try:
            net = self.client.networks.get(current["id"])
        except docker_errors.NotFound:
            net = None
        if net is not None:
            self._api("remove network %s" % net.name, net.remove)
        self.ensure_isolation()

    def vlan_bridge(self, vlan_name):
        """The host's bridge interface of a vlan (for vips: anti-spoofing rules, gratuitous ARP)."""
        return _bridge_name(self._api("inspect network", self.client.networks.get, network_name(vlan_name)))

    def foreign_addresses(self):
        out = {}
        # Instances are counted from their own results; every other container
        # (VPN gateways included) holds its address here.
        instances = set(c.name for c in self._containers())
        for net in self._vlan_networks():
            net.reload()
            vlan = (net.attrs.get("Labels") or {}).get(PREFIX + "name")
            for cid, endpoint in (net.attrs.get("Containers") or {}).items():
                ip = (endpoint.get("IPv4Address") or "").split("/")[0]
                name = endpoint.get("Name") or cid[:12]
                if ip and name not in instances:
                    out.setdefault(vlan, {})[ip] = "container %s" % name
        return out

    # -- instance -------------------------------------------------------
    def _containers(self):
        # ignore_removed: parallel tasks remove instances between the listing and
        # the inspection of each container; those are gone, not an error.
        return self._api("list containers", self.client.containers.list, all=True, ignore_removed=True,
                         filters={"label": [MANAGED + "=true", PREFIX + "kind=instance"]})

    def _read_keys(self, container, user):
        path = "/home/%s/.ssh/authorized_keys" % user
        try:
            stream = container.get_archive(path)[0]
            data = b"".join(stream)
        except docker_errors.APIError:
            return []
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.extractfile(tar.getmembers()[0])
            text = member.read().decode("utf-8", "replace") if member else ""
        return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]

    def _instance_from_container(self, container, keys=True):
        attrs = container.attrs
        labels = attrs["Config"].get("Labels") or {}
        host = attrs.get("HostConfig") or {}
        order = [n for n in (labels.get(PREFIX + "networks") or "").split(",") if n]
        ifnames = [n for n in (labels.get(PREFIX + "interfaces") or "").split(",") if n]
        attached = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
        networks = []
        for i, vlan in enumerate(order):
            endpoint = attached.get(network_name(vlan)) or {}
            ip = ((endpoint.get("IPAMConfig") or {}).get("IPv4Address") or endpoint.get("IPAddress") or None)
            networks.append(dict(vlan=vlan, ip=ip, interface=ifnames[i] if i < len(ifnames) else None,
                                 mac=endpoint.get("MacAddress") or None))
        user = labels.get(PREFIX + "admin_user")
        return instance_result(
            name=labels.get(PREFIX + "name"), location=labels.get(PREFIX + "location"),
            image=labels.get(PREFIX + "image"), image_id=attrs.get("Image"),
            cpus=round(float(host.get("CpuQuota") or 0) / (host.get("CpuPeriod") or CPU_PERIOD), 2) or None,
            memory_mb=(host.get("Memory") or 0) // (1024 * 1024) or None,
            hostname=attrs["Config"].get("Hostname"), networks=networks, admin_user=user,
            ssh_public_keys=self._read_keys(container, user) if user and keys else [], labels=_user_labels(labels),
            state="running" if attrs["State"].get("Running") else "stopped", provider=self.name,
            resource_id=container.id,
        )

    def list_instances(self, keys=True):
        return sorted((self._instance_from_container(c, keys) for c in self._containers()), key=lambda i: i["name"])

    def get_instance(self, name):
        try:
            container = self.client.containers.get(container_name(name))
        except docker_errors.NotFound:
            return None
        labels = container.attrs["Config"].get("Labels") or {}
        if labels.get(PREFIX + "kind") != "instance" or labels.get(PREFIX + "name") != name:
            raise IaasError("a container named %s exists but is not an instance of this collection"
                            % container_name(name), field="name", fix="pick another name, or remove that container")
        return self._instance_from_container(container)

    def _container(self, current):
        return self._api("inspect container", self.client.containers.get, current["id"])

    def interface_names(self, networks, vlans):
        """The engine names the interfaces, not the order of networks.

        Docker (measured on 20.10) attaches the networks that have a way out
        first, then the internal ones, each group in order of the network's
        name, at every start: public vlans first, then private ones, by vlan
        name. The unit tests check this against the engine.
        """
        def key(net):
            return (vlans[net["vlan"]]["type"] != "public", network_name(net["vlan"]))
        order = sorted(networks, key=key)
        return ["eth%d" % order.index(net) for net in networks]

    def create_instance(self, spec, run, wait, timeout):
        name = container_name(spec["name"])
        labels = {MANAGED: "true", PREFIX + "kind": "instance", PREFIX + "name": spec["name"],
                  PREFIX + "location": spec["location"], PREFIX + "image": spec["image"],
                  PREFIX + "admin_user": spec["admin_user"],
                  PREFIX + "networks": ",".join(n["vlan"] for n in spec["networks"]),
                  PREFIX + "interfaces": ",".join(n["interface"] for n in spec["networks"])}
        labels.update((USER_LABEL + k, v) for k, v in spec["labels"].items())
        labels[guest.GUEST_LABEL] = "true"
        first = spec["networks"][0]
        memory = parse_memory(spec["memory"]) * 1024 * 1024
        container = None
        try:
            container = self._api(
                "create container %s" % name, self.client.containers.create, spec["image_id"], name=name,
                hostname=spec["hostname"], detach=True, labels=labels,
                cpu_period=CPU_PERIOD, cpu_quota=int(round(spec["cpus"] * CPU_PERIOD)),
                restart_policy={"Name": "unless-stopped"}, **guest.create_options(memory, CAPABILITIES),
                network=network_name(first["vlan"]),
                networking_config={network_name(first["vlan"]): self.client.api.create_endpoint_config(
                    ipv4_address=first["ip"])},
            )
            # Every network is attached before the first start, so the guest
            # boots with all its interfaces and addresses (named as
            # interface_names() says).
            for net in spec["networks"][1:]:
                self._api("attach %s to vlan %s" % (name, net["vlan"]), self.client.api.connect_container_to_network,
                          container.id, network_name(net["vlan"]), ipv4_address=net["ip"])
            self._api("start %s" % name, container.start)
            self.boot_guest(container)
            self._inject_admin(container, spec["admin_user"], spec["ssh_public_keys"])
            if wait:
                self._wait_running(container, timeout)
            if not run:
                self._api("stop %s" % name, container.stop, timeout=timeout)
        except BaseException:
            # Nothing half-made stays behind.
            self._remove_container_quietly(container, name)
            raise
        container.reload()
        self._instances_changed()
        return self._instance_from_container(container)

    def _remove_container_quietly(self, container, name):
        try:
            target = container or self.client.containers.get(name)
            if (target.attrs["Config"].get("Labels") or {}).get(MANAGED) == "true":
                target.remove(force=True, v=True)
        except Exception:  # pylint: disable=broad-except
            pass

    def _exec_status(self, container, cmd, environment=None, what="run a command"):
        """(exit code, output) of CMD in the container."""
        result = self._api(what, container.exec_run, cmd, environment=environment, demux=False)
        return result.exit_code, (result.output or b"").decode("utf-8", "replace").strip()

    def _exec(self, container, cmd, environment=None, what="run a command"):
        exit_code, output = self._exec_status(container, cmd, environment, what)
        if exit_code != 0:
            raise ProviderError("could not %s in %s (exit %s): %s" % (what, container.name, exit_code, output))
        return output

    def _inject_admin(self, container, user, keys):
        """The admin user, passwordless sudo as on a cloud image, and its authorized_keys."""
        script = (
            'set -e; id -u "$U" >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo "$U"; '
            'printf "%s ALL=(ALL) NOPASSWD:ALL\\n" "$U" > /etc/sudoers.d/90-secure-cloud-admin; '
            'chmod 0440 /etc/sudoers.d/90-secure-cloud-admin; '
            'install -d -m 0700 -o "$U" -g "$U" "/home/$U/.ssh"; '
            'printf "%s" "$K" > "/home/$U/.ssh/authorized_keys"; '
            'chown "$U:$U" "/home/$U/.ssh/authorized_keys"; chmod 0600 "/home/$U/.ssh/authorized_keys"'
        )
        keys_text = "".join(k + "\n" for k in keys)
        self._exec(container, ["/bin/sh", "-c", script], environment={"U": user, "K": keys_text},
                   what="set up the admin user %s" % user)

    def _write_keys(self, container, user, keys):
        """authorized_keys through the archive API, so a stopped instance gets them too."""
        data = "".join(k + "\n" for k in keys).encode()
        container.reload()
        if container.attrs["State"].get("Running"):
            self._inject_admin(container, user, keys)
            return
        stream = self._api("read authorized_keys", container.get_archive, "/home/%s/.ssh/authorized_keys" % user)[0]
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as old:
            info = old.getmembers()[0]
        info.size = len(data)
        info.mtime = int(time.time())
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.addfile(info, io.BytesIO(data))
        self._api("write authorized_keys", container.put_archive, "/home/%s/.ssh" % user, buf.getvalue())

    def _instances_changed(self):
        """Ports came or went (veth names change on every start): the vip guard follows,
        and instances on vlans a VPN tunnel serves get their routes to its peer subnets.

        Only when vips or tunnels exist (or the guard is still loaded, so it forgets
        the instances removed after the last vip).
        """
        if self.guard_needed():
            self.sync_guard()
        # Routes to the peer subnets of VPN tunnels vanish with a restart.
        if self.store.list("vpn_tunnel"):
            self.sync_vpn_routes()

    # -- the host's half of every guest (the host agent calls these too) ------
    def boot_guest(self, container):
        """Let a guest that waits at its entrypoint boot (guest.prepare); an instance
        also gets its default route (the engine gave it one at start)."""
        container.reload()
        pid = container.attrs["State"].get("Pid")
        if not pid or not container.attrs["State"].get("Running"):
            raise ProviderError("%s is not running, so it cannot boot (exit code %s)"
                                % (container.name, container.attrs["State"].get("ExitCode")),
                                fix="look at docker logs %s" % container.name)
        # A remote engine's guests are prepared by the agent on that host.
        if self.is_local():
            guest.prepare(pid, container.name)
        labels = container.attrs["Config"].get("Labels") or {}
        if labels.get(PREFIX + "kind") == "instance":
            self._set_default_route(container, self._instance_from_container(container, keys=False)["networks"])

    def waiting_guests(self):
        """Running guest containers whose entrypoint still waits for the host."""
        out = []
        for container in self._api("list containers", self.client.containers.list, ignore_removed=True,
                                   filters={"label": guest.GUEST_LABEL + "=true"}):
            pid = container.attrs["State"].get("Pid")
            try:
                if pid and guest.waiting(pid):
                    out.append(container)
            except OSError:
                continue  # it stopped since the listing
        return out

    def still_running(self, container):
        """The container exists and runs (it may have gone since it was listed)."""
        try:
            container.reload()
        except Exception:  # pylint: disable=broad-except
            return False
        return bool(container.attrs["State"].get("Running"))

    def limit_pids(self, container, limit):
        """Give a guest a pids limit after the fact (the SDK's update() has no such option)."""
        url = self.client.api._url("/containers/{0}/update", container.id)
        self._api("limit the pids of %s" % container.name,
                  lambda: self.client.api._result(self.client.api._post_json(url, data={"PidsLimit": limit}), True))
        container.reload()

    def sync_host(self):
        """Every table the host enforces, rebuilt from the engine and the store if it drifted."""
        self.ensure_isolation()
        self._instances_changed()
        if self.store.list("vpn_tunnel"):
            self._bridge_rules()

    def host_events(self):
        """The engine's events that change ports or networks, as they happen (blocks)."""
        actions = ("start", "restart", "die", "connect", "disconnect", "create", "destroy")
        for event in self.client.events(decode=True, filters={"type": ["container", "network"]}):
            if event.get("Action") in actions:
                yield event

    def _set_default_route(self, container, networks):
        """The way out goes through the first public vlan; with none, there is no default route.

        Docker gives an instance on internal networks a default route anyway;
        the host drops what it would carry (host_isolation), and the guest
        should not see a way out that is not there.
        """
        vlans = dict((v["name"], v) for v in self.list_vlans())
        public = [vlans[n["vlan"]] for n in networks if vlans.get(n["vlan"], {}).get("type") == "public"]
        if public:
            cmd = "ip route replace default via %s" % public[0]["gateway"]
        else:
            cmd = "ip route del default 2>/dev/null || true"
        self._exec(container, ["/bin/sh", "-c", cmd], what="set the default route")

    def _wait_running(self, container, timeout):
        """Until systemd reports running or degraded; a timeout fails loudly."""
        deadline = time.monotonic() + timeout
        state = "unknown"
        while True:
            container.reload()
            if not container.attrs["State"].get("Running"):
                raise ProviderError("instance container %s stopped while booting (exit code %s)"
                                    % (container.name, container.attrs["State"].get("ExitCode")),
                                    fix="look at docker logs %s" % container.name)
            result = container.exec_run(["systemctl", "is-system-running"])
            state = (result.output or b"").decode("utf-8", "replace").strip() or state
            if state in ("running", "degraded"):
                return state
            if time.monotonic() >= deadline:
                fix = "raise wait_timeout, or see docker exec %s systemctl --failed" % container.name
                if not self.is_local():
                    fix = ("start the host agent on the engine's host (any docker provider module run there "
                           "starts it), or " + fix)
                raise ProviderError("%s did not finish booting within wait_timeout=%ss (systemd says %r)"
                                    % (container.name, timeout, state), field="wait_timeout", fix=fix)
            time.sleep(0.25)

    def wait_instance(self, current, timeout):
        container = self._container(current)
        self._wait_running(container, timeout)
        container.reload()
        return self._instance_from_container(container)

    def update_instance(self, current, changes):
        container = self._container(current)
        if "cpus" in changes or "memory" in changes:
            kwargs = {}
            if "cpus" in changes:
                kwargs["cpu_period"] = CPU_PERIOD
                kwargs["cpu_quota"] = int(round(changes["cpus"] * CPU_PERIOD))
            if "memory" in changes:
                kwargs["mem_limit"] = kwargs["memswap_limit"] = changes["memory"] * 1024 * 1024
            self._api("resize %s" % container.name, container.update, **kwargs)
        if "ssh_public_keys" in changes:
            self._write_keys(container, current["admin_user"], changes["ssh_public_keys"])
        container.reload()
        return self._instance_from_container(container)

    def _came_up(self, container, current, wait, timeout):
        """After a start or restart: the guest boots, the host's rules again
        (the engine gave the container new veths), then the wait for boot."""
        self.boot_guest(container)
        self._instances_changed()
        if wait:
            self._wait_running(container, timeout)
        container.reload()
        return self._instance_from_container(container)

    def start_instance(self, current, wait, timeout):
        container = self._container(current)
        self._api("start %s" % container.name, container.start)
        return self._came_up(container, current, wait, timeout)

    def stop_instance(self, current, wait, timeout):
        container = self._container(current)
        self._api("stop %s" % container.name, container.stop, timeout=timeout)
        if wait:
            container.wait(timeout=timeout)
        container.reload()
        return self._instance_from_container(container)

    def restart_instance(self, current, wait, timeout):
        container = self._container(current)
        self._api("restart %s" % container.name, container.restart, timeout=timeout)
        return self._came_up(container, current, wait, timeout)

    def delete_instance(self, current):
        try:
            container = self.client.containers.get(current["id"])
        except docker_errors.NotFound:
            return
        self._api("remove %s" % container.name, container.remove, force=True, v=True)
        self._instances_changed()

    # -- for vips and the inventory ------------------------------------------
    def exec_in_instance(self, name, argv):
        """(exit code, output) of ARGV run inside the running instance NAME, as root."""
        container = self._api("inspect container", self.client.containers.get, container_name(name))
        return self._exec_status(container, argv, what="run a command in %s" % name)

    def instance_pid(self, name):
        """PID of the instance's init on the host (to enter its network namespace)."""
        container = self._api("inspect container", self.client.containers.get, container_name(name))
        return container.attrs["State"].get("Pid") or None

    def instance_interfaces(self, name):
        """[{vlan, network, ip, mac, interface, host_veth}] as the running instance sees them.

        host_veth is the host side of the veth pair (None when the engine is remote).
        """
        inst = self.get_instance(name)
        if inst is None:
            raise IaasError("instance %s does not exist" % name, field="name", fix="create it first")
        container = self._container(inst)
        listing = self._exec(container, ["/bin/sh", "-c",
                                         'for d in /sys/class/net/*; do echo "${d##*/} $(cat $d/address) $(cat $d/iflink)"; done'],
                             what="list interfaces")
        by_mac = {}
        for line in listing.splitlines():
            parts = line.split()
            if len(parts) == 3:
                by_mac[parts[1].lower()] = (parts[0], parts[2])
        host_ifaces = {}
        if self.is_local() and os.path.isdir("/sys/class/net"):
            for iface in os.listdir("/sys/class/net"):
                try:
                    with open("/sys/class/net/%s/ifindex" % iface) as handle:
                        host_ifaces[handle.read().strip()] = iface
                except (IOError, OSError):
                    continue
        out = []
        for net in inst["networks"]:
            iface, iflink = by_mac.get((net.get("mac") or "").lower(), (None, None))
            out.append(dict(vlan=net["vlan"], network=network_name(net["vlan"]), ip=net["ip"], mac=net["mac"],
                            interface=iface, host_veth=host_ifaces.get(iflink)))
        return out

    def connection_vars(self, instance):
        hostvars = dict(ansible_connection="community.docker.docker", ansible_host=container_name(instance["name"]))
        if self.docker_host != DEFAULT_DOCKER_HOST:
            hostvars["ansible_docker_host"] = self.docker_host
        return hostvars
