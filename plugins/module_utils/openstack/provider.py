# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The openstack provider: a cloud reached through openstacksdk.

Mapping (every object carries the Neutron tag / Nova metadata
``secure_cloud.iaas.managed``; what the collection must remember about an
object lives on the object itself, never in the state store):

- location -> an availability zone of the region (``region_name``); the
              ``availability_zones`` option maps a location to another zone name.
- vlan     -> network ``sciaas-vlan-<name>`` + one IPv4 subnet (the vlan cidr,
              its gateway, DHCP limited to the automatic range so Neutron never
              hands out a vip address by itself) + security group
              ``sciaas-vlan-<name>``. A VLAN provider network with a segmentation
              id when ``provider_networks`` names the vlan (admin only), a tenant
              network otherwise. public: a router to ``external_network``;
              private: no router.
- instance -> server ``sciaas-<name>`` from a Glance image, a flavor that fits
              the requested cpus and memory, a keypair, one port per vlan with its
              fixed address; the admin user and its keys through cloud-init.
- vip      -> openstack_vips.py; vpn_tunnel (VPNaaS) -> openstack_vpn.py.

Only this file and the other openstack_*.py files import openstacksdk.
"""

from __future__ import annotations

import base64
import math
import os
import traceback

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model import ipam
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import instance_result, parse_memory
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vips import OpenStackVips
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn import OpenStackVpn
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import Capabilities, Provider
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import vlan_result

try:
    import openstack
    from openstack import exceptions as os_exc
    # openstacksdk's own dependency: a service that cannot be reached (connection
    # refused, no version document) fails with its exceptions, not the SDK's.
    from keystoneauth1 import exceptions as ksa_exc
    HAS_OPENSTACK = True
    OPENSTACK_IMPORT_ERROR = None
except ImportError:
    HAS_OPENSTACK = False
    OPENSTACK_IMPORT_ERROR = traceback.format_exc()

MANAGED = "secure_cloud.iaas.managed"
TAG = "sciaas:"
LABEL_TAG = TAG + "label:"
NETWORK_PREFIX = "sciaas-vlan-"
SERVER_PREFIX = "sciaas-"
META = "sciaas_"
# Nova metadata values hold at most 255 characters: keys are stored in chunks.
META_CHUNK = 255
# Neutron tags hold at most 255 characters.
TAG_MAX = 255


def network_name(vlan_name):
    return NETWORK_PREFIX + vlan_name


def server_name(instance_name):
    return SERVER_PREFIX + instance_name


def port_name(instance_name, vlan_name):
    return "%s%s-%s" % (SERVER_PREFIX, instance_name, vlan_name)


def make_tags(values, labels=None):
    """Neutron tags from {key: value} and the user's labels; IaasError when one is too long."""
    tags = [MANAGED] + ["%s%s=%s" % (TAG, k, v) for k, v in sorted(values.items()) if v is not None]
    tags += ["%s%s=%s" % (LABEL_TAG, k, v) for k, v in sorted((labels or {}).items())]
    for tag in tags:
        if len(tag) > TAG_MAX:
            raise IaasError("%r is too long for an OpenStack tag (%d characters at most)" % (tag, TAG_MAX),
                            field="labels", fix="shorten the label value")
    return tags


def read_tags(tags):
    """({key: value}, labels) from the tags make_tags wrote."""
    values, labels = {}, {}
    for tag in tags or []:
        if tag.startswith(LABEL_TAG):
            key, value = tag[len(LABEL_TAG):].partition("=")[::2]
            labels[key] = value
        elif tag.startswith(TAG):
            key, value = tag[len(TAG):].partition("=")[::2]
            values.setdefault(key, []).append(value)
    return dict((k, v[0] if len(v) == 1 else v) for k, v in values.items()), labels


def tag_list(values, key):
    """A tag that may appear several times (allowed instances), as a sorted list."""
    found = values.get(key)
    if found is None:
        return []
    return sorted(found) if isinstance(found, list) else [found]


def allocation_pools(cidr, gateway, automatic_range):
    """DHCP's pools: the automatic range without the gateway (Neutron refuses an overlap)."""
    net = ipam.parse_cidr(cidr)
    space = ipam.netaddr.IPSet([automatic_range]) - ipam.netaddr.IPSet([gateway, net.network, net.broadcast])
    return [dict(start=str(ipam.netaddr.IPAddress(r.first)), end=str(ipam.netaddr.IPAddress(r.last)))
            for r in space.iter_ipranges()]


def cloud_init(user, keys, hostname):
    """user_data (base64) that makes the admin user with passwordless sudo and its keys."""
    lines = ["#cloud-config", "hostname: %s" % hostname.split(".")[0], "fqdn: %s" % hostname,
             "users:", "  - name: %s" % user, "    groups: [sudo]", "    shell: /bin/bash",
             "    sudo: 'ALL=(ALL) NOPASSWD:ALL'", "    ssh_authorized_keys:"]
    lines += ["      - '%s'" % key.replace("'", "''") for key in keys]
    if not keys:
        lines[-1] = "    ssh_authorized_keys: []"
    return base64.b64encode(("\n".join(lines) + "\n").encode()).decode()


def meta_chunks(prefix, text):
    chunks = [text[i:i + META_CHUNK] for i in range(0, len(text), META_CHUNK)] or [""]
    return dict(("%s%d" % (prefix, i), chunk) for i, chunk in enumerate(chunks))


def meta_join(metadata, prefix):
    parts = []
    i = 0
    while "%s%d" % (prefix, i) in metadata:
        parts.append(metadata["%s%d" % (prefix, i)])
        i += 1
    return "".join(parts)


class GuardedConnection(object):
    """The SDK connection, each service proxy made under the error mapping.

    ``conn.network`` (and compute, image) is made on first use, after reading the
    service's version document when the endpoint is an override; a service that
    does not answer fails right there, before any call _api wraps.
    """

    def __init__(self, conn, unreachable):
        self.__dict__["_conn"] = conn
        self.__dict__["_unreachable"] = unreachable

    def __getattr__(self, name):
        try:
            return getattr(self._conn, name)
        except ksa_exc.ClientException as exc:
            raise self._unreachable(None, name.replace("_", "-"), exc)

    def __setattr__(self, name, value):
        setattr(self._conn, name, value)


class OpenStackProvider(OpenStackVips, OpenStackVpn, Provider):
    name = "openstack"
    # Seconds between two polls of a server's status (the SDK's interval).
    poll_interval = 2

    def __init__(self, params, store, run_command=None, connection=None):
        super(OpenStackProvider, self).__init__(params, store, run_command=run_command)
        if connection is None:
            connection = self._connect(params)
        self.conn = GuardedConnection(connection, self._unreachable)
        self._cache = {}

    def prepare_vpn_gateway(self, location, public_vlan, vlan_names, timeout):
        # Neutron's VPN service is the gateway: nothing to make or boot.
        return None

    def ensure_isolation(self, apply=True):
        # Neutron keeps networks apart itself (separate networks, security
        # groups made with each vlan): nothing of the host's to bring in line.
        return False

    def interface_names(self, networks, vlans):
        # The ports are attached in the order given.
        return ["eth%d" % i for i in range(len(networks))]

    def capabilities(self):
        # Nova cannot change a flavor or a keypair without a resize or a rebuild:
        # nothing of an instance changes in place on this provider.
        return Capabilities(mutable={"vlan": (), "instance": ()}, enforces=("vip_allow_list", "vlan_isolation"))

    @staticmethod
    def _connect(params):
        if not HAS_OPENSTACK:
            raise IaasError("openstacksdk is missing on the host that runs the module", field="provider",
                            fix="install it there (pip install 'openstacksdk>=4'), or use provider: docker")
        kwargs = {}
        if params.get("region_name"):
            kwargs["region_name"] = params["region_name"]
        if params.get("auth"):
            kwargs["auth"] = dict(params["auth"])
            if params.get("auth_type"):
                kwargs["auth_type"] = params["auth_type"]
        elif not params.get("cloud") and not os.environ.get("OS_CLOUD") and not os.environ.get("OS_AUTH_URL"):
            # openstacksdk reads OS_CLOUD and OS_* itself (the inventory plugin relies on that).
            raise IaasError("no cloud is named", field="cloud",
                            fix="name a cloud of clouds.yaml (cloud: mycloud, or OS_CLOUD), or give auth")
        try:
            conn = openstack.connect(cloud=params.get("cloud"), **kwargs)
            conn.authorize()
        except Exception as exc:  # pylint: disable=broad-except
            # The message of a failed authentication never carries the secret.
            raise ProviderError("could not sign in to OpenStack cloud %r: %s"
                                % (params.get("cloud") or "(auth)", type(exc).__name__ + ": " + _short(exc)),
                                field="cloud", fix="check clouds.yaml / OS_* variables and that the cloud answers")
        return conn

    # -- error mapping ------------------------------------------------------
    def _api(self, what, func, *args, **kwargs):
        """One SDK call; every failure becomes an IaasError a person can act on."""
        try:
            return func(*args, **kwargs)
        except os_exc.ResourceTimeout as exc:
            raise ProviderError("timed out waiting to %s (%s)" % (what, _short(exc)), field="wait_timeout",
                                fix="raise wait_timeout, or look at the resource in the cloud")
        except os_exc.ResourceFailure as exc:
            raise ProviderError("OpenStack failed to %s: %s" % (what, _short(exc)))
        except os_exc.HttpException as exc:
            raise _http_error(what, exc)
        except os_exc.SDKException as exc:
            raise ProviderError("OpenStack could not %s: %s" % (what, _short(exc)))
        except ksa_exc.ClientException as exc:
            raise self._unreachable(what, _service_of(func), exc)

    def _list(self, what, func, **query):
        def call():
            return list(func(**query))
        call.service_type = _service_of(func)
        return list(self._api(what, call))

    def _unreachable(self, what, service, exc):
        """The API did not answer (connection refused, no version document): name the cloud and the endpoint.

        ``what`` is the call (None when the service's proxy could not even be
        made: with an endpoint override the SDK reads the version document first).
        """
        cloud = getattr(self.conn.config, "name", None) or self.params.get("cloud") or os.environ.get("OS_CLOUD")
        endpoint = None
        if service:
            try:
                endpoint = self.conn.config.get_endpoint(service) or self.conn.endpoint_for(service)
            except Exception:  # pylint: disable=broad-except
                endpoint = None
        where = "the %s API%s" % (service or "OpenStack", " at %s" % endpoint if endpoint else "")
        return ProviderError("%s%s of cloud %r does not answer (%s: %s)"
                             % ("could not %s: " % what if what else "", where, cloud or "(auth)", type(exc).__name__,
                                _short(exc)), field="cloud",
                             fix="check that the endpoint is up and reachable from this host (curl it), and that "
                                 "clouds.yaml names the right one (the catalog's, or %s_endpoint_override)"
                                 % ((service or "network").replace("-", "_")),
                             service=service)

    # -- catalog ----------------------------------------------------------
    def list_images(self):
        """Active Glance images; id is Glance's multihash as '<os_hash_algo>:<hex>' (sha512 by default)."""
        if "images" in self._cache:
            return self._cache["images"]
        out = []
        for image in self._list("list images", self.conn.image.images, status="active"):
            digest = None
            if image.hash_algo and image.hash_value:
                digest = "%s:%s" % (image.hash_algo, image.hash_value)
            out.append(dict(name=image.name, reference=image.id, id=digest or image.id,
                            digests=[digest] if digest else [], uuid=image.id, min_disk=image.min_disk or 0))
        self._cache["images"] = sorted(out, key=lambda i: i["name"] or "")
        return self._cache["images"]

    def resolve_image(self, image):
        catalog = self.list_images()
        found = [e for e in catalog if image in (e["name"], e["reference"])]
        if len(found) > 1:
            raise IaasError("%d images are named %r" % (len(found), image), field="image",
                            fix="give the image's id instead (one of %s)" % ", ".join(e["uuid"] for e in found))
        if not found:
            raise IaasError("%r is not in the image catalog" % (image,), field="image",
                            fix="use one of: %s" % (", ".join(sorted(set(e["name"] for e in catalog if e["name"])))
                                                    or "(no active image in this project)"))
        return found[0]

    def pick_flavor(self, cpus, memory_mb, min_disk=0):
        """The flavor the provider option ``flavors`` names, else the smallest that fits."""
        flavors = self._list("list flavors", self.conn.compute.flavors, details=True)
        wanted = None
        for name, (type_cpus, type_mem) in _instance_types().items():
            if (type_cpus, type_mem) == (cpus, memory_mb):
                wanted = (self.params.get("flavors") or {}).get(name)
        if wanted:
            match = [f for f in flavors if wanted in (f.name, f.id)]
            if not match:
                raise IaasError("flavor %r is not offered by this cloud" % wanted, field="flavors",
                                fix="map the instance type to one of: %s" % ", ".join(sorted(f.name for f in flavors)))
            return match[0]
        fits = [f for f in flavors if f.vcpus >= math.ceil(cpus) and f.ram >= memory_mb and (f.disk or 0) >= min_disk
                and f.is_public is not False]
        if not fits:
            raise IaasError("no flavor has %s vCPU and %s MiB of memory" % (math.ceil(cpus), memory_mb),
                            field="instance_type", fix="pick a smaller instance_type, or map it with the flavors option")
        return sorted(fits, key=lambda f: (f.vcpus, f.ram, f.disk or 0, f.name))[0]

    # -- location ----------------------------------------------------------
    def availability_zone(self, location):
        return (self.params.get("availability_zones") or {}).get(location) or location

    def _unknown_zone(self, location):
        """The cloud has no availability zone for this location (Neutron's AvailabilityZoneNotFound)."""
        zone = self.availability_zone(location)
        mapped = " (availability_zones maps it to %r)" % zone if zone != location else ""
        try:
            offered = sorted(set(z.name for z in self.conn.network.availability_zones() if z.resource == "network"))
        except Exception:  # pylint: disable=broad-except
            offered = []
        return IaasError("OpenStack has no availability zone %r for location %s%s" % (zone, location, mapped),
                         field="location",
                         fix="use a location the cloud has, or map it to one of its zones with availability_zones "
                             "(e.g. availability_zones: {%s: %s})" % (location, offered[0] if offered else "nova")
                         + ("; the cloud's network zones: %s" % ", ".join(offered) if offered else ""))

    # -- host facts ---------------------------------------------------------
    def reserved_networks(self):
        """Subnets of the project (and shared or external ones) that are not vlans of this collection."""
        ours = set(v["id"] for v in self.list_vlans())
        return [(s.cidr, "OpenStack subnet %s" % (s.name or s.id)) for s in self._list("list subnets", self.conn.network.subnets)
                if s.network_id not in ours and s.ip_version == 4]

    # -- vlan ----------------------------------------------------------------
    def _vlan_networks(self):
        return self._list("list networks", self.conn.network.networks, tags=MANAGED)

    def _vlan_from(self, net, subnet):
        values, labels = read_tags(net.tags)
        pools = (subnet.allocation_pools if subnet else None) or []
        return vlan_result(
            name=values.get("name"), location=values.get("location"), vlan_type=values.get("type"),
            cidr=subnet.cidr if subnet else None, gateway=subnet.gateway_ip if subnet else None,
            vip_range=values.get("vip_range"), labels=labels, provider=self.name, resource_id=net.id,
            automatic_range=values.get("automatic_range") or (pools[0]["start"] if pools else None),
        )

    def list_vlans(self):
        if "vlans" in self._cache:
            return self._cache["vlans"]
        nets = [n for n in self._vlan_networks() if read_tags(n.tags)[0].get("kind") == "vlan"]
        subnets = dict((s.network_id, s) for s in self._list("list subnets", self.conn.network.subnets, tags=MANAGED))
        self._cache["vlans"] = sorted((self._vlan_from(n, subnets.get(n.id)) for n in nets), key=lambda v: v["name"])
        return self._cache["vlans"]

    def _forget(self, *keys):
        for key in keys or list(self._cache):
            self._cache.pop(key, None)

    def _external_network(self):
        name = self.params.get("external_network")
        if not name:
            raise IaasError("a public vlan needs a router to an external network", field="external_network",
                            fix="name the cloud's external network (external_network: public)")
        return self._api("find external network %s" % name, self.conn.network.find_network, name, ignore_missing=False)

    def create_vlan(self, spec):
        tags = make_tags(dict(kind="vlan", name=spec["name"], location=spec["location"], type=spec["type"],
                              vip_range=spec["vip_range"], automatic_range=spec["automatic_range"]), spec["labels"])
        segment = (self.params.get("provider_networks") or {}).get(spec["name"])
        external = self._external_network() if spec["type"] == "public" else None
        made = []
        try:
            attrs = dict(name=network_name(spec["name"]), description="secure_cloud.iaas vlan %s" % spec["name"],
                         availability_zone_hints=[self.availability_zone(spec["location"])])
            if segment:
                attrs.update(provider_network_type="vlan", provider_physical_network=segment.get("physical_network"),
                             provider_segmentation_id=segment.get("segmentation_id"))
            try:
                net = self._api("create network %s" % attrs["name"], self.conn.network.create_network, **attrs)
            except ProviderError as err:
                if err.details.get("error_type") == "AvailabilityZoneNotFound":
                    raise self._unknown_zone(spec["location"])
                raise
            made.append(("network", net))
            self._api("tag network %s" % net.name, self.conn.network.set_tags, net, tags)
            subnet = self._api("create the subnet of vlan %s" % spec["name"], self.conn.network.create_subnet,
                               name=network_name(spec["name"]), network_id=net.id, ip_version=4, cidr=spec["cidr"],
                               gateway_ip=spec["gateway"], enable_dhcp=True,
                               allocation_pools=allocation_pools(spec["cidr"], spec["gateway"], spec["automatic_range"]))
            self._api("tag subnet %s" % subnet.name, self.conn.network.set_tags, subnet, [MANAGED])
            group = self._api("create security group %s" % net.name, self.conn.network.create_security_group,
                              name=net.name, description="secure_cloud.iaas vlan %s" % spec["name"])
            made.append(("security_group", group))
            self._api("tag security group %s" % group.name, self.conn.network.set_tags, group, [MANAGED])
            for rule in self.security_rules(spec):
                self._api("add a rule to security group %s" % group.name, self.conn.network.create_security_group_rule,
                          security_group_id=group.id, direction="ingress", ethertype="IPv4", **rule)
            if external is not None:
                router = self._api("create router %s" % net.name, self.conn.network.create_router, name=net.name,
                                   external_gateway_info=dict(network_id=external.id))
                made.append(("router", router))
                self._api("tag router %s" % router.name, self.conn.network.set_tags, router, [MANAGED])
                self._api("attach vlan %s to its router" % spec["name"], self.conn.network.add_interface_to_router,
                          router, subnet=subnet.id)
                made.append(("interface", (router, subnet)))
        except BaseException:
            # Nothing half-made: undo in reverse order, quietly.
            for kind, obj in reversed(made):
                self._quietly(kind, obj)
            raise
        self._forget("vlans")
        return self.get_vlan(spec["name"])

    def security_rules(self, vlan):
        """Ingress rules of a vlan's security group.

        Everything from the vlan itself (instances of a vlan reach each other,
        as on a Docker bridge: VRRP between a pair, the demo service); on a
        public vlan also SSH from admin_cidrs and what public_ingress lists
        (HTTP to a vip, IKE and ESP to a VPN gateway). The guests' own firewall
        (secure_cloud.iaas.firewall) narrows it per host.
        """
        rules = [dict(remote_ip_prefix=vlan["cidr"])]
        if vlan["type"] == "public":
            for cidr in self.params.get("admin_cidrs") or []:
                rules.append(dict(protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix=cidr))
            for entry in self.params.get("public_ingress") or []:
                rule = dict(protocol=entry["protocol"], remote_ip_prefix=entry.get("remote_ip_prefix") or "0.0.0.0/0")
                if entry.get("port"):
                    rule.update(port_range_min=entry["port"], port_range_max=entry["port"])
                rules.append(rule)
        return rules

    def _quietly(self, kind, obj):
        net = self.conn.network
        try:
            if kind == "network":
                net.delete_network(obj, ignore_missing=True)
            elif kind == "security_group":
                net.delete_security_group(obj, ignore_missing=True)
            elif kind == "router":
                net.delete_router(obj, ignore_missing=True)
            elif kind == "interface":
                net.remove_interface_from_router(obj[0], subnet=obj[1].id)
            elif kind == "port":
                net.delete_port(obj, ignore_missing=True)
            elif kind == "server":
                self.conn.compute.delete_server(obj, ignore_missing=True)
                self.conn.compute.wait_for_delete(obj, interval=self.poll_interval, wait=60)
            elif kind == "keypair":
                self.conn.compute.delete_keypair(obj, ignore_missing=True)
            elif kind == "floating_ip":
                net.delete_ip(obj, ignore_missing=True)
        except Exception:  # pylint: disable=broad-except
            pass

    def delete_vlan(self, current):
        net = self.conn.network
        name = network_name(current["name"])
        for router in self._list("list routers", net.routers, name=name, tags=MANAGED):
            for subnet in self._list("list subnets", net.subnets, network_id=current["id"]):
                self._api("detach vlan %s from its router" % current["name"], net.remove_interface_from_router,
                          router, subnet=subnet.id)
            self._api("delete router %s" % name, net.delete_router, router, ignore_missing=True)
        self._api("delete network %s" % name, net.delete_network, current["id"], ignore_missing=True)
        for group in self._list("list security groups", net.security_groups, name=name, tags=MANAGED):
            self._api("delete security group %s" % name, net.delete_security_group, group, ignore_missing=True)
        self._forget("vlans")

    def foreign_addresses(self):
        """Addresses on vlans held by ports that are not an instance's or a vip's (DHCP, router, VPN router)."""
        out = {}
        for vlan in self.list_vlans():
            for port in self._list("list ports", self.conn.network.ports, network_id=vlan["id"]):
                if MANAGED in (port.tags or []) and read_tags(port.tags)[0].get("kind") != "vpn_port":
                    continue
                for fixed in port.fixed_ips or []:
                    out.setdefault(vlan["name"], {})[fixed["ip_address"]] = "port %s (%s)" % (
                        port.name or port.id, port.device_owner or "no owner")
        return out

    # -- instance ------------------------------------------------------------
    def _managed_ports(self):
        if "ports" not in self._cache:
            self._cache["ports"] = self._list("list ports", self.conn.network.ports, tags=MANAGED)
        return self._cache["ports"]

    def _instance_ports(self, name):
        """{vlan: port} of an instance."""
        out = {}
        for port in self._managed_ports():
            values = read_tags(port.tags)[0]
            if values.get("kind") == "port" and values.get("instance") == name:
                out[values.get("vlan")] = port
        return out

    def _instance_from(self, server):
        meta = server.metadata or {}
        name = meta.get(META + "name")
        ports = self._instance_ports(name)
        order = [v for v in (meta.get(META + "networks") or "").split(",") if v]
        networks = []
        for i, vlan in enumerate(order):
            port = ports.get(vlan)
            ip = port.fixed_ips[0]["ip_address"] if port is not None and port.fixed_ips else None
            networks.append(dict(vlan=vlan, ip=ip, interface="eth%d" % i, mac=port.mac_address if port else None))
        keys = [k for k in meta_join(meta, META + "keys_").split("\n") if k]
        labels = dict((k[len(META + "label_"):], v) for k, v in meta.items() if k.startswith(META + "label_"))
        state = {"ACTIVE": "running", "SHUTOFF": "stopped"}.get(server.status, (server.status or "unknown").lower())
        return instance_result(
            name=name, location=meta.get(META + "location"), image=meta.get(META + "image"),
            image_id=meta.get(META + "image_id"), cpus=float(meta.get(META + "cpus") or 0) or None,
            memory_mb=int(meta.get(META + "memory") or 0) or None, hostname=meta.get(META + "hostname"),
            networks=networks, admin_user=meta.get(META + "admin_user"), ssh_public_keys=keys, labels=labels,
            state=state, provider=self.name, resource_id=server.id,
        )

    def _servers(self):
        servers = self._list("list servers", self.conn.compute.servers, details=True)
        return [s for s in servers if (s.metadata or {}).get(META + "kind") == "instance"]

    def list_instances(self, keys=True):  # keys cost nothing more here: they are in the metadata
        return sorted((self._instance_from(s) for s in self._servers()), key=lambda i: i["name"])

    def get_instance(self, name):
        for server in self._list("list servers", self.conn.compute.servers, details=True, name="^%s$" % server_name(name)):
            meta = server.metadata or {}
            if meta.get(META + "kind") == "instance" and meta.get(META + "name") == name:
                return self._instance_from(server)
            raise IaasError("a server named %s exists but is not an instance of this collection" % server_name(name),
                            field="name", fix="pick another name, or remove that server")
        return None

    def create_instance(self, spec, run, wait, timeout):
        image = self.resolve_image(spec["image"])
        memory = parse_memory(spec["memory"])
        flavor = self.pick_flavor(spec["cpus"], memory, image.get("min_disk") or 0)
        vlans = dict((v["name"], v) for v in self.list_vlans())
        groups = self._list("list security groups", self.conn.network.security_groups, tags=MANAGED)
        groups = dict((g.name, g) for g in groups)
        metadata = {META + "kind": "instance", META + "name": spec["name"], META + "location": spec["location"],
                    META + "image": spec["image"], META + "image_id": spec["image_id"], META + "cpus": str(spec["cpus"]),
                    META + "memory": str(memory), META + "hostname": spec["hostname"],
                    META + "admin_user": spec["admin_user"],
                    META + "networks": ",".join(n["vlan"] for n in spec["networks"]), MANAGED: "true"}
        metadata.update(meta_chunks(META + "keys_", "\n".join(spec["ssh_public_keys"])))
        metadata.update((META + "label_" + k, v) for k, v in spec["labels"].items())
        # An instance created again (recreate: true) keeps the vips it may hold.
        grants = {}
        for port in self._vip_ports():
            values = read_tags(port.tags)[0]
            if spec["name"] in tag_list(values, "allowed"):
                grants.setdefault(values.get("vlan"), []).append(dict(ip_address=port.fixed_ips[0]["ip_address"]))
        made = []
        try:
            ports = []
            for net in spec["networks"]:
                vlan = vlans[net["vlan"]]
                subnet_id = self._subnet_id(vlan)
                group = groups.get(network_name(net["vlan"]))
                extra = dict(allowed_address_pairs=grants[net["vlan"]]) if grants.get(net["vlan"]) else {}
                port = self._api("create the port of %s on vlan %s" % (spec["name"], net["vlan"]),
                                 self.conn.network.create_port, name=port_name(spec["name"], net["vlan"]),
                                 network_id=vlan["id"], fixed_ips=[dict(subnet_id=subnet_id, ip_address=net["ip"])],
                                 security_group_ids=[group.id] if group else [], **extra)
                made.append(("port", port))
                self._api("tag port %s" % port.name, self.conn.network.set_tags, port,
                          make_tags(dict(kind="port", instance=spec["name"], vlan=net["vlan"])))
                ports.append(port)
            key_name = None
            if spec["ssh_public_keys"]:
                key_name = server_name(spec["name"])
                keypair = self._api("create keypair %s" % key_name, self.conn.compute.create_keypair, name=key_name,
                                    public_key=spec["ssh_public_keys"][0])
                made.append(("keypair", keypair))
            attrs = dict(name=server_name(spec["name"]), image_id=image["uuid"], flavor_id=flavor.id,
                         networks=[dict(port=p.id) for p in ports], metadata=metadata,
                         availability_zone=self.availability_zone(spec["location"]),
                         user_data=cloud_init(spec["admin_user"], spec["ssh_public_keys"], spec["hostname"]))
            if key_name:
                attrs["key_name"] = key_name
            server = self._api("create server %s" % attrs["name"], self.conn.compute.create_server, **attrs)
            made.append(("server", server))
            if wait or not run:
                server = self._wait_status(server, "ACTIVE", timeout, "boot %s" % attrs["name"])
            if not run:
                self._api("stop %s" % attrs["name"], self.conn.compute.stop_server, server)
                if wait:
                    server = self._wait_status(server, "SHUTOFF", timeout, "stop %s" % attrs["name"])
        except BaseException:
            for kind, obj in reversed(made):
                self._quietly(kind, obj)
            self._forget("ports")
            raise
        self._forget("ports")
        return self._instance_from(self._api("read server", self.conn.compute.get_server, server.id))

    def _subnet_id(self, vlan):
        subnets = self._list("list subnets", self.conn.network.subnets, network_id=vlan["id"])
        if not subnets:
            raise ProviderError("vlan %s has no subnet in the cloud" % vlan["name"], field="networks",
                                fix="delete the vlan and create it again")
        return subnets[0].id

    def _wait_status(self, server, status, timeout, what):
        """The SDK's wait; a timeout names wait_timeout, an ERROR state the server's fault."""
        try:
            return self.conn.compute.wait_for_server(server, status=status, failures=["ERROR"],
                                                     interval=self.poll_interval, wait=timeout)
        except os_exc.ResourceTimeout:
            raise ProviderError("%s did not reach %s within wait_timeout=%ss" % (server.name, status, timeout),
                                field="wait_timeout", fix="raise wait_timeout, or look at the server's console log")
        except os_exc.ResourceFailure as exc:
            fault = getattr(server, "fault", None) or {}
            raise ProviderError("could not %s: the server went to ERROR (%s)"
                                % (what, fault.get("message") if isinstance(fault, dict) else _short(exc)))
        except os_exc.SDKException as exc:
            raise ProviderError("could not %s: %s" % (what, _short(exc)))
        except ksa_exc.ClientException as exc:
            raise self._unreachable(what, "compute", exc)

    def _server(self, current):
        return self._api("read server %s" % current["name"], self.conn.compute.get_server, current["id"])

    def wait_instance(self, current, timeout):
        server = self._wait_status(self._server(current), "ACTIVE", timeout, "boot %s" % server_name(current["name"]))
        return self._instance_from(server)

    def update_instance(self, current, changes):
        field = sorted(changes)[0]
        raise IaasError("the openstack provider cannot change %s of instance %s in place (Nova needs a resize or "
                        "a rebuild)" % (field, current["name"]), field=field,
                        fix="keep the current value, or delete the instance (state: absent) and create it again")

    def start_instance(self, current, wait, timeout):
        server = self._server(current)
        self._api("start %s" % server.name, self.conn.compute.start_server, server)
        if wait:
            server = self._wait_status(server, "ACTIVE", timeout, "start %s" % server.name)
        return self._instance_from(self._server(current))

    def stop_instance(self, current, wait, timeout):
        server = self._server(current)
        self._api("stop %s" % server.name, self.conn.compute.stop_server, server)
        if wait:
            server = self._wait_status(server, "SHUTOFF", timeout, "stop %s" % server.name)
        return self._instance_from(self._server(current))

    def restart_instance(self, current, wait, timeout):
        server = self._server(current)
        self._api("reboot %s" % server.name, self.conn.compute.reboot_server, server, "SOFT")
        if wait:
            server = self._wait_status(server, "ACTIVE", timeout, "reboot %s" % server.name)
        return self._instance_from(self._server(current))

    def delete_instance(self, current):
        compute = self.conn.compute
        server = self._api("read server", compute.find_server, current["id"], ignore_missing=True)
        if server is not None:
            self._api("delete server %s" % server.name, compute.delete_server, server, ignore_missing=True)
            self._api("wait for server %s to go" % server.name, compute.wait_for_delete, server,
                      interval=self.poll_interval, wait=int(self.params.get("wait_timeout") or 180))
        for port in self._instance_ports(current["name"]).values():
            self._api("delete port %s" % port.name, self.conn.network.delete_port, port, ignore_missing=True)
        self._api("delete keypair", compute.delete_keypair, server_name(current["name"]), ignore_missing=True)
        self._forget("ports")

    # -- inventory -------------------------------------------------------------
    def connection_vars(self, instance):
        """SSH to the address on the first public vlan (else the first vlan), as the admin user."""
        vlans = dict((v["name"], v) for v in self.list_vlans())
        nets = instance["networks"]
        public = [n for n in nets if vlans.get(n["vlan"], {}).get("type") == "public"]
        first = (public or nets or [{}])[0]
        return dict(ansible_connection="ssh", ansible_host=first.get("ip"), ansible_user=instance["admin_user"])


def _instance_types():
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import INSTANCE_TYPES
    return INSTANCE_TYPES


def _short(exc):
    text = " ".join(str(exc).split())
    return text[:300]


def _response_message(exc):
    """The message of the documented error bodies: Neutron {"NeutronError": {...}}, Nova {"<kind>": {...}}."""
    try:
        body = exc.response.json()
    except Exception:  # pylint: disable=broad-except
        return None
    if not isinstance(body, dict):
        return None
    for value in body.values():
        if isinstance(value, dict) and value.get("message"):
            kind = value.get("type")
            text = "%s: %s" % (kind, value["message"]) if kind else value["message"]
            return " ".join(text.split())[:300]
    return None


def _service_of(func):
    """The service type of an SDK proxy method (network, compute, image), or None."""
    return getattr(func, "service_type", None) or getattr(getattr(func, "__self__", None), "service_type", None)


def _error_type(exc):
    """The ``type`` of a Neutron error body (e.g. AvailabilityZoneNotFound), or None."""
    try:
        body = exc.response.json()
    except Exception:  # pylint: disable=broad-except
        return None
    inner = body.get("NeutronError") if isinstance(body, dict) else None
    return inner.get("type") if isinstance(inner, dict) else None


def _http_error(what, exc):
    """An HTTP error as a message: quota, conflict, policy and not-found each say what to do.

    The Neutron error type (e.g. AvailabilityZoneNotFound) rides along as
    ``details["error_type"]``, for callers that turn one into a field's error.
    """
    status = getattr(exc, "status_code", None)
    text = _response_message(exc) or _short(exc)
    field = fix = None
    if status == 413 or "quota" in text.lower():
        msg = "OpenStack refused to %s: over quota (HTTP %s: %s)" % (what, status, text)
        fix = "free resources in the project, or ask the cloud's operator to raise the quota"
    elif status == 409:
        msg = "OpenStack refused to %s: conflict (HTTP 409: %s)" % (what, text)
        fix = "another object holds what this asks for (an address, a name); free it or pick another"
    elif status == 403:
        msg = "OpenStack refused to %s: not allowed (HTTP 403: %s)" % (what, text)
        field = "cloud"
        fix = "use credentials whose role the cloud's policy allows this (provider networks need admin)"
    elif status == 404:
        msg = "OpenStack could not %s: not found (HTTP 404: %s)" % (what, text)
        fix = "the object went away meanwhile; run the task again"
    else:
        msg = "OpenStack refused to %s (HTTP %s: %s)" % (what, status, text)
    return ProviderError(msg, field=field, fix=fix, error_type=_error_type(exc))
