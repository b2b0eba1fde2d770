# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Neutron VPNaaS objects of the tunnels: read back as tunnel results, made, replaced and removed.

- One VPN service per location, ``sciaas-vpngw-<location>``, on the router of
  the public vlan the location's tunnels face (made with the first tunnel,
  removed with the last), as the docker provider has one gateway per location.
  Some VPNaaS drivers allow only one VPN service per router.
- One tunnel ``<name>`` is four objects named ``sciaas-vpn-<name>``: an IKE
  policy, an IPsec policy, two endpoint groups (``-local``: the served vlans'
  subnets; ``-peer``: the peer's cidrs), and the IPsec site connection that ties
  them to the service and the peer with the pre-shared key.
- Nothing is kept in the state store: what the objects cannot say themselves
  (labels, psk_file, a salted fingerprint of the key) is kept in their
  descriptions. The key itself goes to Neutron only, in the site connection.
- Neutron refuses to change a policy in use, so any change replaces the
  tunnel's objects: the new policies and endpoint groups are made first, the
  old site connection is replaced, then the old objects go. A failure midway
  removes what was made and puts the old site connection back.
"""

from __future__ import annotations

import functools
import json

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import (
    STATUS_CONFIGURED,
    STATUS_CONNECTING,
    STATUS_ESTABLISHED,
    vpn_tunnel_result,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.conn import (
    MANAGED,
    NETWORK_PREFIX,
    PROVIDER_NAME,
    undo_quietly,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.proposals import proposal_name
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.routing import (
    router_external_ip,
    routing_want,
)

VPN_PREFIX = "sciaas-vpn-"
SERVICE_PREFIX = "sciaas-vpngw-"
META_PREFIX = "secure_cloud.iaas "
# Neutron's description fields hold at most 255 characters.
DESCRIPTION_MAX = 255
BACKEND = "neutron-vpnaas"
# Seconds after the DPD interval before the peer is declared dead (the docker
# provider's retransmits give up after about 7 s).
DPD_GIVE_UP = 7
STATUS_ERROR = "error"
# Neutron's site connection status -> the module's status.
STATUS = {"ACTIVE": STATUS_ESTABLISHED, "DOWN": STATUS_CONNECTING, "BUILD": STATUS_CONNECTING,
          "PENDING_CREATE": STATUS_CONFIGURED, "PENDING_UPDATE": STATUS_CONFIGURED,
          "PENDING_DELETE": STATUS_CONFIGURED, "ERROR": STATUS_ERROR}


def vpn_object_name(name):
    return VPN_PREFIX + name


def service_name(location):
    return SERVICE_PREFIX + location


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


def referenced_ids(conns):
    """The ids of the policies and endpoint groups the site connections use."""
    used = set()
    for conn in conns:
        used.update([conn.ikepolicy_id, conn.ipsecpolicy_id, conn.local_ep_group_id, conn.peer_ep_group_id])
    return used


def tunnel_objects(state, tunnel_name):
    """[(kind, object)]: the endpoint groups and policies in state (VpnSites.state()) named after the tunnel."""
    name = vpn_object_name(tunnel_name)
    return [(kind, obj) for kind in ("groups", "ipsec", "ike") for obj in state[kind].values()
            if obj.name in (name, name + "-local", name + "-peer")]


class VpnSites(object):
    """VPN services, policies, endpoint groups and IPsec site connections.

    Given the Connection, the Vlans driver and the VpnRouting driver (the
    served vlans' routing follows every site written or removed).
    """

    def __init__(self, conn, vlans, routing):
        self.conn = conn
        self.vlans = vlans
        self.routing = routing

    # -- the extension ----------------------------------------------------------
    def available(self):
        """True when the cloud offers VPNaaS (the 'vpnaas' network extension)."""
        return self.conn.cached("vpnaas", self._read_extension)

    def _read_extension(self):
        found = self.conn.api("look up the vpnaas extension", self.conn.network.find_extension, "vpnaas",
                              ignore_missing=True)
        return found is not None

    def require(self):
        if not self.available():
            raise IaasError("this OpenStack cloud does not offer VPNaaS (no 'vpnaas' network extension)",
                            field="provider", fix="ask the cloud's operator to enable neutron-vpnaas, or run the "
                                                  "VPN gateway as an instance (secure_cloud.iaas.ipsec_gateway role)")

    # -- reading ------------------------------------------------------------------
    def state(self):
        """Every VPNaaS object of the project, read once: {kind: {id: object}}."""
        net = self.conn.network
        state = {}
        for kind, what, func in (("conns", "list IPsec site connections", net.vpn_ipsec_site_connections),
                                 ("ike", "list IKE policies", net.vpn_ike_policies),
                                 ("ipsec", "list IPsec policies", net.vpn_ipsec_policies),
                                 ("services", "list VPN services", net.vpn_services),
                                 ("groups", "list endpoint groups", net.vpn_endpoint_groups)):
            state[kind] = dict((o.id, o) for o in self.conn.list(what, func))
        return state

    def site_connections(self, tunnel_name):
        """The IPsec site connections of a tunnel (one, or none)."""
        name = vpn_object_name(tunnel_name)
        return self.conn.list("find IPsec site connection %s" % name, self.conn.network.vpn_ipsec_site_connections,
                              name=name)

    def list_tunnels(self):
        """[vpn_tunnel result], read from the VPNaaS objects (a cloud without VPNaaS has none)."""
        if not self.available():
            return []
        state = self.state()
        conns = [c for c in state["conns"].values() if (c.name or "").startswith(VPN_PREFIX)]
        if not conns:
            return []
        net = self.conn.network
        vlans = self.vlans.vlans_by_name()
        by_network = dict((v["id"], v["name"]) for v in vlans.values())
        subnet_vlan = dict((s.id, by_network.get(s.network_id))
                           for s in self.conn.list("list subnets", net.subnets, tags=MANAGED))
        routers = dict((r.id, r) for r in self.conn.list("list routers", net.routers, tags=MANAGED))
        ports = self.routing.vpn_ports()
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
                       or (router_external_ip(router) if router is not None else None))
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
                psk_file=meta.get("psk_file"), labels=meta.get("labels"), provider=PROVIDER_NAME,
                resource_id=conn.id))
        return sorted(out, key=lambda t: t["name"])

    def record(self, name):
        """{secret_fingerprint} from the site connection's description (the key stays in Neutron)."""
        if not self.available():
            return None
        for conn in self.site_connections(name):
            return dict(secret_fingerprint=read_meta(conn.description).get("psk"))
        return None

    # -- writing ----------------------------------------------------------------------
    def _service(self, router, location):
        name = service_name(location)
        for service in self.conn.list("find VPN service %s" % name, self.conn.network.vpn_services, name=name):
            if service.router_id == router.id:
                return service
        return None

    def create_site(self, spec):
        """spec: {name, location, public_vlan, local_vlans, peer_address, peer_id, local_id, peer_cidrs, psk,
        ike, ipsec (Neutron policy fields), dpd_interval, descriptions}; an existing site of that name is replaced.

        The psk goes to Neutron only; it is never returned, and never in an error message.
        """
        psk = spec["psk"]
        try:
            site = self._put_site(spec)
        except IaasError as exc:
            raise _scrubbed(exc, psk)
        return dict(name=spec["name"], id=site.id, status=site.status, peer_address=site.peer_address,
                    peer_id=site.peer_id)

    def _put_site(self, spec):
        net = self.conn.network
        api = self.conn.api
        self.require()
        name = vpn_object_name(spec["name"])
        vlans = self.vlans.vlans_by_name()
        public = vlans.get(spec["public_vlan"])
        if public is None:
            raise IaasError("vlan %s does not exist" % spec["public_vlan"], field="public_vlan",
                            fix="create it with secure_cloud.iaas.vlan (type: public)")
        location = spec.get("location") or public["location"]
        router = self.routing.vlan_router(spec["public_vlan"])
        local_subnets = [self.vlans.subnet_id(vlans[v]) for v in spec["local_vlans"]]
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
        tunnels = self.list_tunnels()
        others = [t for t in tunnels if t["name"] != spec["name"]]
        current = [t for t in tunnels if t["name"] == spec["name"]]
        new = dict(vlans=spec["local_vlans"], peer_subnets=spec["peer_cidrs"], public_vlan=spec["public_vlan"])
        old_conn = next(iter(self.site_connections(spec["name"])), None)
        if old_conn is not None:
            # The key in force, for putting the old connection back should the new one fail.
            old_conn = api("read IPsec site connection %s" % name, net.get_vpn_ipsec_site_connection, old_conn.id)
        made, removed = [], None
        try:
            self.routing.sync(routing_want(others + current + [new]))
            service = self._service(router, location)
            if service is None:
                service = api("create VPN service %s" % service_name(location), net.create_vpn_service,
                              name=service_name(location), router_id=router.id,
                              description="secure_cloud.iaas VPN gateway of %s" % location)
                made.append(functools.partial(net.delete_vpn_service, service, ignore_missing=True))
            ike = api("create IKE policy %s" % name, net.create_vpn_ike_policy, name=name,
                      description=descriptions.get("ike", ""), **spec["ike"])
            made.append(functools.partial(net.delete_vpn_ike_policy, ike, ignore_missing=True))
            ipsec = api("create IPsec policy %s" % name, net.create_vpn_ipsec_policy, name=name,
                        description=descriptions.get("ipsec", ""), **spec["ipsec"])
            made.append(functools.partial(net.delete_vpn_ipsec_policy, ipsec, ignore_missing=True))
            local = api("create the local endpoint group of %s" % name, net.create_vpn_endpoint_group,
                        name=name + "-local", type="subnet", endpoints=local_subnets)
            made.append(functools.partial(net.delete_vpn_endpoint_group, local, ignore_missing=True))
            peer = api("create the peer endpoint group of %s" % name, net.create_vpn_endpoint_group,
                       name=name + "-peer", type="cidr", endpoints=list(spec["peer_cidrs"]))
            made.append(functools.partial(net.delete_vpn_endpoint_group, peer, ignore_missing=True))
            if old_conn is not None:
                api("replace IPsec site connection %s" % name, net.delete_vpn_ipsec_site_connection, old_conn,
                    ignore_missing=True)
                removed = old_conn
            site = api("create IPsec site connection %s" % name, net.create_vpn_ipsec_site_connection,
                       vpnservice_id=service.id, ikepolicy_id=ike.id, ipsecpolicy_id=ipsec.id,
                       local_ep_group_id=local.id, peer_ep_group_id=peer.id, **conn_attrs)
            made.append(functools.partial(net.delete_vpn_ipsec_site_connection, site, ignore_missing=True))
        except BaseException as exc:
            # Nothing half-made: what was made goes, the old connection comes back.
            undo_quietly(made)
            restored = True
            if removed is not None:
                restored = self._restore_site(removed, spec["psk"], descriptions)
            try:
                self.routing.sync(routing_want(others + current))
            except Exception:  # pylint: disable=broad-except
                pass
            self.conn.forget("ports")
            if not restored and isinstance(exc, IaasError):
                exc.msg += "; the previous site connection %s could not be put back (run the task again)" % name
            raise
        if removed is not None:
            for delete, obj_id in ((net.delete_vpn_endpoint_group, removed.local_ep_group_id),
                                   (net.delete_vpn_endpoint_group, removed.peer_ep_group_id),
                                   (net.delete_vpn_ipsec_policy, removed.ipsecpolicy_id),
                                   (net.delete_vpn_ike_policy, removed.ikepolicy_id)):
                if obj_id:
                    api("delete the replaced objects of %s" % name, delete, obj_id, ignore_missing=True)
        self._delete_leftovers(spec["name"], keep=(ike.id, ipsec.id, local.id, peer.id))
        self.routing.sync(routing_want(others + [new]))
        self.conn.forget("ports")
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
        state = self.state()
        used = referenced_ids(state["conns"].values()) | set(keep)
        deletes = dict(groups=net.delete_vpn_endpoint_group, ipsec=net.delete_vpn_ipsec_policy,
                       ike=net.delete_vpn_ike_policy)
        for kind, obj in tunnel_objects(state, tunnel_name):
            if obj.id not in used:
                self.conn.api("delete leftover %s" % obj.name, deletes[kind], obj, ignore_missing=True)

    def delete_site(self, name):
        """Delete the site connection and its objects in the order Neutron requires, then the VPN
        service when no site connection uses it, and the served vlans' routing no tunnel needs."""
        net = self.conn.network
        api = self.conn.api
        full = vpn_object_name(name)
        others = [t for t in self.list_tunnels() if t["name"] != name]
        for site in self.site_connections(name):
            api("delete IPsec site connection %s" % full, net.delete_vpn_ipsec_site_connection, site,
                ignore_missing=True)
        for group in self.conn.list("list endpoint groups", net.vpn_endpoint_groups):
            if group.name in (full + "-local", full + "-peer"):
                api("delete endpoint group %s" % group.name, net.delete_vpn_endpoint_group, group, ignore_missing=True)
        for policy in self.conn.list("list IPsec policies", net.vpn_ipsec_policies, name=full):
            api("delete IPsec policy %s" % full, net.delete_vpn_ipsec_policy, policy, ignore_missing=True)
        for policy in self.conn.list("list IKE policies", net.vpn_ike_policies, name=full):
            api("delete IKE policy %s" % full, net.delete_vpn_ike_policy, policy, ignore_missing=True)
        in_use = set(c.vpnservice_id for c in self.conn.list("list IPsec site connections",
                                                             net.vpn_ipsec_site_connections))
        for service in self.conn.list("list VPN services", net.vpn_services):
            if (service.name or "").startswith(SERVICE_PREFIX) and service.id not in in_use:
                api("delete VPN service %s" % service.name, net.delete_vpn_service, service, ignore_missing=True)
        self.routing.sync(routing_want(others))


def _scrubbed(exc, secret):
    """The error with every occurrence of the secret masked (a cloud may echo a refused value)."""
    if secret and isinstance(exc, IaasError):
        exc.msg = (exc.msg or "").replace(secret, "********")
        exc.fix = exc.fix.replace(secret, "********") if exc.fix else exc.fix
        exc.args = tuple(str(a).replace(secret, "********") for a in exc.args)
    return exc
