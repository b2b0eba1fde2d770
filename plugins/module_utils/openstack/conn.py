# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection every openstack driver is given: sign-in, error mapping, the shared read cache, names and tags.

Every object the collection makes carries the Neutron tag / Nova metadata
``secure_cloud.iaas.managed``; what the collection must remember about an
object lives on the object itself (tags, metadata, descriptions), never in
the state store. The names and tag helpers here are the one spelling of that,
also used by the Neutron lab's helpers (scripts/neutron_lab/).

Only the openstack/ package imports openstacksdk, and in it only this file.
"""

from __future__ import annotations

import os

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError

try:
    import openstack
    from openstack import exceptions as os_exc
    # openstacksdk's own dependency: a service that cannot be reached (connection
    # refused, no version document) fails with its exceptions, not the SDK's.
    from keystoneauth1 import exceptions as ksa_exc
    HAS_OPENSTACK = True
except ImportError:
    HAS_OPENSTACK = False

PROVIDER_NAME = "openstack"
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


# -- names, tags, metadata (pure) ---------------------------------------------------
def network_name(vlan_name):
    """The network, subnet, security group and router of a vlan are all named this."""
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


def undo_quietly(steps):
    """Run undo steps (callables), newest first; one that fails is passed over (nothing half-made stays)."""
    for step in reversed(steps):
        try:
            step()
        except Exception:  # pylint: disable=broad-except
            pass


# -- the connection -------------------------------------------------------------------
def connect(params):
    """A signed-in openstacksdk connection for the provider options (cloud, region_name, auth)."""
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


class GuardedConnection(object):
    """The SDK connection, each service proxy made under the error mapping.

    ``conn.network`` (and compute, image) is made on first use, after reading the
    service's version document when the endpoint is an override; a service that
    does not answer fails right there, before any call ``api`` wraps.
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


class Connection(object):
    """What every driver of the openstack provider shares: the SDK connection, the options, one read cache.

    ``api`` and ``list`` make one SDK call each, turning every failure into an
    IaasError a person can act on. The cache holds what several drivers read
    in one module run (images, vlans, the collection's ports, the vpnaas
    extension); a driver that changes one of them calls ``forget``.
    """

    # Seconds between two polls of a server's or a tunnel's status (the SDK's interval).
    poll_interval = 2

    def __init__(self, params, connection):
        self.params = params
        self.sdk = GuardedConnection(connection, self.unreachable)
        self._cache = {}

    @property
    def network(self):
        return self.sdk.network

    @property
    def compute(self):
        return self.sdk.compute

    @property
    def image(self):
        return self.sdk.image

    @property
    def block_storage(self):
        return self.sdk.block_storage

    # -- the read cache -------------------------------------------------------------
    def cached(self, key, read):
        """The cached value of key, read (read()) on first use."""
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key]

    def forget(self, *keys):
        """Drop the named cache entries (all of them when none is named)."""
        for key in keys or list(self._cache):
            self._cache.pop(key, None)

    def tagged_ports(self, kind, **match):
        """[(tag values, port)] of the collection's ports of that kind whose tags hold every match."""
        ports = self.cached("ports", lambda: self.list("list ports", self.network.ports, tags=MANAGED))
        out = []
        for port in ports:
            values = read_tags(port.tags)[0]
            if values.get("kind") == kind and all(values.get(k) == v for k, v in match.items()):
                out.append((values, port))
        return out

    # -- error mapping ---------------------------------------------------------------
    def api(self, what, func, *args, **kwargs):
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
            raise self.unreachable(what, _service_of(func), exc)

    def list(self, what, func, **query):
        """Every object a listing call yields (pages followed), under the error mapping."""
        def call():
            return list(func(**query))
        call.service_type = _service_of(func)
        return list(self.api(what, call))

    def wait_server(self, server, status, timeout, what):
        """The SDK's wait; a timeout names wait_timeout, an ERROR state the server's fault."""
        try:
            return self.compute.wait_for_server(server, status=status, failures=["ERROR"],
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
            raise self.unreachable(what, "compute", exc)

    def unreachable(self, what, service, exc):
        """The API did not answer (connection refused, no version document): name the cloud and the endpoint.

        ``what`` is the call (None when the service's proxy could not even be
        made: with an endpoint override the SDK reads the version document first).
        """
        cloud = getattr(self.sdk.config, "name", None) or self.params.get("cloud") or os.environ.get("OS_CLOUD")
        endpoint = None
        if service:
            try:
                endpoint = self.sdk.config.get_endpoint(service) or self.sdk.endpoint_for(service)
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


def _short(exc):
    text = " ".join(str(exc).split())
    return text[:300]


def _error_body(exc):
    """The JSON body of an HTTP error as a dict ({} when there is none)."""
    try:
        body = exc.response.json()
    except Exception:  # pylint: disable=broad-except
        return {}
    return body if isinstance(body, dict) else {}


def _response_message(exc):
    """The message of the documented error bodies: Neutron {"NeutronError": {...}}, Nova {"<kind>": {...}}."""
    for value in _error_body(exc).values():
        if isinstance(value, dict) and value.get("message"):
            kind = value.get("type")
            text = "%s: %s" % (kind, value["message"]) if kind else value["message"]
            return " ".join(text.split())[:300]
    return None


def _error_type(exc):
    """The ``type`` of a Neutron error body (e.g. AvailabilityZoneNotFound), or None."""
    inner = _error_body(exc).get("NeutronError")
    return inner.get("type") if isinstance(inner, dict) else None


def _service_of(func):
    """The service type of an SDK proxy method (network, compute, image), or None."""
    return getattr(func, "service_type", None) or getattr(getattr(func, "__self__", None), "service_type", None)


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
