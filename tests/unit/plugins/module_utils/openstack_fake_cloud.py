# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small OpenStack cloud behind requests-mock, speaking the documented API shapes.

As openstacksdk's own unit tests do: a keystone v3 token whose catalog names
compute, network, image and block-storage endpoints, version discovery documents,
then the Neutron (/v2.0), Nova (/v2.1), Glance (/v2) and Cinder (/v3) resources kept in memory, with
their documented request and response bodies, collection ``<kind>_links`` /
``next`` pagination, 404s, 409 conflicts on a taken address, and injectable
failures. Every request is recorded (method, path, query, body) for the tests.

Where a real Neutron 29.0.0 (ML2, router, neutron-vpnaas; scripts/neutron_lab,
tests/integration/targets/openstack_neutron) refuses a request, so does this
fake, with the same status and error type: a network's availability zone hint
that no agent reports (404 AvailabilityZoneNotFound), a floating IP's
``fixed_ip_address`` that is not one of the port's own fixed IPs (400; an
address in the port's ``allowed_address_pairs`` does not count), an endpoint
group in use (400 EndpointGroupInUse), an IKE or IPsec policy in use changed or
deleted (409).

Cinder (block storage v3) behaves as Cinder's API does for the calls the
volume driver makes: objects pass through their transitional statuses
(creating, attaching, detaching, extending, backing-up, restoring-backup,
deleting) for ``cinder_polls`` reads before they settle, or end in error
(error_extending, error_restoring, else error) when a test asks (``cinder_errors``); an attached volume or one with
snapshots is not deleted (400), an attached one is snapshotted or backed up
only with ``force`` (400), a volume is extended only to a larger size, a
volume from a snapshot only in the snapshot's zone, an incremental backup
needs an available earlier one of the volume, a backup that later
incrementals build on is not deleted (400), a backup zone with no backup
service is 404 ``Service cinder-backup could not be found``. A type's
encryption is readable unless ``type_encryption_forbidden`` (403, Cinder's
default policy for a member). Nova's volume attachments move the volume
through attaching/in-use and detaching/available (``detach_refused``: the
guest does not let the device go, and the volume goes back to in-use).
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import parse_qs, urlparse

import requests
import requests_mock

IDENTITY = "https://identity.example.com"
COMPUTE = "https://compute.example.com/v2.1"
NETWORK = "https://network.example.com"
IMAGE = "https://image.example.com"
VOLUME = "https://volume.example.com"

_CLOUD = """    auth:
      auth_url: %s
      username: admin
      password: s3cret-unit-password
      project_name: admin
      user_domain_name: default
      project_domain_name: default
    region_name: RegionOne
    identity_api_version: '3'
""" % IDENTITY
# The same cloud twice; the second reaches Neutron through an endpoint override.
CLOUDS_YAML = "clouds:\n  unit:\n%s  unit-override:\n%s    network_endpoint_override: %s/\n" % (_CLOUD, _CLOUD, NETWORK)

# Neutron collections: URL part -> (singular body key, plural body key).
NEUTRON = {
    "networks": ("network", "networks"),
    "subnets": ("subnet", "subnets"),
    "ports": ("port", "ports"),
    "routers": ("router", "routers"),
    "security-groups": ("security_group", "security_groups"),
    "security-group-rules": ("security_group_rule", "security_group_rules"),
    "floatingips": ("floatingip", "floatingips"),
    "vpn/ikepolicies": ("ikepolicy", "ikepolicies"),
    "vpn/ipsecpolicies": ("ipsecpolicy", "ipsecpolicies"),
    "vpn/vpnservices": ("vpnservice", "vpnservices"),
    "vpn/endpoint-groups": ("endpoint_group", "endpoint_groups"),
    "vpn/ipsec-site-connections": ("ipsec_site_connection", "ipsec_site_connections"),
}
PROJECT = "0c4e939acacf4376bdcd1129f1a054ad"


def token():
    """The documented POST /v3/auth/tokens answer, with a service catalog."""
    catalog = [dict(type=kind, name=kind, id=kind,
                    endpoints=[dict(id=kind + "-public", interface="public", region="RegionOne",
                                    region_id="RegionOne", url=url)])
               for kind, url in (("compute", COMPUTE), ("network", NETWORK), ("image", IMAGE),
                                 ("block-storage", VOLUME + "/v3"), ("identity", IDENTITY + "/v3"))]
    return {"token": {
        "methods": ["password"], "expires_at": "2999-01-01T00:00:00.000000Z", "issued_at": "2026-01-01T00:00:00.000000Z",
        "user": {"id": "u", "name": "admin", "domain": {"id": "default", "name": "Default"}},
        "project": {"id": PROJECT, "name": "admin", "domain": {"id": "default", "name": "Default"}},
        "roles": [{"id": "r", "name": "member"}], "catalog": catalog}}


class FakeCloud(object):
    def __init__(self, mocker):
        self.mocker = mocker
        self.calls = []
        self.store = dict((k, {}) for k in NEUTRON)
        self.servers, self.keypairs = {}, {}
        self.flavors = [dict(id="f1", name="m1.tiny", vcpus=1, ram=512, disk=10, **{"os-flavor-access:is_public": True}),
                        dict(id="f2", name="m1.small", vcpus=1, ram=1024, disk=20, **{"os-flavor-access:is_public": True}),
                        dict(id="f3", name="m1.medium", vcpus=2, ram=4096, disk=40, **{"os-flavor-access:is_public": True})]
        self.images = [dict(id="11111111-2222-3333-4444-555555555555", name="debian12", status="active",
                            os_hash_algo="sha256", os_hash_value="c" * 64, checksum="d" * 32, min_disk=2,
                            visibility="public", tags=[])]
        self.extensions = [dict(alias="vpnaas", name="VPN service", description="", links=[], updated="")]
        # Availability zones Neutron knows (those its agents report): a network's hint must be one.
        self.zones = ["nova", "fra1"]
        # Status a new IPsec site connection reports (Neutron: PENDING_CREATE, then DOWN or ACTIVE).
        self.vpn_status = "ACTIVE"
        self.page_size = None
        self.boot_polls = 1
        self.stuck = False
        self.failures = []
        # Endpoints (e.g. NETWORK) that refuse connections, as a service that is down.
        self.down = set()
        self.external = self.add("networks", dict(name="public", **{"router:external": True}))
        # Cinder: volumes, snapshots, backups by id; types with their encryption; zones.
        self.volumes, self.snapshots, self.backups = {}, {}, {}
        self.volume_types = [dict(id="t-default", name="__DEFAULT__", is_public=True, extra_specs={}),
                             dict(id="t-luks", name="LUKS", is_public=True, extra_specs={})]
        self.type_encryption = {"t-luks": dict(volume_type_id="t-luks", encryption_id="e1", provider="luks",
                                               cipher="aes-xts-plain64", key_size=256, control_location="front-end",
                                               deleted=False)}
        self.type_encryption_forbidden = False
        self.volume_zones = ["nova", "fra1"]
        self.backup_zones = ["nova", "fra1"]
        self.cinder_polls = 1
        # Transitional statuses that end in error instead of settling ({"creating", "extending", ...}).
        self.cinder_errors = set()
        self.detach_refused = False
        mocker.add_matcher(self.handle)

    # -- arranging ----------------------------------------------------------
    def add(self, collection, body):
        obj = dict(body)
        obj.setdefault("id", str(uuid.uuid4()))
        obj.setdefault("tags", [])
        obj.setdefault("name", "")
        obj.setdefault("description", "")
        obj.setdefault("project_id", PROJECT)
        obj.setdefault("status", "ACTIVE")
        if collection == "ports":
            obj.setdefault("mac_address", "fa:16:3e:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3]))
            obj.setdefault("allowed_address_pairs", [])
            obj.setdefault("device_owner", "")
            obj.setdefault("device_id", "")
            obj.setdefault("fixed_ips", [])
        if collection == "routers" and (obj.get("external_gateway_info") or {}).get("network_id"):
            info = dict(obj["external_gateway_info"])
            info.setdefault("external_fixed_ips", [dict(subnet_id="ext-subnet", ip_address="203.0.113.%d" % (
                len(self.store["routers"]) + 100))])
            obj["external_gateway_info"] = info
        if collection == "floatingips":
            obj.setdefault("port_id", None)
            obj.setdefault("fixed_ip_address", None)
            obj.setdefault("floating_ip_address", "203.0.113.%d" % (len(self.store["floatingips"]) + 10))
        self.store[collection][obj["id"]] = obj
        return obj

    def fail_next(self, method, path_re, status, body):
        """The next request that matches answers with this error (once)."""
        self.failures.append((method, re.compile(path_re), status, body))

    def requests(self, method=None, path_re=None):
        return [c for c in self.calls if (method is None or c[0] == method)
                and (path_re is None or re.search(path_re, c[1]))]

    def writes(self):
        return [c for c in self.calls if c[0] != "GET"]

    # -- dispatch -------------------------------------------------------------
    def handle(self, request):
        url = urlparse(request.url)
        base = "%s://%s" % (url.scheme, url.netloc)
        query = dict((k, v if len(v) > 1 else v[0]) for k, v in parse_qs(url.query).items())
        body = json.loads(request.body) if request.body else None
        self.calls.append((request.method, base + url.path, query, body))
        if base in self.down or base + "/v2.1" in self.down:
            raise requests.exceptions.ConnectionError("[Errno 111] Connection refused (%s)" % base)
        for i, (method, path_re, status, err) in enumerate(self.failures):
            if method == request.method and path_re.search(url.path):
                del self.failures[i]
                return self.reply(request, status, err)
        if base == IDENTITY:
            return self.identity(request, url.path)
        if base == NETWORK:
            return self.neutron(request, url.path, query, body)
        if base + "/v2.1" == COMPUTE:
            return self.nova(request, url.path[len("/v2.1"):], query, body)
        if base == IMAGE:
            return self.glance(request, url.path, query)
        if base == VOLUME:
            return self.cinder(request, url.path, query, body)
        return None

    @staticmethod
    def reply(request, status, payload=None, headers=None):
        return requests_mock.create_response(request, status_code=status, json=payload, headers=headers or {})

    def identity(self, request, path):
        if request.method == "GET" and path in ("", "/"):
            return self.reply(request, 300, {"versions": {"values": [{"id": "v3.14", "status": "stable", "links": [
                {"href": IDENTITY + "/v3/", "rel": "self"}]}]}})
        if path == "/v3/auth/tokens" and request.method == "POST":
            return self.reply(request, 201, token(), {"X-Subject-Token": "unit-token"})
        return None

    # -- Neutron --------------------------------------------------------------
    def page(self, request, items, key, query, link_key=None):
        """One page of a collection; the next page through a link, as Neutron and Nova do."""
        if self.page_size is None:
            return self.reply(request, 200, {key: items})
        start = 0
        if query.get("marker"):
            start = next(i for i, o in enumerate(items) if o["id"] == query["marker"]) + 1
        chunk = items[start:start + self.page_size]
        payload = {key: chunk}
        if start + self.page_size < len(items):
            url = urlparse(request.url)
            rest = dict((k, v) for k, v in query.items() if k != "marker")
            rest.update(marker=chunk[-1]["id"], limit=self.page_size)
            href = "%s://%s%s?%s" % (url.scheme, url.netloc, url.path,
                                     "&".join("%s=%s" % (k, v) for k, v in rest.items()))
            payload[link_key or key + "_links"] = [{"rel": "next", "href": href}]
        return self.reply(request, 200, payload)

    @staticmethod
    def matches(obj, query):
        for key, want in query.items():
            if key in ("limit", "marker", "fields", "sort_key", "sort_dir"):
                continue
            if key == "tags":
                if not set(want.split(",")) <= set(obj.get("tags") or []):
                    return False
            elif str(obj.get(key)) != str(want):
                return False
        return True

    def neutron(self, request, path, query, body):
        if path in ("", "/"):
            return self.reply(request, 200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
                {"href": NETWORK + "/v2.0/", "rel": "self"}]}]})
        path = path[len("/v2.0/"):].rstrip("/")
        if path.startswith("extensions"):
            parts = path.split("/")
            if len(parts) == 1:
                return self.reply(request, 200, {"extensions": self.extensions})
            ext = next((e for e in self.extensions if e["alias"] == parts[1]), None)
            return self.reply(request, 200, {"extension": ext}) if ext else self.reply(
                request, 404, {"NeutronError": {"type": "ExtensionNotFound", "message": "not found", "detail": ""}})
        if path == "availability_zones" and request.method == "GET":
            zones = [dict(name=z, resource=r, state="available") for z in self.zones for r in ("network", "router")]
            return self.reply(request, 200, {"availability_zones": [z for z in zones if self.matches(z, query)]})
        for collection in sorted(NEUTRON, key=len, reverse=True):
            if path == collection or path.startswith(collection + "/"):
                rest = path[len(collection):].strip("/").split("/") if path != collection else []
                return self.neutron_resource(request, collection, rest, query, body)
        return None

    def not_found(self, request, what):
        return self.reply(request, 404, {"NeutronError": {"type": "NotFound", "message": "%s could not be found" % what,
                                                          "detail": ""}})

    def neutron_resource(self, request, collection, rest, query, body):
        single, plural = NEUTRON[collection]
        objects = self.store[collection]
        if not rest:
            if request.method == "GET":
                found = [o for o in objects.values() if self.matches(o, query)]
                return self.page(request, found, plural, query)
            if request.method == "POST":
                if collection == "vpn/ikepolicies" and not any(e["alias"] == "vpnaas" for e in self.extensions):
                    return self.not_found(request, "resource")
                attrs = body[single]
                refused = self.vpn_refusal(collection, attrs)
                if refused:
                    return self.reply(request, refused[0], {"NeutronError": dict(refused[1], detail="")})
                if collection == "networks":
                    for zone in attrs.get("availability_zone_hints") or []:
                        if zone not in self.zones:
                            return self.reply(request, 404, {"NeutronError": {
                                "type": "AvailabilityZoneNotFound", "detail": "",
                                "message": "AvailabilityZone %s could not be found." % zone}})
                if collection == "floatingips" and attrs.get("port_id"):
                    refused = self.floating_ip_refusal(attrs)
                    if refused:
                        return refused(request)
                    attrs = dict(attrs, fixed_ip_address=self.floating_ip_fixed(attrs))
                if collection == "ports":
                    conflict = self.address_taken(attrs)
                    if conflict:
                        return self.reply(request, 409, {"NeutronError": {
                            "type": "IpAddressAlreadyAllocated", "detail": "",
                            "message": "IP address %s already allocated in subnet %s" % conflict}})
                if collection == "vpn/ipsec-site-connections":
                    attrs = dict(attrs, status=self.vpn_status)
                    attrs.setdefault("local_id", "")
                    attrs.setdefault("peer_cidrs", [])
                if collection == "vpn/vpnservices":
                    router = self.store["routers"][attrs["router_id"]]
                    ips = router["external_gateway_info"]["external_fixed_ips"]
                    attrs = dict(attrs, external_v4_ip=ips[0]["ip_address"], external_v6_ip=None, subnet_id=None)
                obj = self.add(collection, attrs)
                return self.reply(request, 201, {single: obj})
            return None
        obj = objects.get(rest[0])
        if obj is None:
            return self.not_found(request, "%s %s" % (single, rest[0]))
        if len(rest) == 2 and rest[1] == "tags" and request.method == "PUT":
            obj["tags"] = list(body["tags"])
            return self.reply(request, 200, {"tags": obj["tags"]})
        if len(rest) == 2 and rest[1] in ("add_router_interface", "remove_router_interface"):
            if body.get("port_id"):
                port = self.store["ports"].get(body["port_id"])
                if port is None:
                    return self.not_found(request, "port %s" % body["port_id"])
                subnet = self.store["subnets"][port["fixed_ips"][0]["subnet_id"]]
            else:
                subnet = self.store["subnets"][body["subnet_id"]]
                port = None
            if rest[1] == "add_router_interface":
                if port is not None:
                    port.update(device_owner="network:router_interface", device_id=obj["id"])
                else:
                    port = self.add("ports", dict(network_id=subnet["network_id"], device_owner="network:router_interface",
                                                  device_id=obj["id"], fixed_ips=[dict(subnet_id=subnet["id"],
                                                                                       ip_address=subnet["gateway_ip"])]))
            else:
                if self.subnet_in_vpn_use(subnet["id"], obj["id"]):
                    return self.reply(request, 409, {"NeutronError": {
                        "type": "SubnetInUseByIPsecSiteConnection", "detail": "",
                        "message": "Subnet %s is used by an IPsec site connection" % subnet["id"]}})
                # Neutron deletes the interface port, whichever way it was named.
                for candidate in list(self.store["ports"].values()):
                    if candidate["device_id"] == obj["id"] and (port is None or candidate["id"] == port["id"]) and any(
                            f.get("subnet_id") == subnet["id"] for f in candidate["fixed_ips"]):
                        del self.store["ports"][candidate["id"]]
            return self.reply(request, 200, dict(id=obj["id"], subnet_id=subnet["id"], subnet_ids=[subnet["id"]],
                                                 port_id=port["id"] if port else "p", tenant_id=PROJECT))
        if request.method == "GET":
            return self.reply(request, 200, {single: obj})
        if request.method == "PUT":
            attrs = dict(body[single])
            in_use = self.vpn_in_use(collection, obj["id"]) if collection in (
                "vpn/ikepolicies", "vpn/ipsecpolicies") else None
            if in_use:
                return self.reply(request, 409, {"NeutronError": {"type": in_use, "detail": "", "message": (
                    "%s %s is in use by existing IPsecSiteConnection and can't be updated or deleted"
                    % (single, obj["id"]))}})
            if collection == "floatingips" and "port_id" in attrs:
                if attrs["port_id"]:
                    refused = self.floating_ip_refusal(attrs)
                    if refused:
                        return refused(request)
                    attrs["fixed_ip_address"] = self.floating_ip_fixed(attrs)
                else:
                    attrs["fixed_ip_address"] = None
            if collection == "ports" and "allowed_address_pairs" in attrs:
                # Neutron fills in the port's own MAC where a pair gives none.
                attrs["allowed_address_pairs"] = [dict(p, mac_address=p.get("mac_address") or obj["mac_address"])
                                                  for p in attrs["allowed_address_pairs"]]
            obj.update(attrs)
            return self.reply(request, 200, {single: obj})
        if request.method == "DELETE":
            in_use = self.vpn_in_use(collection, obj["id"])
            if in_use:
                # neutron-vpnaas answers 400 for an endpoint group, 409 for the others.
                return self.reply(request, 400 if in_use == "EndpointGroupInUse" else 409, {"NeutronError": {
                    "type": in_use, "detail": "", "message": "%s %s is in use" % (single, obj["id"])}})
            if collection == "networks":
                for port in list(self.store["ports"].values()):
                    if port["network_id"] == obj["id"] and port["device_owner"] != "network:dhcp":
                        return self.reply(request, 409, {"NeutronError": {"type": "NetworkInUse", "detail": "",
                                                                          "message": "network in use"}})
                for sub in list(self.store["subnets"].values()):
                    if sub["network_id"] == obj["id"]:
                        del self.store["subnets"][sub["id"]]
            del objects[obj["id"]]
            return self.reply(request, 204)
        return None

    # -- VPNaaS rules (neutron-vpnaas's validator) ------------------------------------
    def subnet_in_vpn_use(self, subnet_id, router_id):
        services = set(v["id"] for v in self.store["vpn/vpnservices"].values() if v["router_id"] == router_id)
        for conn in self.store["vpn/ipsec-site-connections"].values():
            group = self.store["vpn/endpoint-groups"].get(conn["local_ep_group_id"]) or {}
            if conn["vpnservice_id"] in services and subnet_id in (group.get("endpoints") or []):
                return True
        return False

    def vpn_refusal(self, collection, attrs):
        """(status, {type, message}) when neutron-vpnaas would refuse the create."""
        if collection == "vpn/vpnservices":
            router = self.store["routers"].get(attrs.get("router_id"))
            if router is None:
                return 404, dict(type="RouterNotFound", message="Router %s could not be found" % attrs.get("router_id"))
            if not (router.get("external_gateway_info") or {}).get("network_id"):
                return 400, dict(type="RouterIsNotExternal",
                                 message="Router %s has no external network gateway set" % router["id"])
        if collection != "vpn/ipsec-site-connections":
            return None
        for key, where in (("vpnservice_id", "vpn/vpnservices"), ("ikepolicy_id", "vpn/ikepolicies"),
                           ("ipsecpolicy_id", "vpn/ipsecpolicies"), ("local_ep_group_id", "vpn/endpoint-groups"),
                           ("peer_ep_group_id", "vpn/endpoint-groups")):
            if attrs.get(key) not in self.store[where]:
                return 404, dict(type="NotFound", message="%s %s could not be found" % (key, attrs.get(key)))
        router_id = self.store["vpn/vpnservices"][attrs["vpnservice_id"]]["router_id"]
        for subnet_id in self.store["vpn/endpoint-groups"][attrs["local_ep_group_id"]]["endpoints"]:
            if not any(p["device_id"] == router_id and any(f.get("subnet_id") == subnet_id for f in p["fixed_ips"])
                       for p in self.store["ports"].values()):
                return 400, dict(type="SubnetIsNotConnectedToRouter",
                                 message="Subnet %s is not connected to Router %s" % (subnet_id, router_id))
        if not attrs.get("psk"):
            return 400, dict(type="HTTPBadRequest", message="Invalid input for psk")
        return None

    def vpn_in_use(self, collection, obj_id):
        """The NeutronError type when a VPNaaS object is still used by a site connection."""
        keys = {"vpn/ikepolicies": ("ikepolicy_id", "IKEPolicyInUse"),
                "vpn/ipsecpolicies": ("ipsecpolicy_id", "IPsecPolicyInUse"),
                "vpn/vpnservices": ("vpnservice_id", "VPNServiceInUse")}
        for conn in self.store["vpn/ipsec-site-connections"].values():
            if collection in keys and conn.get(keys[collection][0]) == obj_id:
                return keys[collection][1]
            if collection == "vpn/endpoint-groups" and obj_id in (conn.get("local_ep_group_id"),
                                                                  conn.get("peer_ep_group_id")):
                return "EndpointGroupInUse"
        return None

    # -- floating IPs (neutron's l3 db) ----------------------------------------
    def floating_ip_fixed(self, attrs):
        port = self.store["ports"][attrs["port_id"]]
        return attrs.get("fixed_ip_address") or port["fixed_ips"][0]["ip_address"]

    def floating_ip_refusal(self, attrs):
        """A reply maker when Neutron refuses the association: the address must be one of the port's own."""
        port = self.store["ports"].get(attrs["port_id"])
        if port is None:
            return lambda request: self.not_found(request, "port %s" % attrs["port_id"])
        own = [f["ip_address"] for f in port["fixed_ips"]]
        if not own:
            message = "Bad floatingip request: Port %s does not have any fixed IPs." % port["id"]
        elif attrs.get("fixed_ip_address") and attrs["fixed_ip_address"] not in own:
            message = "Bad floatingip request: Port %s does not have fixed ip %s." % (
                port["id"], attrs["fixed_ip_address"])
        else:
            return None
        return lambda request: self.reply(request, 400, {"NeutronError": {
            "type": "BadRequest", "detail": "", "message": message}})

    def address_taken(self, attrs):
        for fixed in attrs.get("fixed_ips") or []:
            for port in self.store["ports"].values():
                if port["network_id"] == attrs["network_id"] and any(
                        f.get("ip_address") == fixed.get("ip_address") for f in port["fixed_ips"]):
                    return fixed["ip_address"], fixed.get("subnet_id")
        return None

    # -- Nova -------------------------------------------------------------------
    def nova(self, request, path, query, body):
        if path in ("", "/"):
            return self.reply(request, 200, {"version": {"id": "v2.1", "status": "CURRENT", "version": "2.79",
                                                         "min_version": "2.1", "links": [
                                                             {"href": COMPUTE + "/", "rel": "self"}]}})
        path = path.strip("/")
        if path == "flavors/detail":
            return self.reply(request, 200, {"flavors": self.flavors})
        if path == "os-keypairs" and request.method == "POST":
            kp = dict(body["keypair"], fingerprint="00:11", type="ssh", user_id="u")
            if kp["name"] in self.keypairs:
                return self.reply(request, 409, {"conflictingRequest": {"code": 409, "message":
                                                 "Key pair '%s' already exists." % kp["name"]}})
            self.keypairs[kp["name"]] = kp
            return self.reply(request, 200, {"keypair": kp})
        if path.startswith("os-keypairs/"):
            name = path.split("/", 1)[1]
            if request.method == "DELETE":
                if self.keypairs.pop(name, None) is None:
                    return self.reply(request, 404, {"itemNotFound": {"code": 404, "message": "not found"}})
                return self.reply(request, 202)
            if name in self.keypairs:
                return self.reply(request, 200, {"keypair": self.keypairs[name]})
            return self.reply(request, 404, {"itemNotFound": {"code": 404, "message": "not found"}})
        if path in ("servers/detail", "servers") and request.method == "GET":
            found = list(self.servers.values())
            if query.get("name"):
                found = [s for s in found if re.search(query["name"], s["name"])]
            return self.page(request, [self.server_view(s, poll=False) for s in found], "servers", query)
        if path == "servers" and request.method == "POST":
            attrs = body["server"]
            server = dict(id=str(uuid.uuid4()), name=attrs["name"], status="BUILD", metadata=attrs.get("metadata") or {},
                          request=attrs, polls=0, addresses={}, flavor={"original_name": attrs["flavorRef"]},
                          image={"id": attrs["imageRef"]}, key_name=attrs.get("key_name"))
            server["OS-EXT-AZ:availability_zone"] = attrs.get("availability_zone")
            self.servers[server["id"]] = server
            for net in attrs.get("networks") or []:
                port = self.store["ports"][net["port"]]
                port.update(device_id=server["id"], device_owner="compute:" + (attrs.get("availability_zone") or "nova"))
            return self.reply(request, 202, {"server": {"id": server["id"], "links": [], "adminPass": "x",
                                                        "OS-DCF:diskConfig": "MANUAL", "security_groups": []}})
        match = re.match(r"^servers/([^/]+)/os-volume_attachments(?:/([^/]+))?$", path)
        if match:
            return self.nova_attachment(request, match.group(1), match.group(2), body)
        match = re.match(r"^servers/([^/]+)(/action)?$", path)
        if match:
            server = self.servers.get(match.group(1))
            if server is None:
                return self.reply(request, 404, {"itemNotFound": {"code": 404, "message": "Instance could not be found"}})
            if match.group(2):
                action = list(body)[0]
                server["status"] = {"os-stop": "SHUTOFF", "os-start": "ACTIVE", "reboot": "ACTIVE"}[action]
                return self.reply(request, 202)
            if request.method == "GET":
                return self.reply(request, 200, {"server": self.server_view(server, poll=True)})
            if request.method == "DELETE":
                del self.servers[server["id"]]
                for port in self.store["ports"].values():
                    if port["device_id"] == server["id"]:
                        port.update(device_id="", device_owner="")
                return self.reply(request, 204)
        return None

    def server_view(self, server, poll):
        if poll and server["status"] == "BUILD" and not self.stuck:
            server["polls"] += 1
            if server["polls"] >= self.boot_polls:
                server["status"] = "ACTIVE"
        view = dict((k, v) for k, v in server.items() if k not in ("request", "polls"))
        view.update(tenant_id=PROJECT, user_id="u", created="2026-01-01T00:00:00Z", updated="2026-01-01T00:00:00Z",
                    hostId="h", links=[])
        return view

    def nova_attachment(self, request, server_id, volume_id, body):
        """os-volume_attachments: Nova reserves the volume in Cinder (attaching), the guest gets the device (in-use)."""
        if server_id not in self.servers:
            return self.reply(request, 404, {"itemNotFound": {"code": 404, "message": "Instance %s could not be found."
                                                              % server_id}})
        if request.method == "POST":
            volume_id = body["volumeAttachment"]["volumeId"]
            vol = self.volumes.get(volume_id)
            if vol is None:
                return self.reply(request, 404, {"itemNotFound": {"code": 404, "message": "Volume %s could not be found."
                                                                  % volume_id}})
            if vol["status"] != "available":
                message = "Invalid volume: volume %s status must be 'available'. Currently in '%s'" % (volume_id, vol["status"])
                return self.reply(request, 400, {"badRequest": {"code": 400, "message": message}})
            in_use = sum(1 for v in self.volumes.values() if any(a["server_id"] == server_id for a in v["attachments"]))
            device = "/dev/vd%s" % "bcdefgh"[in_use]
            attachment = dict(id=str(uuid.uuid4()), attachment_id=str(uuid.uuid4()), volume_id=volume_id,
                              server_id=server_id, host_name="compute-1", device=device,
                              attached_at="2026-01-01T00:00:00Z")
            self.transition(vol, "attaching", dict(status="in-use", attachments=[attachment]))
            return self.reply(request, 200, {"volumeAttachment": {"id": volume_id, "volumeId": volume_id,
                                                                  "serverId": server_id, "device": device}})
        if request.method == "DELETE":
            vol = self.volumes.get(volume_id)
            if vol is None or not any(a["server_id"] == server_id for a in vol["attachments"]):
                return self.reply(request, 404, {"itemNotFound": {"code": 404, "message": (
                    "volume_id not found: %s" % volume_id)}})
            settled = dict(status="in-use") if self.detach_refused else dict(status="available", attachments=[])
            self.transition(vol, "detaching", settled)
            return self.reply(request, 202)
        return None

    # -- Cinder -----------------------------------------------------------------
    def transition(self, obj, status, settled):
        """OBJ is in STATUS for cinder_polls reads, then takes SETTLED (or 'error' when cinder_errors has STATUS)."""
        obj["status"] = status
        failed = {"extending": "error_extending", "restoring-backup": "error_restoring"}.get(status, "error")
        obj["_pending"] = [self.cinder_polls, dict(status=failed) if status in self.cinder_errors else settled]

    def settle(self, obj, store):
        pending = obj.get("_pending")
        if not pending:
            return obj
        pending[0] -= 1
        if pending[0] <= 0:
            del obj["_pending"]
            if pending[1] is None:
                del store[obj["id"]]
                parent = self.backups.get(obj.get("parent_id")) if store is self.backups else None
                if parent is not None:
                    parent["has_dependent_backups"] = any(b.get("parent_id") == parent["id"] for b in store.values())
                return None
            obj.update(pending[1])
        return obj

    @staticmethod
    def view(obj):
        return dict((k, v) for k, v in obj.items() if not k.startswith("_"))

    def cinder_error(self, request, status, message):
        key = {400: "badRequest", 403: "forbidden", 404: "itemNotFound", 409: "conflictingRequest"}[status]
        return self.reply(request, status, {key: {"code": status, "message": message}})

    def cinder(self, request, path, query, body):
        if path.rstrip("/") in ("", "/v3"):
            return self.reply(request, 300 if path in ("", "/") else 200, {"versions": [{
                "id": "v3.0", "status": "CURRENT", "version": "3.71", "min_version": "3.0", "updated": "2023-08-31T00:00:00Z",
                "links": [{"href": VOLUME + "/v3/", "rel": "self"}],
                "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}]}]})
        parts = path[len("/v3/"):].strip("/").split("/")
        if parts == ["types"]:
            return self.reply(request, 200, {"volume_types": self.volume_types})
        if len(parts) == 3 and parts[0] == "types" and parts[2] == "encryption":
            if self.type_encryption_forbidden:
                return self.cinder_error(request, 403, "Policy doesn't allow volume_extension:volume_type_encryption "
                                                       "to be performed.")
            return self.reply(request, 200, self.type_encryption.get(parts[1], {}))
        if parts == ["os-availability-zone"]:
            return self.reply(request, 200, {"availabilityZoneInfo": [
                dict(zoneName=z, zoneState=dict(available=True)) for z in self.volume_zones]})
        kinds = {"volumes": (self.volumes, "volume", "volumes"), "snapshots": (self.snapshots, "snapshot", "snapshots"),
                 "backups": (self.backups, "backup", "backups")}
        if parts[0] not in kinds:
            return None
        store, single, plural = kinds[parts[0]]
        rest = parts[1:]
        if not rest and request.method == "POST":
            return getattr(self, "cinder_create_" + single)(request, body[single])
        if rest in (["detail"], []) and request.method == "GET":
            found = [self.view(o) for o in store.values()
                     if all(str(o.get(k)) == str(v) for k, v in query.items() if k not in ("limit", "marker"))]
            return self.reply(request, 200, {plural: found})
        obj = store.get(rest[0])
        if obj is None:
            return self.cinder_error(request, 404, "%s %s could not be found." % (single.capitalize(), rest[0]))
        if len(rest) == 1 and request.method == "GET":
            obj = self.settle(obj, store)
            if obj is None:
                return self.cinder_error(request, 404, "%s %s could not be found." % (single.capitalize(), rest[0]))
            return self.reply(request, 200, {single: self.view(obj)})
        if len(rest) == 1 and request.method == "PUT":
            obj.update(body[single])
            return self.reply(request, 200, {single: self.view(obj)})
        if len(rest) == 1 and request.method == "DELETE":
            refused = getattr(self, "cinder_delete_refusal_" + single)(obj)
            if refused:
                return self.cinder_error(request, 400, refused)
            self.transition(obj, "deleting", None)
            return self.reply(request, 202)
        if rest[1:2] == ["metadata"]:
            if request.method == "POST":
                obj["metadata"].update(body["metadata"])
                return self.reply(request, 200, {"metadata": obj["metadata"]})
            if request.method == "DELETE" and len(rest) == 3:
                if obj["metadata"].pop(rest[2], None) is None:
                    return self.cinder_error(request, 404, "Metadata %s could not be found." % rest[2])
                return self.reply(request, 200)
            if request.method == "GET":
                return self.reply(request, 200, {"metadata": obj["metadata"]})
        if single == "volume" and rest[1:] == ["action"] and "os-extend" in body:
            new_size = int(body["os-extend"]["new_size"])
            if obj["status"] not in ("available", "in-use"):
                return self.cinder_error(request, 400, "Invalid volume: Volume %s status must be available or in-use, "
                                                       "but current status is: %s." % (obj["id"], obj["status"]))
            if new_size <= obj["size"]:
                return self.cinder_error(request, 400, "Invalid input received: New size for extend must be greater "
                                                       "than current size. (current: %d, extended: %d)."
                                         % (obj["size"], new_size))
            self.transition(obj, "extending", dict(status=obj["status"], size=new_size))
            return self.reply(request, 202)
        if single == "backup" and rest[1:] == ["restore"]:
            return self.cinder_restore(request, obj, body["restore"])
        return None

    def cinder_create_volume(self, request, attrs):
        zone = attrs.get("availability_zone") or "nova"
        if zone not in self.volume_zones:
            return self.cinder_error(request, 400, "Invalid input received: Availability zone '%s' is invalid." % zone)
        vtype = None
        snap = None
        if attrs.get("snapshot_id"):
            snap = self.snapshots.get(attrs["snapshot_id"])
            if snap is None or snap["status"] != "available":
                return self.cinder_error(request, 400, "Invalid snapshot: Originating snapshot status must be one of "
                                                       "'available' values")
            source = self.volumes[snap["volume_id"]]
            if zone != source["availability_zone"]:
                return self.cinder_error(request, 400, "Invalid input received: Volume must be in the same "
                                                       "availability zone as the snapshot")
            if int(attrs["size"]) < snap["size"]:
                return self.cinder_error(request, 400, "Invalid input received: Volume size '%s'GB cannot be smaller "
                                                       "than the snapshot size %sGB." % (attrs["size"], snap["size"]))
            vtype = next(t for t in self.volume_types if t["name"] == source["volume_type"])
        name = attrs.get("volume_type")
        if name:
            vtype = next((t for t in self.volume_types if name in (t["name"], t["id"])), None)
            if vtype is None:
                return self.cinder_error(request, 404, "Volume type with name %s could not be found." % name)
        vtype = vtype or self.volume_types[0]
        vol = dict(id=str(uuid.uuid4()), name=attrs.get("name"), description=attrs.get("description"),
                   size=int(attrs["size"]), availability_zone=zone, volume_type=vtype["name"],
                   encrypted=vtype["id"] in self.type_encryption, metadata=dict(attrs.get("metadata") or {}),
                   snapshot_id=attrs.get("snapshot_id"), source_volid=None, backup_id=None, attachments=[],
                   bootable="false", multiattach=False, created_at="2026-01-01T00:00:%02dZ" % (len(self.volumes) % 60),
                   user_id="u", **{"os-vol-tenant-attr:tenant_id": PROJECT})
        self.volumes[vol["id"]] = vol
        self.transition(vol, "creating", dict(status="available"))
        return self.reply(request, 202, {"volume": self.view(vol)})

    def cinder_delete_refusal_volume(self, vol):
        if vol["attachments"] or vol["status"] not in ("available", "error", "error_restoring", "error_extending"):
            return ("Invalid volume: Volume status must be available or error or error_restoring or error_extending or "
                    "error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a "
                    "transfer, or be disassociated from snapshots after volume transfer.")
        count = sum(1 for s in self.snapshots.values() if s["volume_id"] == vol["id"])
        if count:
            return "Invalid volume: Volume %s still has %d dependent snapshots." % (vol["id"], count)
        return None

    def cinder_create_snapshot(self, request, attrs):
        vol = self.volumes.get(attrs["volume_id"])
        if vol is None:
            return self.cinder_error(request, 404, "Volume %s could not be found." % attrs["volume_id"])
        force = str(attrs.get("force")).lower() == "true"
        if vol["status"] != "available" and not (force and vol["status"] == "in-use"):
            return self.cinder_error(request, 400, "Invalid volume: Volume %s status must be available, but current "
                                                   "status is: %s." % (vol["id"], vol["status"]))
        snap = dict(id=str(uuid.uuid4()), name=attrs.get("name"), description=attrs.get("description"),
                    volume_id=vol["id"], size=vol["size"], metadata=dict(attrs.get("metadata") or {}),
                    created_at="2026-01-01T00:01:%02dZ" % (len(self.snapshots) % 60), user_id="u")
        self.snapshots[snap["id"]] = snap
        self.transition(snap, "creating", dict(status="available"))
        return self.reply(request, 202, {"snapshot": self.view(snap)})

    @staticmethod
    def cinder_delete_refusal_snapshot(snap):
        if snap["status"] not in ("available", "error"):
            return "Invalid snapshot: Volume Snapshot status must be available or error."
        return None

    def cinder_create_backup(self, request, attrs):
        vol = self.volumes.get(attrs["volume_id"])
        if vol is None:
            return self.cinder_error(request, 404, "Volume %s could not be found." % attrs["volume_id"])
        force = bool(attrs.get("force"))
        if vol["status"] != "available" and not (force and vol["status"] == "in-use"):
            return self.cinder_error(request, 400, "Invalid volume: Volume to be backed up must be available or in-use, "
                                                   "but the current status is \"%s\"." % vol["status"])
        if (attrs.get("availability_zone") or vol["availability_zone"]) not in self.backup_zones:
            return self.cinder_error(request, 404, "Service cinder-backup could not be found.")
        earlier = sorted((b for b in self.backups.values() if b["volume_id"] == vol["id"] and b["status"] == "available"),
                         key=lambda b: b["data_timestamp"])
        parent = None
        if attrs.get("incremental"):
            if not earlier:
                return self.cinder_error(request, 400, "Invalid backup: No backups available to do an incremental "
                                                       "backup.")
            parent = earlier[-1]
            parent["has_dependent_backups"] = True
        stamp = "2026-01-01T00:02:%02dZ" % (len(self.backups) % 60)
        backup = dict(id=str(uuid.uuid4()), name=attrs.get("name"), description=attrs.get("description"),
                      volume_id=vol["id"], size=vol["size"], container=attrs.get("container") or "volumebackups",
                      availability_zone=attrs.get("availability_zone") or vol["availability_zone"],
                      is_incremental=parent is not None, parent_id=parent["id"] if parent else None,
                      has_dependent_backups=False, metadata=dict(attrs.get("metadata") or {}), created_at=stamp,
                      data_timestamp=stamp, snapshot_id=None, object_count=0, fail_reason=None,
                      encryption_key_id="k-%s" % vol["id"] if vol["encrypted"] else None)
        self.backups[backup["id"]] = backup
        self.transition(backup, "creating", dict(status="available"))
        previous = vol["status"]
        vol["status"] = "backing-up"
        vol["_pending"] = [self.cinder_polls, dict(status=previous)]
        return self.reply(request, 202, {"backup": dict(id=backup["id"], name=backup["name"], links=[])})

    def cinder_delete_refusal_backup(self, backup):
        if backup["status"] not in ("available", "error"):
            return "Invalid backup: Backup status must be available or error"
        if any(b.get("parent_id") == backup["id"] for b in self.backups.values()):
            return "Invalid backup: Incremental backups exist for this backup."
        return None

    def cinder_restore(self, request, backup, attrs):
        vol = self.volumes.get(attrs.get("volume_id"))
        if vol is None:
            return self.cinder_error(request, 404, "Volume %s could not be found." % attrs.get("volume_id"))
        if vol["status"] != "available":
            return self.cinder_error(request, 400, "Invalid volume: Volume to be restored to must be available")
        if vol["size"] < backup["size"]:
            return self.cinder_error(request, 400, "Invalid volume: volume size %d is too small to restore backup of "
                                                   "size %d." % (vol["size"], backup["size"]))
        self.transition(vol, "restoring-backup", dict(status="available", backup_id=backup["id"]))
        self.transition(backup, "restoring", dict(status="available"))
        return self.reply(request, 202, {"restore": dict(backup_id=backup["id"], volume_id=vol["id"],
                                                         volume_name=vol["name"])})

    # -- Glance -----------------------------------------------------------------
    def glance(self, request, path, query):
        if path in ("", "/"):
            return self.reply(request, 300, {"versions": [{"id": "v2.16", "status": "CURRENT", "links": [
                {"href": IMAGE + "/v2/", "rel": "self"}]}]})
        if path.rstrip("/") == "/v2/images":
            found = [i for i in self.images if query.get("status") in (None, i["status"])]
            if self.page_size is None:
                return self.reply(request, 200, {"images": found, "first": "/v2/images", "schema": "/v2/schemas/images"})
            start = 0
            if query.get("marker"):
                start = next(i for i, o in enumerate(found) if o["id"] == query["marker"]) + 1
            chunk = found[start:start + self.page_size]
            payload = {"images": chunk, "first": "/v2/images", "schema": "/v2/schemas/images"}
            if start + self.page_size < len(found):
                payload["next"] = "/v2/images?marker=%s&limit=%s" % (chunk[-1]["id"], self.page_size)
            return self.reply(request, 200, payload)
        return None


def claim_vip(provider, name, holder):
    """Make holder the vip's holder through the provider's contract, as keepalived's cloud_api action does
    (roles/keepalived/files/actions/openstack_vip.py, which the tests compare with this)."""
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vip import check_holder
    current = provider.get_vip(name)
    if current is None:
        raise IaasError("vip %s does not exist" % name, field="name", fix="create it with secure_cloud.iaas.vip")
    check_holder(holder, current["allowed_instances"])
    if current["holder"] == holder and current["stored_holder"] == holder:
        return current
    return provider.update_vip(current, dict(holder=holder))


def modules_on_fake_cloud(tmp_path, monkeypatch):
    """The modules' environment pointed at the fake cloud (a fixture body: yield from it)."""
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.conn import Connection

    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(CLOUDS_YAML)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    # Selected once, as module_defaults or the environment would.
    monkeypatch.setenv("SECURE_CLOUD_PROVIDER", "openstack")
    monkeypatch.setenv("OS_CLOUD", "unit")
    monkeypatch.setenv("SECURE_CLOUD_EXTERNAL_NETWORK", "public")
    monkeypatch.setenv("SECURE_CLOUD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SECURE_CLOUD_ALLOWED_LOCATIONS", raising=False)
    monkeypatch.setattr(Connection, "poll_interval", 0.01)
    with requests_mock.Mocker() as mocker:
        yield FakeCloud(mocker)
