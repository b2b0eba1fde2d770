# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPsec policy of module_utils/ipsec as filters, for the ipsec_gateway role:
the same proposals, refusals and swanctl/nftables rendering as the vpn_tunnel module.
Each filter is documented in the YAML file of its name next to this one."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.secure_cloud.iaas.plugins.module_utils.ipsec import connection, firewall, proposals, swanctl


def _catch(func):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (KeyError, TypeError, ValueError) as exc:
            raise AnsibleFilterError("%s: %s" % (func.__name__, exc))
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@_catch
def ipsec_refusals(value, kind, where=""):
    """One message per refused proposal: '<where> entry <proposal> <problem>; <fix>'."""
    prefix = "%s entry" % where if where else "entry"
    return ["%s %s %s; %s" % (prefix, entry, problem, fix) for entry, problem, fix in proposals.refusals(value, kind)]


@_catch
def ipsec_connection(value, backend, local_addr, prefix, ike_proposals=None, esp_proposals=None, dpd_delay=None):
    conn = connection.from_role(value, backend, local_addr, ike_proposals, esp_proposals, dpd_delay)
    return swanctl.render_connection(conn, prefix)


@_catch
def ipsec_psk(value, local_addr):
    conn = connection.from_role(value, "kernel", local_addr)
    return swanctl.render_psk(conn["name"], value["psk"], conn["remote_id"], local_id=conn["local_id"])


@_catch
def ipsec_firewall(value, backend, public_interface, table, tcp_ports=()):
    return firewall.render_firewall(value, public_interface, backend, table, tcp_ports or ())


@_catch
def ipsec_backend_settings(value):
    return swanctl.render_settings(backend=value)


@_catch
def ipsec_retransmit_settings(value):
    return swanctl.render_settings(retransmit=dict(tries=value["tries"], timeout=value["timeout"], base=value["base"]))


@_catch
def ipsec_probe(value):
    return swanctl.probe_command(value)


class FilterModule(object):
    """The ipsec_* filters."""

    def filters(self):
        return dict(ipsec_refusals=ipsec_refusals, ipsec_connection=ipsec_connection, ipsec_psk=ipsec_psk,
                    ipsec_firewall=ipsec_firewall, ipsec_backend_settings=ipsec_backend_settings,
                    ipsec_retransmit_settings=ipsec_retransmit_settings, ipsec_probe=ipsec_probe)
