# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site-to-site tunnels on the openstack provider: Neutron VPNaaS (mixed into OpenStackProvider).

- One VPN service per location, ``sciaas-vpngw-<location>``, on the router of
  the public vlan the location's tunnels face (made with the first tunnel,
  removed with the last), as the docker provider has one gateway per location.
  Some VPNaaS drivers allow only one VPN service per router.
- One tunnel ``<name>`` is four objects named ``sciaas-vpn-<name>``: an IKE
  policy, an IPsec policy, two endpoint groups (``-local``: the served vlans'
  subnets; ``-peer``: the peer's cidrs), and the IPsec site connection that ties
  them to the service and the peer with the pre-shared key.
- VPNaaS only serves subnets attached to the service's router, and a private
  vlan has no router: each served vlan gets a port ``sciaas-vpnrt-<vlan>``
  (an address allocated like an instance's, never the vlan's gateway, so the
  guests' default route does not change) attached to that router, a host route
  per peer subnet via that port on the vlan's subnet (DHCP option 121), and a
  rule in the vlan's security group per peer subnet. Removed again with the
  last tunnel that serves the vlan.
- The module's strongSwan-style proposals are mapped onto Neutron's policy
  fields (``map_proposal``); Neutron holds one proposal per policy, so the
  first proposal of each list is used and the others are reported, and
  anything Neutron cannot express fails naming the field, before any write.
- Nothing is kept in the state store: what the objects cannot say themselves
  (labels, psk_file, a salted fingerprint of the key) is kept in their
  descriptions. The key itself goes to Neutron only, in the site connection.
- Neutron refuses to change a policy in use, so any change replaces the
  tunnel's objects: the new policies and endpoint groups are made first, the
  old site connection is replaced, then the old objects go. A failure midway
  removes what was made and puts the old site connection back.
"""

from __future__ import annotations

import json
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model import ipam
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import used_addresses
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import (
    AEAD,
    DH,
    ENC,
    ESN,
    INTEG,
    PRF,
    STATUS_CONFIGURED,
    STATUS_CONNECTING,
    STATUS_ESTABLISHED,
    vpn_tunnel_result,
)

VPN_PREFIX = "sciaas-vpn-"
SERVICE_PREFIX = "sciaas-vpngw-"
ROUTER_PORT_PREFIX = "sciaas-vpnrt-"
META_PREFIX = "secure_cloud.iaas "
# Neutron's description fields hold at most 255 characters.
DESCRIPTION_MAX = 255
RULE_DESCRIPTION = "secure_cloud.iaas vpn_tunnel"
BACKEND = "neutron-vpnaas"
# Neutron's default SA lifetime, for IKE and IPsec (IKEv2 does not negotiate it).
LIFETIME = 3600
# Seconds after the DPD interval before the peer is declared dead (the docker
# provider's retransmits give up after about 7 s).
DPD_GIVE_UP = 7
STATUS_ERROR = "error"
# Neutron's site connection status -> the module's status.
STATUS = {"ACTIVE": STATUS_ESTABLISHED, "DOWN": STATUS_CONNECTING, "BUILD": STATUS_CONNECTING,
          "PENDING_CREATE": STATUS_CONFIGURED, "PENDING_UPDATE": STATUS_CONFIGURED,
          "PENDING_DELETE": STATUS_CONFIGURED, "ERROR": STATUS_ERROR}

# strongSwan cipher -> Neutron encryption_algorithm (aes256gcm is strongSwan's alias of aes256gcm16).
ENCRYPTION = {"aes128": "aes-128", "aes192": "aes-192", "aes256": "aes-256",
              "aes128ctr": "aes-128-ctr", "aes192ctr": "aes-192-ctr", "aes256ctr": "aes-256-ctr"}
for _bits in ("128", "192", "256"):
    ENCRYPTION["aes%sgcm" % _bits] = "aes-%s-gcm-16" % _bits
    for _icv in ("12", "16"):
        ENCRYPTION["aes%sgcm%s" % (_bits, _icv)] = "aes-%s-gcm-%s" % (_bits, _icv)
        ENCRYPTION["aes%sccm%s" % (_bits, _icv)] = "aes-%s-ccm-%s" % (_bits, _icv)
# strongSwan integrity or PRF -> Neutron auth_algorithm (one hash for both).
HASH = {"sha256": "sha256", "sha2_256": "sha256", "prfsha256": "sha256",
        "sha384": "sha384", "sha2_384": "sha384", "prfsha384": "sha384",
        "sha512": "sha512", "sha2_512": "sha512", "prfsha512": "sha512"}
# strongSwan key exchange -> Neutron pfs (the IANA group numbers).
GROUP = {"modp2048": "group14", "modp3072": "group15", "modp4096": "group16", "modp6144": "group17",
         "modp8192": "group18", "ecp256": "group19", "ecp384": "group20", "ecp521": "group21",
         "ecp256bp": "group28", "ecp384bp": "group29", "ecp512bp": "group30",
         "x25519": "group31", "curve25519": "group31"}
# The way back, in the canonical spelling the module reports.
CANONICAL_ENCRYPTION = dict((v, k) for k, v in ENCRYPTION.items() if not k.endswith("gcm"))
CANONICAL_GROUP = dict((v, k) for k, v in GROUP.items() if k != "curve25519")
NEUTRON_AEAD = frozenset(v for k, v in ENCRYPTION.items() if k in AEAD)
# Sent as auth_algorithm of an IPsec policy with an AEAD cipher: Neutron needs
# one, strongSwan drops integrity algorithms next to an AEAD cipher in ESP.
AEAD_ESP_AUTH = "sha256"


def vpn_object_name(name):
    return VPN_PREFIX + name


def service_name(location):
    return SERVICE_PREFIX + location


# -- proposal mapping (pure) -----------------------------------------------------
def map_proposal(entry, kind, index=0):
    """One checked proposal (vpn_tunnel.check_proposals) -> Neutron policy fields, or IaasError.

    kind: 'ike' or 'esp'. Returns {encryption_algorithm, auth_algorithm, pfs}.
    """
    field = "%s_proposals[%d]" % (kind, index)
    algs = str(entry).lower().split("-")
    ciphers = [a for a in algs if a in ENC or a in AEAD]
    hashes = [a for a in algs if a in INTEG or a in PRF]
    groups = [a for a in algs if a in DH]
    example = "aes256gcm16-prfsha384-ecp384" if kind == "ike" else "aes256gcm16-ecp384"
    if len(ciphers) != 1:
        raise IaasError("%r lists %d ciphers (%s): a Neutron policy holds one encryption_algorithm"
                        % (entry, len(ciphers), ", ".join(ciphers)), field=field,
                        fix="give one cipher per proposal, e.g. %s" % example)
    encryption = ENCRYPTION.get(ciphers[0])
    if encryption is None:
        raise IaasError("Neutron VPNaaS has no encryption_algorithm for %s (%r)" % (ciphers[0], entry), field=field,
                        fix="use AES-GCM (e.g. %s) or AES with SHA-2; for other ciphers run the VPN gateway on an "
                            "instance (secure_cloud.iaas.ipsec_gateway role)" % example)
    neutron_hashes = sorted(set(HASH[a] for a in hashes))
    if len(neutron_hashes) > 1:
        raise IaasError("%r names %s: a Neutron policy has one auth_algorithm for integrity and PRF"
                        % (entry, " and ".join(neutron_hashes)), field=field,
                        fix="use one hash in the proposal, e.g. %s" % example)
    if neutron_hashes:
        auth = neutron_hashes[0]
    elif kind == "esp" and encryption in NEUTRON_AEAD:
        auth = AEAD_ESP_AUTH
    else:  # check_proposals refuses this already
        raise IaasError("%r has no integrity algorithm" % (entry,), field=field, fix="add one, e.g. %s" % example)
    if len(groups) > 1:
        raise IaasError("%r lists %d key exchange groups: a Neutron policy holds one pfs group" % (entry, len(groups)),
                        field=field, fix="give one group per proposal, e.g. %s" % example)
    if not groups:
        raise IaasError("%r has no key exchange group: Neutron's %s policy always uses one (pfs)"
                        % (entry, "IKE" if kind == "ike" else "IPsec"), field=field,
                        fix="add one, e.g. %s-ecp384" % entry)
    pfs = GROUP.get(groups[0])
    if pfs is None:
        raise IaasError("Neutron VPNaaS has no pfs group for %s (%r)" % (groups[0], entry), field=field,
                        fix="use ecp384 (group20), ecp256 (group19), x25519 (group31) or modp3072 (group15)")
    if "esn" in algs:
        raise IaasError("Neutron VPNaaS cannot ask for extended sequence numbers (esn in %r)" % (entry,),
                        field=field, fix="leave esn out (Neutron's drivers use noesn)")
    unknown = [a for a in algs if a not in ciphers and a not in hashes and a not in groups and a not in ESN]
    if unknown:
        raise IaasError("%r has %s, which Neutron VPNaaS cannot express" % (entry, ", ".join(unknown)), field=field,
                        fix="use e.g. %s" % example)
    return dict(encryption_algorithm=encryption, auth_algorithm=auth, pfs=pfs)


def proposal_name(attrs, kind):
    """Neutron policy fields -> the proposal in the module's canonical spelling."""
    neutron_enc = attrs.get("encryption_algorithm")
    enc = CANONICAL_ENCRYPTION.get(neutron_enc, neutron_enc)
    auth = attrs.get("auth_algorithm")
    group = CANONICAL_GROUP.get(attrs.get("pfs"), attrs.get("pfs"))
    if neutron_enc in NEUTRON_AEAD:
        parts = [enc, "prf" + str(auth), group] if kind == "ike" else [enc, group]
    else:
        parts = [enc, auth, group]
    return "-".join(str(p) for p in parts)


def neutron_policies(tunnel):
    """(ike policy fields, ipsec policy fields, [note]) for a tunnel; IaasError when one cannot be expressed.

    Neutron offers one proposal per policy: the first of each list is used,
    the others are named in the notes.
    """
    if tunnel.get("authentication", "psk") != "psk":
        raise IaasError("Neutron VPNaaS authenticates only with a pre-shared key", field="authentication",
                        fix="use authentication: psk, or run the VPN gateway on an instance "
                            "(secure_cloud.iaas.ipsec_gateway role) for certificates")
    out, notes = [], []
    for kind in ("ike", "esp"):
        proposals = tunnel["%s_proposals" % kind]
        attrs = map_proposal(proposals[0], kind, 0)
        lifetime = dict(units="seconds", value=LIFETIME)
        if kind == "ike":
            attrs.update(ike_version="v2", phase1_negotiation_mode="main", lifetime=lifetime)
        else:
            attrs.update(transform_protocol="esp", encapsulation_mode="tunnel", lifetime=lifetime)
        out.append(attrs)
        if len(proposals) > 1:
            notes.append("%s_proposals: Neutron VPNaaS offers one proposal per policy: the tunnel uses %s and "
                         "not %s" % (kind, proposal_name(attrs, kind), ", ".join(proposals[1:])))
    return out[0], out[1], notes


def meta_description(values, field):
    """A description carrying values the collection reads back; IaasError when too long for Neutron."""
    text = META_PREFIX + json.dumps(values, sort_keys=True, separators=(",", ":"))
    if len(text) > DESCRIPTION_MAX:
        raise IaasError("is too long to keep on the OpenStack objects (%d characters, at most %d with its "
                        "framing)" % (len(text), DESCRIPTION_MAX), field=field,
                        fix="shorten it (labels: fewer or shorter values; psk_file: a shorter path)")
    return text


def read_meta(description):
    text = description or ""
    if not text.startswith(META_PREFIX):
        return {}
    try:
        values = json.loads(text[len(META_PREFIX):])
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def routing_want(tunnels):
    """{vlan: {"public_vlan", "peers"}} every served vlan needs, from tunnel results or specs."""
    want = {}
    for tunnel in tunnels:
        if not tunnel.get("public_vlan"):
            continue
        for vlan in tunnel["vlans"]:
            entry = want.setdefault(vlan, dict(public_vlan=tunnel["public_vlan"], peers=set()))
            entry["peers"].update(tunnel["peer_subnets"])
    return want


class OpenStackVpn(object):
    """Needs from its host class: conn, params, poll_interval, _api, _list, _forget, _cache,
    _subnet_id, _managed_ports, list_vlans, list_instances, foreign_addresses."""

    # -- the extension ----------------------------------------------------------
    def vpnaas_available(self):
        if "vpnaas" not in self._cache:
            ext = self._api("look up the vpnaas extension", self.conn.network.find_extension, "vpnaas",
                            ignore_missing=True)
            self._cache["vpnaas"] = ext is not None
        return self._cache["vpnaas"]

    def _require_vpnaas(self):
        if not self.vpnaas_available():
            raise IaasError("this OpenStack cloud does not offer VPNaaS (no 'vpnaas' network extension)",
                            field="provider", fix="ask the cloud's operator to enable neutron-vpnaas, or run the "
                                                  "VPN gateway as an instance (secure_cloud.iaas.ipsec_gateway role)")

    # -- reading ------------------------------------------------------------------
    def _vlan_router(self, vlan_name, field="public_vlan"):
        from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import network_name
        router = next(iter(self._list("find the router of vlan %s" % vlan_name, self.conn.network.routers,
                                      name=network_name(vlan_name))), None)
        if router is None:
            raise IaasError("vlan %s has no router (is it public?)" % vlan_name, field=field,
                            fix="give a public vlan; its router carries the VPN service")
        return router

    @staticmethod
    def _router_external_ip(router):
        info = getattr(router, "external_gateway_info", None) or {}
        for fixed in info.get("external_fixed_ips") or []:
            if ":" not in (fixed.get("ip_address") or ":"):
                return fixed["ip_address"]
        return None

    def _vpn_ports(self):
        """{vlan: port} of the VPN router ports."""
        from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import read_tags
        out = {}
        for port in self._managed_ports():
            values = read_tags(port.tags)[0]
            if values.get("kind") == "vpn_port":
                out[values.get("vlan")] = port
        return out

    def _vpn_state(self):
        """Every VPNaaS object of the project, read once: {kind: {id: object}}."""
        net = self.conn.network
        state = {}
        for kind, what, func in (("conns", "list IPsec site connections", net.vpn_ipsec_site_connections),
                                 ("ike", "list IKE policies", net.vpn_ike_policies),
                                 ("ipsec", "list IPsec policies", net.vpn_ipsec_policies),
                                 ("services", "list VPN services", net.vpn_services),
                                 ("groups", "list endpoint groups", net.vpn_endpoint_groups)):
            state[kind] = dict((o.id, o) for o in self._list(what, func))
        return state

    def list_vpn_sites(self):
        """[{name, id, status, peer_address, peer_id}] of the collection's site connections."""
        if not self.vpnaas_available():
            return []
        out = []
        for conn in self._list("list IPsec site connections", self.conn.network.vpn_ipsec_site_connections):
            if not (conn.name or "").startswith(VPN_PREFIX):
                continue
            out.append(dict(name=conn.name[len(VPN_PREFIX):], id=conn.id, status=conn.status,
                            peer_address=conn.peer_address, peer_id=conn.peer_id))
        return sorted(out, key=lambda s: s["name"])

    def list_vpn_tunnels(self):
        """[vpn_tunnel result], read from the VPNaaS objects (a cloud without VPNaaS has none)."""
        if not self.vpnaas_available():
            return []
        state = self._vpn_state()
        conns = [c for c in state["conns"].values() if (c.name or "").startswith(VPN_PREFIX)]
        if not conns:
            return []
        from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import MANAGED, NETWORK_PREFIX
        vlans = dict((v["name"], v) for v in self.list_vlans())
        by_network = dict((v["id"], v["name"]) for v in vlans.values())
        subnet_vlan = dict((s.id, by_network.get(s.network_id))
                           for s in self._list("list subnets", self.conn.network.subnets, tags=MANAGED))
        routers = dict((r.id, r) for r in self._list("list routers", self.conn.network.routers, tags=MANAGED))
        ports = self._vpn_ports()
        out = []
        for conn in conns:
            service = state["services"].get(conn.vpnservice_id)
            router = routers.get(service.router_id) if service is not None else None
            public = (router.name[len(NETWORK_PREFIX):] if router is not None
                      and (router.name or "").startswith(NETWORK_PREFIX) else None)
            local = state["groups"].get(conn.local_ep_group_id)
            peer = state["groups"].get(conn.peer_ep_group_id)
            served = sorted(set(subnet_vlan.get(s) or s for s in (local.endpoints if local is not None else [])))
            ike = state["ike"].get(conn.ikepolicy_id)
            ipsec = state["ipsec"].get(conn.ipsecpolicy_id)
            meta = read_meta(ike.description if ike is not None else None)
            meta.update(read_meta(ipsec.description if ipsec is not None else None))
            gateway = ((service.external_v4_ip if service is not None else None)
                       or (self._router_external_ip(router) if router is not None else None))
            addresses = dict((v, ports[v].fixed_ips[0]["ip_address"]) for v in served
                             if v in ports and ports[v].fixed_ips)
            if public and gateway:
                addresses[public] = gateway
            out.append(vpn_tunnel_result(
                name=conn.name[len(VPN_PREFIX):], location=(vlans.get(public) or {}).get("location"), vlans=served,
                public_vlan=public, local_subnets=[vlans[v]["cidr"] for v in served if v in vlans],
                peer_address=conn.peer_address, peer_subnets=list(peer.endpoints if peer is not None else []),
                authentication="psk", local_id=conn.local_id or gateway, remote_id=conn.peer_id,
                ike_proposals=[proposal_name(ike, "ike")] if ike is not None else [],
                esp_proposals=[proposal_name(ipsec, "esp")] if ipsec is not None else [],
                dpd_delay=(conn.dpd or {}).get("interval"), status=STATUS.get(conn.status, STATUS_CONNECTING),
                gateway_address=gateway, gateway_addresses=addresses, backend=BACKEND,
                psk_file=meta.get("psk_file"), labels=meta.get("labels"), provider=self.name,
                resource_id=conn.id))
        return sorted(out, key=lambda t: t["name"])

    def vpn_tunnel_record(self, name):
        """{secret_fingerprint} from the site connection's description (the key stays in Neutron)."""
        if not self.vpnaas_available():
            return None
        for conn in self._list("find IPsec site connection %s" % vpn_object_name(name),
                               self.conn.network.vpn_ipsec_site_connections, name=vpn_object_name(name)):
            return dict(secret_fingerprint=read_meta(conn.description).get("psk"))
        return None

    # -- planning ---------------------------------------------------------------------
    def prepare_vpn_tunnel(self, tunnel):
        """The tunnel as this provider carries it, and notes for the user; IaasError before any write.

        Proposals become the one Neutron policy each list maps to, in the
        canonical spelling the tunnel is read back with.
        """
        ike, ipsec, notes = neutron_policies(tunnel)
        meta_description(dict(labels=tunnel.get("labels") or {}), "labels")
        self._require_vpnaas()
        out = dict(tunnel, ike_proposals=[proposal_name(ike, "ike")], esp_proposals=[proposal_name(ipsec, "esp")],
                   backend=BACKEND)
        return out, notes

    def _free_address(self, vlan):
        used = used_addresses(self.list_instances())
        for name, extra in self.foreign_addresses().items():
            used.setdefault(name, {}).update(extra)
        return str(ipam.allocate(vlan, used.setdefault(vlan["name"], {}), "vlans"))

    def plan_vpn_gateway(self, location, public_vlan, vlan_names):
        """{vlan: address}: the router's external address under public_vlan, the VPN router port on each vlan."""
        router = self._vlan_router(public_vlan)
        out = {public_vlan: self._router_external_ip(router)}
        vlans = dict((v["name"], v) for v in self.list_vlans())
        ports = self._vpn_ports()
        used = used_addresses(self.list_instances())
        for name, extra in self.foreign_addresses().items():
            used.setdefault(name, {}).update(extra)
        for name in sorted(vlan_names):
            port = ports.get(name)
            if port is not None and port.fixed_ips:
                out[name] = port.fixed_ips[0]["ip_address"]
                continue
            ip = str(ipam.allocate(vlans[name], used.setdefault(name, {}), "vlans"))
            used[name][ip] = "the VPN router"
            out[name] = ip
        return out

    def vpn_drift(self, tunnel):
        """[reason] why an existing tunnel's objects are not in place; empty when they are."""
        reasons = []
        tunnels = self.list_vpn_tunnels()
        if not tunnel.get("public_vlan") or not tunnel.get("location"):
            reasons.append("its VPN service or router is missing")
        if not tunnel.get("ike_proposals") or not tunnel.get("esp_proposals"):
            reasons.append("its IKE or IPsec policy is missing")
        if tunnel.get("public_vlan"):
            want = routing_want(tunnels)
            reasons += self._sync_vpn_routing(want, apply=False, only=tunnel["vlans"])
        referenced = set()
        name = vpn_object_name(tunnel["name"])
        for conn in self._list("find the site connection", self.conn.network.vpn_ipsec_site_connections, name=name):
            referenced.update([conn.ikepolicy_id, conn.ipsecpolicy_id, conn.local_ep_group_id, conn.peer_ep_group_id])
        state = self._vpn_state()
        leftovers = [o for kind in ("ike", "ipsec", "groups") for o in state[kind].values()
                     if o.name in (name, name + "-local", name + "-peer") and o.id not in referenced]
        if leftovers:
            reasons.append("%d leftover VPNaaS object(s) named %s" % (len(leftovers), name))
        return reasons

    # -- routing of the served vlans ----------------------------------------------
    def _sync_vpn_routing(self, want, apply=True, only=None):
        """Served vlans attached to their VPN router, with host routes and security group rules for the peers.

        want: routing_want(). Returns [reason] for what was (or, with apply=False, would be) changed;
        only: the vlans to look at (all when None).
        """
        from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import (
            MANAGED,
            make_tags,
            network_name,
        )
        net = self.conn.network
        vlans = dict((v["name"], v) for v in self.list_vlans())
        ports = self._vpn_ports()
        reasons = []
        routers = {}
        for name in sorted(set(want) | set(ports)):
            if only is not None and name not in only:
                continue
            vlan = vlans.get(name)
            if vlan is None:
                continue
            entry = want.get(name)
            port = ports.get(name)
            subnet = next(iter(self._list("list subnets", net.subnets, network_id=vlan["id"])), None)
            group = next(iter(self._list("list security groups", net.security_groups, name=network_name(name),
                                         tags=MANAGED)), None)
            peers = sorted(entry["peers"]) if entry else []
            if entry is not None:
                router = routers.get(entry["public_vlan"]) or self._vlan_router(entry["public_vlan"])
                routers[entry["public_vlan"]] = router
                if port is None or port.device_id != router.id:
                    reasons.append("vlan %s is not attached to the VPN router" % name)
                    if apply:
                        if port is None:
                            ip = self._free_address(vlan)
                            port = self._api("create the VPN router port of vlan %s" % name, net.create_port,
                                             name=ROUTER_PORT_PREFIX + name, network_id=vlan["id"],
                                             fixed_ips=[dict(subnet_id=self._subnet_id(vlan), ip_address=ip)],
                                             description="secure_cloud.iaas VPN router port")
                            self._forget("ports")
                            self._api("tag port %s" % port.name, net.set_tags, port,
                                      make_tags(dict(kind="vpn_port", vlan=name)))
                        elif port.device_id:
                            self._api("detach vlan %s from another router" % name, net.remove_interface_from_router,
                                      port.device_id, port=port.id)
                        self._api("attach vlan %s to the VPN router" % name, net.add_interface_to_router, router,
                                  port=port.id)
                        self._forget("ports")
            ip = port.fixed_ips[0]["ip_address"] if port is not None and port.fixed_ips else None
            if subnet is not None:
                routes = [dict(r) for r in subnet.host_routes or []]
                ours = sorted(r["destination"] for r in routes if ip and r.get("nexthop") == ip)
                if ours != peers:
                    reasons.append("vlan %s does not route %s via the VPN router" % (name, ", ".join(peers)) if peers
                                   else "vlan %s still routes peer subnets via the VPN router" % name)
                    if apply:
                        keep = [r for r in routes if not (ip and r.get("nexthop") == ip)]
                        self._api("set the host routes of vlan %s" % name, net.update_subnet, subnet,
                                  host_routes=keep + [dict(destination=p, nexthop=ip) for p in peers])
            if group is not None:
                rules = [r for r in self._list("list security group rules", net.security_group_rules,
                                               security_group_id=group.id) if r.description == RULE_DESCRIPTION]
                have = dict((r.remote_ip_prefix, r) for r in rules)
                if sorted(have) != peers:
                    reasons.append("the security group of vlan %s does not admit exactly the peer subnets" % name)
                    if apply:
                        for cidr in peers:
                            if cidr not in have:
                                self._api("admit %s to vlan %s" % (cidr, name), net.create_security_group_rule,
                                          security_group_id=group.id, direction="ingress", ethertype="IPv4",
                                          remote_ip_prefix=cidr, description=RULE_DESCRIPTION)
                        for cidr, rule in have.items():
                            if cidr not in peers:
                                self._api("remove the rule for %s from vlan %s" % (cidr, name),
                                          net.delete_security_group_rule, rule, ignore_missing=True)
            if entry is None and port is not None:
                reasons.append("vlan %s is still attached to the VPN router" % name)
                if apply:
                    if port.device_id:
                        self._api("detach vlan %s from the VPN router" % name, net.remove_interface_from_router,
                                  port.device_id, port=port.id)
                    self._api("delete the VPN router port of vlan %s" % name, net.delete_port, port,
                              ignore_missing=True)
                    self._forget("ports")
        return reasons

    # -- writing ----------------------------------------------------------------------
    def _vpn_service(self, router, location):
        name = service_name(location)
        for service in self._list("find VPN service %s" % name, self.conn.network.vpn_services, name=name):
            if service.router_id == router.id:
                return service
        return None

    def create_vpn_site(self, spec):
        """spec: {name, location, public_vlan, local_vlans, peer_address, peer_id, local_id, peer_cidrs, psk,
        ike, ipsec (Neutron policy fields), dpd_interval, descriptions}; an existing site of that name is replaced.

        The psk goes to Neutron only; it is never returned, and never in an error message.
        """
        psk = spec["psk"]
        try:
            site = self._put_vpn_site(spec)
        except IaasError as exc:
            raise _scrubbed(exc, psk)
        return dict(name=spec["name"], id=site.id, status=site.status, peer_address=site.peer_address,
                    peer_id=site.peer_id)

    def _put_vpn_site(self, spec):
        net = self.conn.network
        self._require_vpnaas()
        name = vpn_object_name(spec["name"])
        vlans = dict((v["name"], v) for v in self.list_vlans())
        public = vlans.get(spec["public_vlan"])
        if public is None:
            raise IaasError("vlan %s does not exist" % spec["public_vlan"], field="public_vlan",
                            fix="create it with secure_cloud.iaas.vlan (type: public)")
        location = spec.get("location") or public["location"]
        router = self._vlan_router(spec["public_vlan"])
        local_subnets = [self._subnet_id(vlans[v]) for v in spec["local_vlans"]]
        ike_attrs = dict(spec.get("ike") or _legacy_policy(spec, "ike"))
        ipsec_attrs = dict(spec.get("ipsec") or _legacy_policy(spec, "esp"))
        descriptions = spec.get("descriptions") or {}
        interval = int(spec.get("dpd_interval") or 10)
        conn_attrs = dict(name=name, peer_address=spec["peer_address"],
                          peer_id=spec.get("peer_id") or spec["peer_address"], psk=spec["psk"],
                          initiator="bi-directional", description=descriptions.get("conn", ""),
                          dpd=dict(action="restart", interval=interval,
                                   timeout=int(spec.get("dpd_timeout") or interval + DPD_GIVE_UP)))
        if spec.get("local_id"):
            conn_attrs["local_id"] = spec["local_id"]
        # Everything is known and checked: from here on a failure undoes what was made.
        tunnels = self.list_vpn_tunnels()
        others = [t for t in tunnels if t["name"] != spec["name"]]
        current = [t for t in tunnels if t["name"] == spec["name"]]
        new = dict(vlans=spec["local_vlans"], peer_subnets=spec["peer_cidrs"], public_vlan=spec["public_vlan"])
        old_conn = next(iter(self._list("find IPsec site connection %s" % name, net.vpn_ipsec_site_connections,
                                        name=name)), None)
        if old_conn is not None:
            # The key in force, for putting the old connection back should the new one fail.
            old_conn = self._api("read IPsec site connection %s" % name, net.get_vpn_ipsec_site_connection,
                                 old_conn.id)
        made, removed = [], None
        try:
            self._sync_vpn_routing(routing_want(others + current + [new]))
            service = self._vpn_service(router, location)
            if service is None:
                service = self._api("create VPN service %s" % service_name(location), net.create_vpn_service,
                                    name=service_name(location), router_id=router.id,
                                    description="secure_cloud.iaas VPN gateway of %s" % location)
                made.append((net.delete_vpn_service, service))
            ike = self._api("create IKE policy %s" % name, net.create_vpn_ike_policy, name=name,
                            description=descriptions.get("ike", ""), **ike_attrs)
            made.append((net.delete_vpn_ike_policy, ike))
            ipsec = self._api("create IPsec policy %s" % name, net.create_vpn_ipsec_policy, name=name,
                              description=descriptions.get("ipsec", ""), **ipsec_attrs)
            made.append((net.delete_vpn_ipsec_policy, ipsec))
            local = self._api("create the local endpoint group of %s" % name, net.create_vpn_endpoint_group,
                              name=name + "-local", type="subnet", endpoints=local_subnets)
            made.append((net.delete_vpn_endpoint_group, local))
            peer = self._api("create the peer endpoint group of %s" % name, net.create_vpn_endpoint_group,
                             name=name + "-peer", type="cidr", endpoints=list(spec["peer_cidrs"]))
            made.append((net.delete_vpn_endpoint_group, peer))
            if old_conn is not None:
                self._api("replace IPsec site connection %s" % name, net.delete_vpn_ipsec_site_connection, old_conn,
                          ignore_missing=True)
                removed = old_conn
            site = self._api("create IPsec site connection %s" % name, net.create_vpn_ipsec_site_connection,
                             vpnservice_id=service.id, ikepolicy_id=ike.id, ipsecpolicy_id=ipsec.id,
                             local_ep_group_id=local.id, peer_ep_group_id=peer.id, **conn_attrs)
            made.append((net.delete_vpn_ipsec_site_connection, site))
        except BaseException as exc:
            # Nothing half-made: what was made goes, the old connection comes back.
            for delete, obj in reversed(made):
                _quietly(delete, obj)
            restored = True
            if removed is not None:
                restored = self._restore_site(removed, spec["psk"], descriptions)
            try:
                self._sync_vpn_routing(routing_want(others + current))
            except Exception:  # pylint: disable=broad-except
                pass
            self._forget("ports")
            if not restored and isinstance(exc, IaasError):
                exc.msg += "; the previous site connection %s could not be put back (run the task again)" % name
            raise
        if removed is not None:
            for delete, obj_id in ((net.delete_vpn_endpoint_group, removed.local_ep_group_id),
                                   (net.delete_vpn_endpoint_group, removed.peer_ep_group_id),
                                   (net.delete_vpn_ipsec_policy, removed.ipsecpolicy_id),
                                   (net.delete_vpn_ike_policy, removed.ikepolicy_id)):
                if obj_id:
                    self._api("delete the replaced objects of %s" % name, delete, obj_id, ignore_missing=True)
        self._delete_leftovers(spec["name"], keep=(ike.id, ipsec.id, local.id, peer.id))
        self._sync_vpn_routing(routing_want(others + [new]))
        self._forget("ports")
        return site

    def _restore_site(self, old, psk, descriptions):
        """Put a replaced site connection back with its own objects; False when that failed."""
        attrs = dict(name=old.name, vpnservice_id=old.vpnservice_id, ikepolicy_id=old.ikepolicy_id,
                     ipsecpolicy_id=old.ipsecpolicy_id, local_ep_group_id=old.local_ep_group_id,
                     peer_ep_group_id=old.peer_ep_group_id, peer_address=old.peer_address, peer_id=old.peer_id,
                     initiator=old.initiator or "bi-directional", dpd=old.dpd, description=old.description or "")
        if old.local_id:
            attrs["local_id"] = old.local_id
        if old.psk:
            attrs["psk"] = old.psk
        else:
            # The cloud did not hand the old key back: the old settings with the new key.
            attrs.update(psk=psk, description=descriptions.get("conn", ""))
        try:
            self.conn.network.create_vpn_ipsec_site_connection(**attrs)
        except Exception:  # pylint: disable=broad-except
            return False
        return True

    def _delete_leftovers(self, tunnel_name, keep=()):
        """Policies and endpoint groups named after the tunnel that no site connection uses."""
        net = self.conn.network
        name = vpn_object_name(tunnel_name)
        state = self._vpn_state()
        used = set()
        for conn in state["conns"].values():
            used.update([conn.ikepolicy_id, conn.ipsecpolicy_id, conn.local_ep_group_id, conn.peer_ep_group_id])
        for kind, delete in (("groups", net.delete_vpn_endpoint_group), ("ipsec", net.delete_vpn_ipsec_policy),
                             ("ike", net.delete_vpn_ike_policy)):
            for obj in state[kind].values():
                if obj.name in (name, name + "-local", name + "-peer") and obj.id not in used and obj.id not in keep:
                    self._api("delete leftover %s" % obj.name, delete, obj, ignore_missing=True)

    def delete_vpn_site(self, name):
        """Delete the site connection and its objects in the order Neutron requires, then the VPN
        service when no site connection uses it, and the served vlans' routing no tunnel needs."""
        net = self.conn.network
        full = vpn_object_name(name)
        others = [t for t in self.list_vpn_tunnels() if t["name"] != name]
        for site in self._list("list IPsec site connections", net.vpn_ipsec_site_connections, name=full):
            self._api("delete IPsec site connection %s" % full, net.delete_vpn_ipsec_site_connection, site,
                      ignore_missing=True)
        for group in self._list("list endpoint groups", net.vpn_endpoint_groups):
            if group.name in (full + "-local", full + "-peer"):
                self._api("delete endpoint group %s" % group.name, net.delete_vpn_endpoint_group, group,
                          ignore_missing=True)
        for policy in self._list("list IPsec policies", net.vpn_ipsec_policies, name=full):
            self._api("delete IPsec policy %s" % full, net.delete_vpn_ipsec_policy, policy, ignore_missing=True)
        for policy in self._list("list IKE policies", net.vpn_ike_policies, name=full):
            self._api("delete IKE policy %s" % full, net.delete_vpn_ike_policy, policy, ignore_missing=True)
        in_use = set(c.vpnservice_id for c in self._list("list IPsec site connections", net.vpn_ipsec_site_connections))
        for service in self._list("list VPN services", net.vpn_services):
            if (service.name or "").startswith(SERVICE_PREFIX) and service.id not in in_use:
                self._api("delete VPN service %s" % service.name, net.delete_vpn_service, service, ignore_missing=True)
        self._sync_vpn_routing(routing_want(others))

    # -- the provider interface (vpn_tunnel module) ------------------------------
    def apply_vpn_tunnel(self, tunnel, secrets, record_extra, restart, timeout):
        """Create the tunnel, or replace its objects when it exists (Neutron refuses to change a policy in use)."""
        psk = (secrets or {}).get("psk")
        if not psk:
            raise IaasError("Neutron VPNaaS needs the pre-shared key", field="psk",
                            fix="give psk, or let the module generate one into psk_file")
        ike, ipsec, _notes = neutron_policies(tunnel)
        descriptions = dict(
            conn=meta_description(dict(psk=(record_extra or {}).get("secret_fingerprint")), "psk"),
            ike=meta_description(dict(labels=tunnel.get("labels") or {}), "labels"),
            ipsec=meta_description(dict(psk_file=tunnel.get("psk_file")), "psk_file"))
        self.create_vpn_site(dict(
            name=tunnel["name"], location=tunnel["location"], public_vlan=tunnel["public_vlan"],
            local_vlans=tunnel["vlans"], peer_address=tunnel["peer_address"], peer_id=tunnel["remote_id"],
            local_id=tunnel.get("local_id"), peer_cidrs=tunnel["peer_subnets"], psk=psk, ike=ike, ipsec=ipsec,
            dpd_interval=tunnel["dpd_delay"], descriptions=descriptions))
        return self.get_vpn_tunnel(tunnel["name"])

    def wait_vpn_tunnel(self, name, timeout):
        """Until Neutron reports the site connection ACTIVE; ERROR or a timeout fail naming what to look at."""
        deadline = time.monotonic() + timeout
        while True:
            tunnel = self.get_vpn_tunnel(name)
            if tunnel and tunnel["status"] == STATUS_ESTABLISHED:
                return tunnel
            if tunnel and tunnel["status"] == STATUS_ERROR:
                raise ProviderError("Neutron reports IPsec site connection %s in ERROR" % vpn_object_name(name),
                                    fix="check that the peer %s has matching settings and the cloud's VPN agent "
                                        "logs (openstack vpn ipsec site connection show %s)"
                                        % (tunnel["peer_address"], vpn_object_name(name)))
            if time.monotonic() >= deadline:
                raise ProviderError(
                    "tunnel %s was not established within wait_timeout=%ss (status %s): waited for Neutron to report "
                    "IPsec site connection %s ACTIVE with peer %s" % (
                        name, timeout, tunnel and tunnel["status"], vpn_object_name(name),
                        tunnel and tunnel["peer_address"]), field="wait_timeout",
                    fix="check that the peer is up with matching settings (openstack vpn ipsec site connection "
                        "show %s), or use wait: false" % vpn_object_name(name))
            time.sleep(self.poll_interval)

    def delete_vpn_tunnel(self, current, timeout):
        self._require_vpnaas()
        self.delete_vpn_site(current["name"])


def _legacy_policy(spec, kind):
    """Policy fields from the flat spec keys (integrity, encryption, dh_group, lifetime)."""
    attrs = dict(auth_algorithm=spec.get("integrity", "sha256"), encryption_algorithm=spec.get("encryption", "aes-256"),
                 pfs=spec.get("dh_group", "group14"), lifetime=dict(units="seconds", value=spec.get("lifetime", LIFETIME)))
    if kind == "ike":
        attrs.update(ike_version=spec.get("ike_version", "v2"), phase1_negotiation_mode="main")
    else:
        attrs.update(transform_protocol="esp", encapsulation_mode="tunnel")
    return attrs


def _quietly(delete, obj):
    try:
        delete(obj, ignore_missing=True)
    except Exception:  # pylint: disable=broad-except
        pass


def _scrubbed(exc, secret):
    """The error with every occurrence of the secret masked (a cloud may echo a refused value)."""
    if secret and isinstance(exc, IaasError):
        exc.msg = (exc.msg or "").replace(secret, "********")
        exc.fix = exc.fix.replace(secret, "********") if exc.fix else exc.fix
        exc.args = tuple(str(a).replace(secret, "********") for a in exc.args)
    return exc
