# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Instances on the docker provider.

- instance -> container ``sciaas-<name>`` from the image catalog (images.py), systemd
  as PID 1 confined as a tenant (guest.py), one static address per vlan
  (public vlans are eth0, eth1, ... then private ones, by name), cpu/memory
  limits, an admin user with SSH keys injected after boot.
- location -> a label; nothing ever moves between locations.
"""

from __future__ import annotations

import os
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.engine import (
    KIND_LABEL,
    MANAGED,
    PREFIX,
    USER_LABEL,
    container_name,
    labels_of,
    network_name,
    tar_of,
    user_labels,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import instance_result, parse_memory

# CPU limits as CFS quota per period: the engine can change those in place
# (it cannot change NanoCpus through the SDK).
CPU_PERIOD = 100000
# What a root user on a VM may do with its own interfaces (vips, keepalived);
# everything else about how a guest runs is guest.py's.
CAPABILITIES = ("NET_ADMIN", "NET_RAW", "NET_BROADCAST")


class Instances(object):
    """engine: the Engine; vlans: the Vlans driver; changed(): called when ports came or went
    (the vip guard and the VPN routes follow)."""

    def __init__(self, engine, vlans, changed, mounts_of=lambda name: []):
        self.engine = engine
        self.vlans = vlans
        self.changed = changed
        self.mounts_of = mounts_of

    # -- reading ---------------------------------------------------------------
    def _read_keys(self, container, user):
        found = self.engine.read_file(container, "/home/%s/.ssh/authorized_keys" % user)
        text = found[1].decode("utf-8", "replace") if found else ""
        return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]

    def from_container(self, container, keys=True):
        attrs = container.attrs
        labels = labels_of(container)
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
            ssh_public_keys=self._read_keys(container, user) if user and keys else [], labels=user_labels(labels),
            state="running" if attrs["State"].get("Running") else "stopped", provider="docker",
            resource_id=container.id,
        )

    def list(self, keys=True):
        return sorted((self.from_container(c, keys) for c in self.engine.containers("instance")),
                      key=lambda i: i["name"])

    def names(self):
        """The container names of every instance (for the address bookkeeping of other containers)."""
        return set(c.name for c in self.engine.containers("instance"))

    def get(self, name):
        container = self.engine.find(container_name(name))
        if container is None:
            return None
        labels = labels_of(container)
        if labels.get(KIND_LABEL) != "instance" or labels.get(PREFIX + "name") != name:
            raise IaasError("a container named %s exists but is not an instance of this collection"
                            % container_name(name), field="name", fix="pick another name, or remove that container")
        return self.from_container(container)

    def _container(self, current):
        return self.engine.get(current["id"])

    @staticmethod
    def interface_names(networks, vlans):
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

    # -- lifecycle -------------------------------------------------------------
    def create(self, spec, run, wait, timeout):
        name = container_name(spec["name"])
        labels = {MANAGED: "true", KIND_LABEL: "instance", PREFIX + "name": spec["name"],
                  PREFIX + "location": spec["location"], PREFIX + "image": spec["image"],
                  PREFIX + "admin_user": spec["admin_user"],
                  PREFIX + "networks": ",".join(n["vlan"] for n in spec["networks"]),
                  PREFIX + "interfaces": ",".join(n["interface"] for n in spec["networks"])}
        labels.update((USER_LABEL + k, v) for k, v in spec["labels"].items())
        container = self.engine.create_guest(
            name, spec["image_id"], labels, parse_memory(spec["memory"]) * 1024 * 1024,
            [(network_name(n["vlan"]), n["ip"]) for n in spec["networks"]], CAPABILITIES,
            hostname=spec["hostname"], cpu_period=CPU_PERIOD, cpu_quota=int(round(spec["cpus"] * CPU_PERIOD)))
        try:
            self.boot(container)
            self._inject_admin(container, spec["admin_user"], spec["ssh_public_keys"])
            if wait:
                self.engine.wait_running(container, timeout)
            if not run:
                self.engine.api("stop %s" % name, container.stop, timeout=timeout)
        except BaseException:
            # Nothing half-made stays behind.
            self.engine.remove_quietly(container, name)
            raise
        container.reload()
        self.changed()
        return self.from_container(container)

    def boot(self, container, networks=None):
        """The host's half of a guest's boot, and an instance's default route (the engine gave it one at start)."""
        instance = labels_of(container).get(KIND_LABEL) == "instance"
        # The volumes attached to it are in place before its systemd starts.
        self.engine.boot(container, self.mounts_of(labels_of(container).get(PREFIX + "name")) if instance else ())
        if instance:
            self._set_default_route(container, networks or self.from_container(container, keys=False)["networks"])

    def _set_default_route(self, container, networks):
        """The way out goes through the first public vlan; with none, there is no default route.

        Docker gives an instance on internal networks a default route anyway;
        the host drops what it would carry (host/isolation.py), and the guest
        should not see a way out that is not there.
        """
        vlans = dict((v["name"], v) for v in self.vlans.list())
        public = [vlans[n["vlan"]] for n in networks if vlans.get(n["vlan"], {}).get("type") == "public"]
        if public:
            cmd = "ip route replace default via %s" % public[0]["gateway"]
        else:
            cmd = "ip route del default 2>/dev/null || true"
        self.engine.exec(container, ["/bin/sh", "-c", cmd], what="set the default route")

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
        self.engine.exec(container, ["/bin/sh", "-c", script], environment={"U": user, "K": keys_text},
                         what="set up the admin user %s" % user)

    def _write_keys(self, container, user, keys):
        """authorized_keys through the archive API, so a stopped instance gets them too."""
        container.reload()
        if container.attrs["State"].get("Running"):
            self._inject_admin(container, user, keys)
            return
        path = "/home/%s/.ssh/authorized_keys" % user
        found = self.engine.read_file(container, path)
        if found is None:
            raise IaasError("cannot read %s in the stopped instance %s" % (path, container.name), field="ssh_public_keys",
                            fix="start the instance, then change its keys")
        info = found[0]
        info.mtime = int(time.time())
        self.engine.api("write authorized_keys", container.put_archive, "/home/%s/.ssh" % user,
                        tar_of(info, "".join(k + "\n" for k in keys).encode()))

    def wait(self, current, timeout):
        container = self._container(current)
        self.engine.wait_running(container, timeout)
        container.reload()
        return self.from_container(container)

    def update(self, current, changes):
        container = self._container(current)
        if "cpus" in changes or "memory" in changes:
            kwargs = {}
            if "cpus" in changes:
                kwargs["cpu_period"] = CPU_PERIOD
                kwargs["cpu_quota"] = int(round(changes["cpus"] * CPU_PERIOD))
            if "memory" in changes:
                kwargs["mem_limit"] = kwargs["memswap_limit"] = changes["memory"] * 1024 * 1024
            self.engine.api("resize %s" % container.name, container.update, **kwargs)
        if "ssh_public_keys" in changes:
            self._write_keys(container, current["admin_user"], changes["ssh_public_keys"])
        container.reload()
        return self.from_container(container)

    def _came_up(self, container, wait, timeout):
        """After a start or restart: the guest boots, the host's rules again
        (the engine gave the container new veths), then the wait for boot."""
        self.boot(container)
        self.changed()
        if wait:
            self.engine.wait_running(container, timeout)
        container.reload()
        return self.from_container(container)

    def start(self, current, wait, timeout):
        container = self._container(current)
        self.engine.api("start %s" % container.name, container.start)
        return self._came_up(container, wait, timeout)

    def stop(self, current, wait, timeout):
        container = self._container(current)
        self.engine.api("stop %s" % container.name, container.stop, timeout=timeout)
        if wait:
            container.wait(timeout=timeout)
        container.reload()
        return self.from_container(container)

    def restart(self, current, wait, timeout):
        container = self._container(current)
        self.engine.api("restart %s" % container.name, container.restart, timeout=timeout)
        return self._came_up(container, wait, timeout)

    def delete(self, current):
        container = self.engine.find(current["id"])
        if container is None:
            return
        self.engine.api("remove %s" % container.name, container.remove, force=True, v=True)
        self.changed()

    # -- inside a running instance (vips, VPN routes) -----------------------------
    def run_in(self, name, argv):
        """(exit code, output) of ARGV run inside the running instance NAME, as root."""
        return self.engine.exec_status(self.engine.get(container_name(name)), argv,
                                       what="run a command in %s" % name)

    def pid(self, name):
        """PID of the instance's init on the host (to enter its network namespace); None when it is not running."""
        return self.engine.get(container_name(name)).attrs["State"].get("Pid") or None

    def still_running(self, name):
        """Its init is alive (Docker still reports the PID of a container it is removing)."""
        try:
            pid = self.pid(name)
        except IaasError:
            return False
        return bool(pid) and os.path.exists("/proc/%d/ns/net" % pid)
