#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpn_tunnel
short_description: Site-to-site IPsec tunnels between private VLANs and a customer site
version_added: 0.1.0
description:
  - An IKEv2/IPsec tunnel between the location's VPN gateway and a customer
    gateway (O(peer_address)) that joins the private VLANs in O(vlans) with the
    customer's subnets (O(peer_subnets)). Traffic between them crosses the public
    VLAN encrypted; nothing on the public VLAN reaches a private VLAN.
  - Authentication by pre-shared key (given in O(psk), or generated with the
    operating system's cryptographic RNG into O(psk_file), mode 0600) or by
    certificates (O(cacert), O(cert), O(key)). The key never appears in the
    module's output, diff or logs; the state store keeps only a salted
    fingerprint of it, so a changed key is detected and applied.
  - Strong proposals by default (AES-256-GCM, ECP-384 or X25519, PFS); weak or
    malformed proposals are refused by the same code as in the
    P(secure_cloud.iaas.ipsec_gateway#role) role on the customer side, which also
    renders its swanctl connections, secrets and firewall with this module's code.
  - Dead peer detection every O(dpd_delay) seconds and retransmits that give up
    after about 7 s, so a dead peer is noticed in seconds; both ends re-initiate
    by themselves after a restart.
  - On the C(docker) provider the location's VPN gateway is a container
    C(sciaas-vpngw-<location>) running strongSwan (swanctl), made with the first
    tunnel and removed with the last, with an address on the public VLAN and on
    every served private VLAN. It uses kernel ESP where the kernel has it and
    strongSwan's kernel-libipsec where it does not (a probe decides), with ESP in
    UDP 4500. Running instances on a served VLAN get a route to each peer subnet
    via the gateway (re-synced on every run and when instances start); nothing
    else is routed. It needs the Docker engine on the host that runs the task,
    and root there.
  - On the C(openstack) provider the tunnel is Neutron VPNaaS, with one VPN service
    C(sciaas-vpngw-<location>) on the public VLAN's router per location (made with
    the first tunnel, removed with the last) and, per tunnel, an IKE policy, an
    IPsec policy, two endpoint groups and an IPsec site connection, all named
    C(sciaas-vpn-<name>). Each served VLAN gets a port on that router (an address
    allocated like an instance's, not the VLAN's gateway), a host route to each
    peer subnet via that port (Neutron's DHCP hands it to the guests at their next
    lease renewal or boot) and a security group rule admitting the peer subnets.
    Only O(authentication=psk) is possible. A Neutron policy holds one proposal, so
    the first entry of O(ike_proposals) and of O(esp_proposals) is used (a warning
    names the others), mapped onto C(encryption_algorithm), C(auth_algorithm) (one
    hash for integrity and PRF) and C(pfs); what Neutron cannot express (for example
    ChaCha20-Poly1305, Camellia, X448, ESN, several ciphers in one proposal) fails
    naming the entry before anything is created. A cloud without the C(vpnaas)
    extension fails with a clear message. The key goes to Neutron only (in the site
    connection); a salted fingerprint of it, the labels and O(psk_file) are kept in
    the objects' descriptions, nothing in the state store. Any change replaces the
    tunnel's objects (Neutron refuses to change a policy in use); a failure midway
    removes what was made and puts the previous site connection back.
  - Changing settings reloads the connection in place (docker) or replaces it
    (openstack); O(location) and O(public_vlan) are fixed once the tunnel exists.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description:
      - Name of the tunnel, unique in the provider; also the swanctl connection name.
    type: str
    required: true
  location:
    description:
      - The data center. Required to create a tunnel; fixed afterwards.
    type: str
  vlans:
    description:
      - The private VLANs of O(location) the tunnel serves. Required to create a tunnel.
      - A public VLAN, an unknown VLAN or one of another location is refused.
    type: list
    elements: str
  public_vlan:
    description:
      - The public VLAN the gateway faces the peer on, where it takes its public
        address (RV(vpn_tunnel.gateway_address)).
      - Defaults to the only public VLAN of the location; fixed afterwards, and
        the same for every tunnel of a location.
    type: str
  peer_address:
    description:
      - The customer gateway's public address. Required.
    type: str
  peer_subnets:
    description:
      - The customer site's subnets (CIDR). None may overlap a VLAN of the location
        or another tunnel's subnets there. Required.
    type: list
    elements: str
  authentication:
    description:
      - V(psk) authenticates both ends with a pre-shared key; V(pubkey) with certificates.
    type: str
    choices: [psk, pubkey]
    default: psk
  psk:
    description:
      - The pre-shared key, at least 20 characters (keep it in a vault).
      - Left out with O(authentication=psk), the key is read from O(psk_file), or
        generated there when that file does not exist.
      - Mutually exclusive with O(psk_file), O(cacert), O(cert) and O(key).
    type: str
  psk_file:
    description:
      - Path, on the host that runs the module, of the generated pre-shared key
        (mode 0600, directory 0700). Returned as RV(vpn_tunnel.psk_file); give it
        to the customer gateway (for example the P(secure_cloud.iaas.ipsec_gateway#role)
        role's C(psk) through a lookup).
      - Defaults to C(<state_dir>/vpn/<name>.psk).
      - Mutually exclusive with O(psk), O(cacert), O(cert) and O(key).
    type: path
  cacert:
    description:
      - With O(authentication=pubkey), the CA certificate that signed both ends'
        certificates, as a path on the host that runs the module or PEM content.
    type: str
  cert:
    description:
      - With O(authentication=pubkey), the gateway's certificate (path or PEM),
        issued by O(cacert).
    type: str
  key:
    description:
      - With O(authentication=pubkey), the unencrypted private key of O(cert)
        (path or PEM). It must match O(cert).
    type: str
  local_id:
    description:
      - The gateway's IKE identity. Defaults to its public address with a PSK,
        and to the first DNS subjectAltName of O(cert) with certificates.
    type: str
  remote_id:
    description:
      - The peer's IKE identity. Defaults to O(peer_address); required with
        certificates (an identity in the peer's certificate).
    type: str
  ike_proposals:
    description:
      - IKE proposals, strongest first. Weak algorithms (DES, 3DES, MD5, SHA-1,
        MODP below 2048, ECP below 256, 8-byte ICVs) and malformed proposals are refused.
    type: list
    elements: str
    default: [aes256gcm16-prfsha384-ecp384, aes256gcm16-prfsha384-x25519]
  esp_proposals:
    description:
      - ESP proposals; the key exchange group gives perfect forward secrecy.
    type: list
    elements: str
    default: [aes256gcm16-ecp384, aes256gcm16-x25519]
  dpd_delay:
    description:
      - Seconds of silence before a dead peer detection exchange (1 to 300).
        Retransmits give up after about 7 s, then the tunnel is restarted.
    type: int
    default: 2
  labels:
    description:
      - Free-form labels (string values) to find the tunnel by.
    type: dict
  state:
    description:
      - V(present) creates or updates the tunnel; V(absent) removes it (and the
        gateway with the location's last tunnel, and the instances' routes).
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the tunnel is C(established) (IKE_SA established and CHILD_SA
        installed). With V(false) the module returns at once with C(configured)
        or C(connecting).
    type: bool
    default: true
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.wait
  - secure_cloud.iaas.provider.attributes
notes:
  - The generated key's file is written on the host that runs the module (the
    controller when the task runs on localhost, as with the local Docker engine).
  - In check mode no key is generated; RV(vpn_tunnel.psk_file) names where it would be.
seealso:
  - module: secure_cloud.iaas.vpn_tunnel_info
  - module: secure_cloud.iaas.vlan
"""

EXAMPLES = r"""
- name: Tunnel from the app vlan to the customer's office, with a generated key
  secure_cloud.iaas.vpn_tunnel:
    name: office
    location: fra1
    vlans: [app]
    peer_address: 198.51.100.7
    peer_subnets: [10.1.0.0/24]
  register: office

- name: Give the customer gateway the key (read on the controller, never printed)
  ansible.builtin.set_fact:
    office_psk: "{{ lookup('ansible.builtin.file', office.vpn_tunnel.psk_file) }}"
  no_log: true

- name: Tunnel authenticated with certificates, not waiting for the peer
  secure_cloud.iaas.vpn_tunnel:
    name: branch
    location: fra1
    vlans: [app, db]
    peer_address: 203.0.113.20
    peer_subnets: [10.2.0.0/24]
    authentication: pubkey
    cacert: files/pki/ca.pem
    cert: files/pki/vpn.fra1.pem
    key: files/pki/vpn.fra1.key
    remote_id: gw.branch.example
    wait: false

- name: Remove the tunnel
  secure_cloud.iaas.vpn_tunnel:
    name: branch
    state: absent
"""

RETURN = r"""
repaired:
  description:
    - What the provider enforces on the host that had drifted from the truth of the engine and
      its store (a flushed or edited table, ports renamed by a restart), and that this run put back
      (would put back, in check mode). Any resource module run does it, whatever its own resource.
  returned: when something had drifted
  type: list
  elements: str
  sample: ["vlan isolation table", "vip guard", "VPN routes"]
vpn_tunnel:
  description: The tunnel as it is after the task (as it would be, in check mode); empty when absent. Never holds a secret.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the tunnel.
      type: str
      sample: office
    location:
      description: The data center.
      type: str
      sample: fra1
    vlans:
      description: The private VLANs it serves, sorted.
      type: list
      elements: str
      sample: [app]
    public_vlan:
      description: The public VLAN the gateway faces the peer on.
      type: str
      sample: public
    local_subnets:
      description: The served VLANs' subnets (the tunnel's local traffic selectors).
      type: list
      elements: str
      sample: [10.210.2.0/24]
    peer_address:
      description: The customer gateway's address.
      type: str
      sample: 198.51.100.7
    peer_subnets:
      description: The customer site's subnets, sorted.
      type: list
      elements: str
      sample: [10.1.0.0/24]
    authentication:
      description: V(psk) or V(pubkey).
      type: str
      sample: psk
    local_id:
      description: The gateway's IKE identity.
      type: str
      sample: 10.210.0.3
    remote_id:
      description: The peer's IKE identity.
      type: str
      sample: 198.51.100.7
    ike_proposals:
      description: IKE proposals.
      type: list
      elements: str
      sample: [aes256gcm16-prfsha384-ecp384]
    esp_proposals:
      description: ESP proposals.
      type: list
      elements: str
      sample: [aes256gcm16-ecp384]
    dpd_delay:
      description: Dead peer detection delay in seconds.
      type: int
      sample: 2
    status:
      description:
        - V(configured) (not loaded yet), V(connecting) (loaded, no SA), or V(established).
        - On C(openstack) it follows Neutron's site connection status, C(PENDING_*) as V(configured), C(DOWN) or
          C(BUILD) as V(connecting), C(ACTIVE) as V(established), and C(ERROR) as V(error).
      type: str
      sample: established
    gateway_address:
      description: The VPN gateway's public address, the peer's C(remote_addrs).
      type: str
      sample: 10.210.0.3
    gateway_addresses:
      description:
        - The gateway's address on each VLAN; instances route the peer subnets via theirs.
        - On C(openstack) the public VLAN's entry is the router's external address (as RV(vpn_tunnel.gateway_address)),
          and each served VLAN's entry is the VPN router port's address there.
      type: dict
      sample: {public: 10.210.0.3, app: 10.210.2.3}
    backend:
      description:
        - V(kernel) (kernel ESP) or V(libipsec) (strongSwan's userspace ESP), as the gateway's probe chose.
        - V(neutron-vpnaas) on the C(openstack) provider.
      type: str
      sample: libipsec
    psk_file:
      description: Path of the generated pre-shared key (mode 0600); null when the key was given or with certificates.
      type: str
      sample: /root/.local/state/secure_cloud_iaas/vpn/office.psk
    labels:
      description: The user's labels.
      type: dict
      sample: {}
    provider:
      description: The provider that holds it.
      type: str
      sample: docker
    id:
      description: The provider's identifier (null in check mode before creation); on C(openstack) the site connection's id.
      type: str
      sample: office
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import check_location_allowed
from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import ResourceModule
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import (
    VPN_TUNNEL_ARGUMENT_SPEC,
    VPN_TUNNEL_MUTUALLY_EXCLUSIVE,
    cert_identity,
    check_tunnel_request,
    desired_tunnel,
    fingerprint,
    load_credentials,
    plan_changes,
    resolve_psk,
    same_secret,
)


class VpnTunnelModule(ResourceModule):
    kind = "vpn_tunnel"
    argument_spec = VPN_TUNNEL_ARGUMENT_SPEC
    module_kwargs = dict(mutually_exclusive=VPN_TUNNEL_MUTUALLY_EXCLUSIVE)

    def validate(self):
        super(VpnTunnelModule, self).validate()
        check_tunnel_request(self.params)

    def execute(self):
        params = self.params
        with self.provider.transaction():
            current = self.provider.get_vpn_tunnel(params["name"])
            if params["state"] == "absent":
                return self.absent(current)
            plan = self.plan(current)
        if plan["action"] == "apply":
            # Made and booted outside the transaction: a new gateway installs
            # strongSwan, and every other run on this engine would wait for it.
            desired = plan["desired"]
            self.provider.prepare_vpn_gateway(desired["location"], desired["public_vlan"], desired["vlans"],
                                              params["wait_timeout"])
            with self.provider.transaction():
                # Planned again: another run may have changed it meanwhile.
                plan = self.plan(self.provider.get_vpn_tunnel(params["name"]))
                if plan["action"] == "apply":
                    self.apply(plan)
        # The wait for the peer holds no lock either.
        after = plan["after"]
        if plan["action"] == "apply":
            after = (self.provider.wait_vpn_tunnel(params["name"], params["wait_timeout"]) if params["wait"]
                     else self.provider.get_vpn_tunnel(params["name"]))
        elif plan["action"] == "none" and params["wait"] and after["status"] != "established" and not self.check_mode:
            after = self.provider.wait_vpn_tunnel(params["name"], params["wait_timeout"])
        if plan["drift"]:
            self.module.warn("tunnel %s was repaired: %s" % (params["name"], "; ".join(plan["drift"])))
        self.finish(plan["current"], after, plan["action"] != "none", plan["secret_changed"])

    def credentials(self, desired):
        """(secrets for the provider, their fingerprint, psk_file); nothing here is ever returned."""
        if desired["authentication"] == "psk":
            psk, path, _generated = resolve_psk(self.params, self.params["state_dir"], self.check_mode)
            # A key read from or generated into psk_file is masked in any output, as a given psk is.
            self.module.no_log_values.add(psk)
            return dict(psk=psk), psk, path
        pems, cert = load_credentials(self.params)
        if desired["local_id"] is None:
            desired["local_id"] = cert_identity(cert)
        return pems, b"".join(pems[f] for f in ("cacert", "cert", "key")), None

    def plan(self, current):
        """What this run does: {"action": none | check | apply, "after", ...}; nothing is written here."""
        params = self.params
        others = [t for t in self.provider.list_vpn_tunnels() if t["name"] != params["name"]]
        desired = desired_tunnel(params, self.provider.list_vlans(), others, self.provider.name, current=current)
        # What the provider cannot express fails here, before any comparison or write.
        desired, notes = self.provider.prepare_vpn_tunnel(desired)
        for note in notes:
            self.module.warn(note)
        if current is None:
            check_location_allowed(params, desired["location"])
        secrets, secret_material, psk_file = self.credentials(desired)
        desired["psk_file"] = psk_file
        record = self.provider.vpn_tunnel_record(params["name"]) or {}
        secret_changed = not same_secret(secret_material, record.get("secret_fingerprint"))
        changes = plan_changes(current, desired) if current else dict(desired)
        if current and current.get("psk_file") != psk_file:
            changes["psk_file"] = psk_file
        drift = self.provider.vpn_drift(current) if current else []
        plan = dict(current=current, desired=desired, secrets=secrets, changes=changes, drift=drift,
                    secret_changed=secret_changed, after=current,
                    secret_fingerprint=(record.get("secret_fingerprint") if not secret_changed
                                        else fingerprint(secret_material)))
        if current and not changes and not secret_changed and not drift:
            return dict(plan, action="none")
        if self.check_mode:
            after = dict(current or desired, **changes) if current else desired
            if current is None:
                addresses = self.provider.plan_vpn_gateway(desired["location"], desired["public_vlan"],
                                                           desired["vlans"])
                after.update(gateway_addresses=addresses, gateway_address=addresses[desired["public_vlan"]])
                after["local_id"] = after["local_id"] or after["gateway_address"]
            return dict(plan, action="check", after=after, drift=[])
        return dict(plan, action="apply")

    def apply(self, plan):
        current, desired = plan["current"], plan["desired"]
        if desired["local_id"] is None and current:
            # The default identity is the gateway's public address: keep what the store says (none).
            desired["local_id"] = None
        self.provider.apply_vpn_tunnel(desired, plan["secrets"], dict(secret_fingerprint=plan["secret_fingerprint"]),
                                       restart=bool(current and (plan["changes"] or plan["secret_changed"])),
                                       timeout=self.params["wait_timeout"])

    def finish(self, before, after, changed, secret_changed):
        self.set_resource(before, after, changed)
        if "diff" in self.result and after:
            # The key itself never reaches a diff: only whether it changed.
            marker = "(changed)" if secret_changed else "(unchanged)"
            self.result["diff"]["after"] = dict(self.result["diff"]["after"], credentials=marker)
            if before:
                self.result["diff"]["before"] = dict(self.result["diff"]["before"], credentials="(unchanged)")

    def absent(self, current):
        if not current:
            return self.set_resource(None, None, False)
        if not self.check_mode:
            self.provider.delete_vpn_tunnel(current, self.params["wait_timeout"])
        self.set_resource(current, None, True)


def main():
    VpnTunnelModule().run()


if __name__ == "__main__":
    main()
