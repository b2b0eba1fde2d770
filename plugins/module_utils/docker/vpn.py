# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VPN tunnels on the docker provider.

- One VPN gateway per location: container ``sciaas-vpngw-<location>`` (labels
  managed=true, kind=vpn_gateway, location), made with the first tunnel and
  removed with the last, from the instance image with strongSwan installed
  (or ``secure-cloud-iaas/vpn-gateway:debian12`` when that image exists). It
  has an address on the public vlan and on every private vlan a tunnel of
  the location serves, allocated like an instance's (outside the vip_range).
- strongSwan through swanctl: one file per tunnel in /etc/swanctl/conf.d,
  secrets in 0600 files written through the archive API (never on a command
  line). Kernel ESP where a probe SA is accepted, kernel-libipsec otherwise;
  ESP always in UDP 4500 (``encap = yes``) so both ends agree from the start.
- Inside the gateway an nftables table forwards only served subnet <-> peer
  subnet through the tunnel and accepts only IKE/ESP on the public side: the
  public vlan never reaches a private vlan through the gateway. It is loaded
  by nftables.service at boot, before strongSwan.
- Docker drops routed frames on an ``internal`` network (its isolation chain
  drops what enters the bridge for an address outside the subnet), so for
  each served vlan one DOCKER-USER rule accepts frames that enter and leave
  the same bridge. Frames between bridges still meet Docker's isolation.
- Instances on a served vlan get a route to each peer subnet via the
  gateway's address on their vlan (protocol ROUTE_PROTO, so they can be found
  and removed again), re-synced on every run and when instances start.
- The state store keeps each tunnel's settings and a salted fingerprint of
  its secret, never the secret.
"""

from __future__ import annotations

import json
import re

from ansible_collections.secure_cloud.iaas.plugins.module_utils import poll
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.engine import (
    KIND_LABEL,
    MANAGED,
    NETWORK_PREFIX,
    PREFIX,
    network_name,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model import ipam
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import netns
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.ipsec import connection, firewall, swanctl
from ansible_collections.secure_cloud.iaas.plugins.module_utils.ipsec.swanctl import probe_command
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import used_addresses
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import (
    KIND,
    STATUS_CONFIGURED,
    STATUS_ESTABLISHED,
    parse_status,
    vpn_tunnel_result,
)

GATEWAY_PREFIX = "sciaas-vpngw-"
GATEWAY_IMAGE = "secure-cloud-iaas/vpn-gateway:debian12"
GATEWAY_BASE = "debian12"
PACKAGES = ["charon-systemd", "strongswan-swanctl", "libstrongswan-standard-plugins", "libcharon-extra-plugins",
            "nftables"]
# Routes this provider puts in instances carry this protocol number (an unused
# one: not in /etc/iproute2/rt_protos), so a re-sync finds exactly its own.
ROUTE_PROTO = "235"
IPT_COMMENT = "secure_cloud.iaas vpn"
SETTINGS_FILE = "/etc/strongswan.d/sciaas-vpn.conf"
FILE_PREFIX = "sciaas-"

FIREWALL_TABLE = "sciaas_vpn"
# Probe and settings are the IPsec policy's (module_utils/ipsec), as the ipsec_gateway role's are.
# _PROBE exits 0 only where the kernel has ESP.
_PROBE = probe_command("auto")


def render_settings(backend):
    """The gateway's strongSwan settings; the first line names the backend (read back from the gateway)."""
    return ("# Managed by secure_cloud.iaas (vpn_tunnel). backend: %s\n" % backend
            + swanctl.render_settings(backend=backend, retransmit=swanctl.RETRANSMIT))


def gateway_name(location):
    return GATEWAY_PREFIX + location


def render_connection(tunnel, public_ip):
    """The swanctl connection of one tunnel (no secret in it)."""
    return ("# Managed by secure_cloud.iaas (vpn_tunnel %s).\n" % tunnel["name"]
            + swanctl.render_connection(connection.from_tunnel(tunnel, public_ip), FILE_PREFIX))


def render_psk(tunnel, psk):
    return swanctl.render_psk(tunnel["name"], psk, tunnel["remote_id"])


def render_firewall(tunnels, public_ifname, backend):
    """Forward only served subnet <-> peer subnet through the tunnel; on the public side only IKE/ESP/ICMP.

    Loaded by nftables.service at boot (hence the interpreter line).
    """
    conns = [dict(name=t["name"], local_ts=t["local_subnets"], remote_ts=t["peer_subnets"])
             for t in sorted(tunnels, key=lambda t: t["name"])]
    return ("#!/usr/sbin/nft -f\n# Managed by secure_cloud.iaas (vpn_tunnel).\n"
            + firewall.render_firewall(conns, public_ifname, backend, FIREWALL_TABLE))


class Vpn(object):
    """engine: the Engine; store: the state store; vlans, instances, images: those drivers; run: the host's command runner."""

    def __init__(self, engine, store, vlans, instances, run, images=None):
        self.engine = engine
        self.store = store
        self.vlans = vlans
        self.instances = instances
        self.run = run
        self.images = images

    # -- reading -------------------------------------------------------------
    def _gateway(self, location):
        try:
            container = self.engine.client.containers.get(gateway_name(location))
        except Exception:  # pylint: disable=broad-except
            return None
        labels = container.attrs["Config"].get("Labels") or {}
        if labels.get(KIND_LABEL) != "vpn_gateway":
            raise IaasError("a container named %s exists but is not a VPN gateway of this collection"
                            % gateway_name(location), field="location",
                            fix="remove that container, or use another location")
        return container

    @staticmethod
    def _gateway_addresses(container):
        """{vlan: ip} of a gateway container, read from its endpoints."""
        out = {}
        for net_name, endpoint in ((container.attrs.get("NetworkSettings") or {}).get("Networks") or {}).items():
            if net_name.startswith(NETWORK_PREFIX):
                ip = (endpoint.get("IPAMConfig") or {}).get("IPv4Address") or endpoint.get("IPAddress")
                if ip:
                    out[net_name[len(NETWORK_PREFIX):]] = ip
        return out

    def _gateway_exec(self, container, script, what, check=True):
        """(exit code, output) of a shell SCRIPT in the gateway; with CHECK, a failure is a ProviderError."""
        rc, output = self.engine.exec_status(container, ["/bin/sh", "-c", script], what=what)
        if check and rc != 0:
            raise ProviderError("could not %s in the VPN gateway %s (exit %s): %s"
                                % (what, container.name, rc, output[-2000:]))
        return rc, output

    def _gateway_state(self, container):
        """(backend, loaded connection names, list-sas output) of a running gateway."""
        if container is None:
            return None, set(), ""
        container.reload()
        if not container.attrs["State"].get("Running"):
            return None, set(), ""
        _rc, settings = self._gateway_exec(container, "cat %s 2>/dev/null || true" % SETTINGS_FILE, "read settings")
        match = re.search(r"backend: (\w+)", settings)
        _rc, conns = self._gateway_exec(container, "swanctl --list-conns --raw 2>/dev/null || true", "list connections")
        _rc, sas = self._gateway_exec(container, "swanctl --list-sas --noblock 2>/dev/null || true", "list SAs")
        loaded = set(re.findall(r"list-conn event \{([A-Za-z0-9_-]+) \{", conns))
        return match.group(1) if match else None, loaded, sas

    def _tunnel_from_record(self, rec, addresses, state):
        backend, loaded, sas = state
        return vpn_tunnel_result(
            name=rec["name"], location=rec["location"], vlans=rec["vlans"], public_vlan=rec["public_vlan"],
            local_subnets=rec["local_subnets"], peer_address=rec["peer_address"], peer_subnets=rec["peer_subnets"],
            authentication=rec["authentication"], local_id=rec.get("local_id") or addresses.get(rec["public_vlan"]),
            remote_id=rec["remote_id"], ike_proposals=rec["ike_proposals"], esp_proposals=rec["esp_proposals"],
            dpd_delay=rec["dpd_delay"], status=parse_status(rec["name"], sas, rec["name"] in loaded),
            gateway_address=addresses.get(rec["public_vlan"]), gateway_addresses=addresses, backend=backend,
            psk_file=rec.get("psk_file"), labels=rec.get("labels"), provider="docker", resource_id=rec["name"],
        )

    def record(self, name):
        """What the store holds for a tunnel (settings and the secret's fingerprint), or None."""
        return self.store.get(KIND, name)

    def list(self):
        records = self.store.list(KIND)
        out = []
        by_location = {}
        for rec in records.values():
            by_location.setdefault(rec["location"], []).append(rec)
        for location, recs in by_location.items():
            container = self._gateway(location)
            addresses = self._gateway_addresses(container) if container is not None else {}
            state = self._gateway_state(container)
            out.extend(self._tunnel_from_record(rec, addresses, state) for rec in recs)
        return sorted(out, key=lambda t: t["name"])

    def get(self, name):
        return next((t for t in self.list() if t["name"] == name), None)

    # -- planning the gateway ------------------------------------------------
    def plan_gateway(self, location, public_vlan, vlan_names):
        """{vlan: ip} the gateway has or would get on public_vlan and vlan_names."""
        container = self._gateway(location)
        have = self._gateway_addresses(container) if container is not None else {}
        vlans = dict((v["name"], v) for v in self.vlans.list())
        used = used_addresses(self.instances.list(keys=False), self.vlans.foreign_addresses(self.instances.names()))
        out = {}
        for name in [public_vlan] + sorted(vlan_names):
            if name in have:
                out[name] = have[name]
                continue
            ip = ipam.allocate(vlans[name], used.setdefault(name, {}), "vlans")
            used[name][str(ip)] = "the VPN gateway"
            out[name] = str(ip)
        return out

    def drift(self, tunnel):
        """What is not as it should be around an existing tunnel: [reason]; empty when in place."""
        reasons = []
        container = self._gateway(tunnel["location"])
        if container is None:
            return ["the VPN gateway %s is missing" % gateway_name(tunnel["location"])]
        container.reload()
        if not container.attrs["State"].get("Running"):
            return ["the VPN gateway %s is not running" % container.name]
        wanted = set([tunnel["public_vlan"]] + self._served_in(tunnel["location"]))
        if set(self._gateway_addresses(container)) != wanted:
            reasons.append("the gateway's vlans differ from the served vlans")
        if tunnel["status"] == STATUS_CONFIGURED:
            reasons.append("the connection is not loaded in the gateway")
        rc, _out = self._gateway_exec(container, "test -s /etc/swanctl/conf.d/%s%s.%s"
                                      % (FILE_PREFIX, tunnel["name"], "secret.conf" if tunnel["authentication"] == "psk"
                                         else "conf"), "check the secret file", check=False)
        if rc != 0:
            reasons.append("the tunnel's credentials are missing in the gateway")
        if self.engine.is_local():
            if self.bridge_rules(apply=False):
                reasons.append("the intra-bridge rules differ")
            if self.sync_routes(apply=False):
                reasons.append("instance routes to the peer subnets differ")
        return reasons

    def _served_in(self, location, records=None):
        records = self.store.list(KIND) if records is None else records
        return sorted(set(v for rec in records.values() if rec["location"] == location for v in rec["vlans"]))

    # -- the gateway container ------------------------------------------------
    def _gateway_image(self):
        try:
            return self.engine.client.images.get(GATEWAY_IMAGE).id
        except Exception:  # pylint: disable=broad-except
            return self.images.resolve(GATEWAY_BASE)["id"]

    def _new_gateway(self, location, addresses, public_vlan):
        """The gateway container, made (a guest like every instance), started and let boot."""
        name = gateway_name(location)
        labels = {MANAGED: "true", KIND_LABEL: "vpn_gateway", PREFIX + "location": location}
        networks = [(network_name(public_vlan), addresses[public_vlan])]
        networks += [(network_name(vlan), ip) for vlan, ip in sorted(addresses.items()) if vlan != public_vlan]
        # NET_ADMIN for xfrm, routes and nftables; /dev/net/tun for kernel-libipsec.
        container = self.engine.create_guest(name, self._gateway_image(), labels, guest.GATEWAY_MEMORY, networks,
                                             ("NET_ADMIN", "NET_RAW"), devices=("/dev/net/tun",),
                                             hostname="vpngw-" + location)
        try:
            self.engine.boot(container)
        except BaseException:
            self._remove_gateway(location)
            raise
        return container

    def _create_gateway(self, location, addresses, public_vlan, timeout):
        container = self._new_gateway(location, addresses, public_vlan)
        try:
            self.engine.wait_running(container, timeout)
            self._prepare_gateway(container)
        except BaseException:
            self._remove_gateway(location)
            raise
        container.reload()
        return container

    def gateway_ready(self, location):
        """The location's gateway runs with strongSwan installed and its backend chosen."""
        container = self._gateway(location)
        if container is None or not self.engine.still_running(container):
            return False
        return self._gateway_exec(container, "command -v swanctl && command -v nft && test -s %s" % SETTINGS_FILE,
                                  "look for strongSwan", check=False)[0] == 0

    def make_gateway(self, location, public_vlan, vlan_names):
        """The location's gateway container, made if missing (its addresses planned with everyone else's: call
        it in the transaction); ready_gateway() then boots it and installs strongSwan, outside."""
        container = self._gateway(location)
        if container is None:
            served = sorted(set(self._served_in(location)) | set(vlan_names))
            container = self._new_gateway(location, self.plan_gateway(location, public_vlan, served), public_vlan)
        return container

    def ready_gateway(self, location, timeout):
        """The location's gateway booted, with strongSwan installed (packages: a minute or more)."""
        container = self._gateway(location)
        if not self.engine.still_running(container):
            self.engine.api("start %s" % container.name, container.start)
            self.engine.boot(container)
        self.engine.wait_running(container, timeout)
        if not self.gateway_ready(location):
            self._prepare_gateway(container)

    def remove_unused_gateway(self, location):
        """The gateway goes when no tunnel of the store needs it (after a failed ready_gateway)."""
        if not any(r["location"] == location for r in self.store.list(KIND).values()):
            self._remove_gateway(location)

    def _prepare_gateway(self, container):
        """strongSwan installed, the ESP backend chosen by a probe, the tuned settings loaded."""
        rc, _out = self._gateway_exec(container, "command -v swanctl && command -v nft", "look for swanctl", check=False)
        if rc != 0:
            self._gateway_exec(container, "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && "
                                          "apt-get install -y -qq --no-install-recommends %s" % " ".join(PACKAGES),
                               "install strongSwan")
        rc, _out = self._gateway_exec(container, _PROBE, "probe kernel ESP", check=False)
        backend = "kernel" if rc == 0 else "libipsec"
        self.engine.put_file(container, SETTINGS_FILE, render_settings(backend), 0o644)
        self._gateway_exec(container, "systemctl enable -q nftables strongswan && systemctl restart strongswan",
                           "restart strongSwan with the chosen backend")
        return backend

    def _remove_gateway(self, location):
        container = self._gateway(location)
        if container is not None:
            self.engine.api("remove the VPN gateway %s" % container.name, container.remove, force=True, v=True)

    def _attach_vlans(self, container, addresses):
        have = self._gateway_addresses(container)
        for vlan, ip in sorted(addresses.items()):
            if vlan not in have:
                self.engine.api("attach %s to vlan %s" % (container.name, vlan), self.engine.client.api.connect_container_to_network,
                                container.id, network_name(vlan), ipv4_address=ip)
        for vlan in sorted(set(have) - set(addresses)):
            self.engine.api("detach %s from vlan %s" % (container.name, vlan),
                            self.engine.client.api.disconnect_container_from_network, container.id, network_name(vlan))
        container.reload()

    def _public_ifname(self, container, public_ip):
        _rc, out = self._gateway_exec(container, "ip -j addr show", "list interfaces")
        for link in json.loads(out or "[]"):
            if any(a.get("local") == public_ip for a in link.get("addr_info", [])):
                return link["ifname"]
        raise ProviderError("the VPN gateway %s has no interface with %s" % (container.name, public_ip))

    # -- applying -------------------------------------------------------------
    def apply(self, tunnel, secrets, record_extra, restart, timeout):
        """Store the tunnel, bring its location's gateway in line, load it; return the result.

        secrets: {"psk": str} or {"cacert", "cert", "key": PEM bytes}, or None to keep the files.
        restart: the settings changed, so the live SAs are replaced.
        """
        self._require_local()
        previous = self.store.get(KIND, tunnel["name"])
        record = dict((k, tunnel[k]) for k in (
            "name", "location", "vlans", "public_vlan", "local_subnets", "peer_address", "peer_subnets", "authentication",
            "local_id", "remote_id", "ike_proposals", "esp_proposals", "dpd_delay", "psk_file", "labels"))
        record.update(record_extra)
        self.store.put(KIND, tunnel["name"], record)
        try:
            container = self._sync_location(tunnel["location"], timeout, new_secrets={tunnel["name"]: secrets})
            if restart and previous is not None:
                self._gateway_exec(container, "swanctl --terminate --ike %s --force --timeout 2 >/dev/null 2>&1; "
                                              "swanctl --initiate --child %s --timeout 1 >/dev/null 2>&1; true"
                                   % (tunnel["name"], tunnel["name"]), "restart the connection")
        except BaseException:
            # Nothing half-made: the store and the gateway as before.
            if previous is None:
                self.store.delete(KIND, tunnel["name"])
            else:
                self.store.put(KIND, tunnel["name"], previous)
            try:
                self._sync_location(tunnel["location"], timeout)
            except Exception:  # pylint: disable=broad-except
                pass
            raise
        return self.get(tunnel["name"])

    def delete(self, current, timeout):
        self._require_local()
        self.store.delete(KIND, current["name"])
        container = self._gateway(current["location"])
        if container is not None and container.attrs["State"].get("Running"):
            self._gateway_exec(container, "swanctl --terminate --ike %s --force --timeout 2 >/dev/null 2>&1; "
                                          "rm -f /etc/swanctl/conf.d/%s%s.conf /etc/swanctl/conf.d/%s%s.secret.conf "
                                          "/etc/swanctl/x509/%s%s.pem /etc/swanctl/x509ca/%s%s.ca.pem "
                                          "/etc/swanctl/private/%s%s.pem; true"
                               % ((current["name"],) + (FILE_PREFIX, current["name"]) * 5), "remove the connection")
        self._sync_location(current["location"], timeout)

    def wait(self, name, timeout):
        """Until the tunnel is established; a timeout fails naming what it waited for."""
        def failure(tunnel):
            return ProviderError(
                "tunnel %s was not established within wait_timeout=%ss (status %s): waited for its IKE_SA "
                "ESTABLISHED and CHILD_SA INSTALLED with peer %s" % (name, timeout, tunnel and tunnel["status"],
                                                                     tunnel and tunnel["peer_address"]),
                field="wait_timeout",
                fix="check that the peer is up with matching settings (docker exec %s swanctl --list-sas; "
                    "journalctl -u strongswan), or use wait: false" % gateway_name(tunnel["location"]))
        return poll.until(lambda: self.get(name), lambda t: t and t["status"] == STATUS_ESTABLISHED, timeout, failure)

    def _require_local(self):
        if not self.engine.is_local():
            raise IaasError("VPN tunnels on the docker provider need the Docker engine on this host: the bridge "
                            "rules and instance routes are made from the host", field="docker_host",
                            fix="run the task on the Docker host (delegate_to the engine's machine)")

    def _sync_location(self, location, timeout, new_secrets=None):
        """The gateway of a location matches the store's tunnels there (made or removed as needed)."""
        records = self.store.list(KIND)
        tunnels = [r for r in records.values() if r["location"] == location]
        if not tunnels:
            self._remove_gateway(location)
            self.bridge_rules()
            self.sync_routes()
            return None
        public = tunnels[0]["public_vlan"]
        addresses = self.plan_gateway(location, public, self._served_in(location, records))
        container = self._gateway(location)
        if container is None:
            container = self._create_gateway(location, addresses, public, timeout)
        else:
            container.reload()
            if not container.attrs["State"].get("Running"):
                self.engine.api("start %s" % container.name, container.start)
                self.engine.wait_running(container, timeout)
            self._attach_vlans(container, addresses)
        backend = self._gateway_state(container)[0] or self._prepare_gateway(container)
        public_ip = addresses[public]
        self._gateway_exec(container, "ip route replace default via %s" % self._vlan_gateway(public),
                           "set the default route through the public vlan")
        for tunnel in tunnels:
            self._write_tunnel(container, tunnel, public_ip, (new_secrets or {}).get(tunnel["name"]))
        keep = set(t["name"] for t in tunnels)
        _rc, listing = self._gateway_exec(container, "ls /etc/swanctl/conf.d", "list connections")
        for fname in listing.split():
            match = re.match(r"^%s([a-z0-9-]+)\.(secret\.)?conf$" % FILE_PREFIX, fname)
            if match and match.group(1) not in keep:
                self._gateway_exec(container, "rm -f /etc/swanctl/conf.d/%s" % fname, "remove a stale connection")
        self.engine.put_file(container, "/etc/nftables.conf",
                             render_firewall(tunnels, self._public_ifname(container, public_ip), backend), 0o755)
        self._gateway_exec(container, "nft -f /etc/nftables.conf", "load the gateway firewall")
        self._gateway_exec(container, "swanctl --load-creds --clear --noprompt && swanctl --load-conns",
                           "load the connections")
        self.bridge_rules()
        self.sync_routes()
        return container

    def _vlan_gateway(self, vlan_name):
        vlan = next(v for v in self.vlans.list() if v["name"] == vlan_name)
        return vlan["gateway"]

    def _write_tunnel(self, container, tunnel, public_ip, secrets):
        name = tunnel["name"]
        self.engine.put_file(container, "/etc/swanctl/conf.d/%s%s.conf" % (FILE_PREFIX, name),
                             render_connection(tunnel, public_ip), 0o640)
        if not secrets:
            return
        if tunnel["authentication"] == "psk":
            self.engine.put_file(container, "/etc/swanctl/conf.d/%s%s.secret.conf" % (FILE_PREFIX, name),
                                 render_psk(tunnel, secrets["psk"]), 0o600)
            self._gateway_exec(container, "rm -f /etc/swanctl/private/%s%s.pem" % (FILE_PREFIX, name), "clean up")
        else:
            self.engine.put_file(container, "/etc/swanctl/x509ca/%s%s.ca.pem" % (FILE_PREFIX, name), secrets["cacert"], 0o644)
            self.engine.put_file(container, "/etc/swanctl/x509/%s%s.pem" % (FILE_PREFIX, name), secrets["cert"], 0o644)
            self.engine.put_file(container, "/etc/swanctl/private/%s%s.pem" % (FILE_PREFIX, name), secrets["key"], 0o600)
            self._gateway_exec(container, "rm -f /etc/swanctl/conf.d/%s%s.secret.conf" % (FILE_PREFIX, name),
                               "clean up")

    # -- the host: bridge rules and instance routes ----------------------------
    def _served_bridges(self):
        served = set(v for rec in self.store.list(KIND).values() for v in rec["vlans"])
        return sorted(self.vlans.bridge(v) for v in served if any(x["name"] == v for x in self.vlans.list()))

    def bridge_rules(self, apply=True):
        """One DOCKER-USER rule per served bridge: frames entering and leaving the same bridge pass.

        Returns True when something was (or would be) changed.
        """
        if not self.engine.is_local():
            return False
        rc, out, err = self.run(["iptables", "-w", "-S", "DOCKER-USER"])
        if rc != 0:
            raise ProviderError("cannot read the DOCKER-USER chain: %s" % (err or out).strip(), field="provider",
                                fix="run the module as root on the Docker host")
        have = set(re.findall(r'^-A DOCKER-USER -i (\S+) -o \1 -m comment --comment "%s" -j ACCEPT$'
                              % re.escape(IPT_COMMENT), out, re.M))
        want = set(self._served_bridges())
        if have == want:
            return False
        if not apply:
            return True
        for bridge in sorted(want - have):
            netns._run(self.run, ["iptables", "-w", "-I", "DOCKER-USER", "-i", bridge, "-o", bridge, "-m",
                                  "comment", "--comment", IPT_COMMENT, "-j", "ACCEPT"],
                       "accepting frames inside bridge %s" % bridge)
        for bridge in sorted(have - want):
            netns._run(self.run, ["iptables", "-w", "-D", "DOCKER-USER", "-i", bridge, "-o", bridge, "-m",
                                  "comment", "--comment", IPT_COMMENT, "-j", "ACCEPT"],
                       "removing the rule of bridge %s" % bridge)
        return True

    def sync_routes(self, apply=True):
        """Every running instance on a served vlan has a route to each peer subnet via the gateway, and no
        other route of ours. Returns True when something was (or would be) changed."""
        if not self.engine.is_local():
            return False
        records = list(self.store.list(KIND).values())
        gateways = {}
        for location in set(r["location"] for r in records):
            container = self._gateway(location)
            gateways[location] = self._gateway_addresses(container) if container is not None else {}
        changed = False
        for inst in self.instances.list(keys=False):
            if inst.get("state") != "running":
                continue
            want = {}
            for rec in records:
                for net in inst["networks"]:
                    via = gateways.get(rec["location"], {}).get(net["vlan"])
                    if net["vlan"] in rec["vlans"] and via:
                        for subnet in rec["peer_subnets"]:
                            want[subnet] = via
            try:
                pid = self.instances.pid(inst["name"])
                if pid:
                    changed = self._routes_of(inst["name"], pid, want, apply) or changed
            except IaasError:
                # Stopped or removed since it was listed (forks of a play delete
                # instances while another run syncs): no routes to keep.
                if self.instances.still_running(inst["name"]):
                    raise
        return changed

    def _routes_of(self, name, pid, want, apply):
        """Instance NAME's routes of ours made WANT ({subnet: via}); True when they were not."""
        raw = netns.in_netns(self.run, pid, ["ip", "-j", "route", "show", "proto", ROUTE_PROTO],
                             "listing routes of %s" % name)
        have = dict((r["dst"] if "/" in r["dst"] else r["dst"] + "/32", r.get("gateway"))
                    for r in json.loads(raw or "[]"))
        if have == want:
            return False
        if not apply:
            return True
        for dst in sorted(set(have) - set(want)):
            netns.in_netns(self.run, pid, ["ip", "route", "del", dst, "proto", ROUTE_PROTO],
                           "removing the route to %s from %s" % (dst, name))
        for dst, via in sorted(want.items()):
            if have.get(dst) != via:
                netns.in_netns(self.run, pid, ["ip", "route", "replace", dst, "via", via, "proto", ROUTE_PROTO],
                               "routing %s via the VPN gateway in %s" % (dst, name))
        return True
