# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vips on the docker provider.

- The reservation (vlan, address, allow-list, last holder set through the API)
  lives in the state store: Docker has no object for an address nobody owns.
- The allow-list is enforced by the vlan guard (bridge_guard): an instance's
  port may send only from its own addresses and the vips it is allowed.
- Guests may configure their own interfaces, so keepalived inside an allowed
  instance claims the vip with no API call.
- A move through the API is make-before-break: the address is added in the new
  holder's namespace from the host and announced with gratuitous ARP, then
  removed from the old holder. When the holder runs keepalived (it has the
  hand-over hook), taking the address from under it would start a fight with
  VRRP: the holder is asked to give way and VRRP hands the vip over.
- What a vip reports as its holder is read from the instances' namespaces, not
  from the store.
"""

from __future__ import annotations

import ipaddress
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import bridge_guard
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import netns
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vip import HANDOVER_HOOK, HANDOVER_TIMEOUT, vip_result

KIND = "vip"


class Vips(object):
    """engine: the Engine; store: the state store; instances: the Instances driver; run: the host's command runner.

    A move reads the instances and their ports once (``_Site``) and hands that
    view to every step: the guard before and after, the new holder's interface.
    """

    def __init__(self, engine, store, instances, run):
        self.engine = engine
        self.store = store
        self.instances = instances
        self.run = run

    def _require_local(self):
        if not self.engine.is_local():
            raise IaasError("vips on the docker provider need the Docker engine on this host: the vlan guard and "
                            "address moves are made from the host", field="docker_host",
                            fix="run the task on the Docker host (delegate_to the engine's machine)")

    def _site(self):
        """(instances, wire): every instance without keys, and the wire of the running ones."""
        instances = self.instances.list(keys=False)
        return instances, self._wire(instances)

    def _wire(self, instances):
        """{name: {"pid", "links"}} of the running INSTANCES (one nsenter each)."""
        wire = {}
        for inst in instances:
            if inst.get("state") != "running":
                continue
            try:
                pid = self.instances.pid(inst["name"])
                if pid:
                    wire[inst["name"]] = dict(pid=pid, links=netns.links(self.run, pid))
            except ProviderError:
                # Stopped or removed since it was listed (tasks in parallel forks
                # delete instances while another one syncs the guard): no port.
                if self.instances.still_running(inst["name"]):
                    raise
        return wire

    @staticmethod
    def _from_record(rec, instances, wire):
        on_vlan = [i["name"] for i in instances if any(n["vlan"] == rec["vlan"] for n in i["networks"])]
        holders = [name for name in on_vlan if name in wire
                   and any(rec["address"] in link["addresses"] for link in wire[name]["links"])]
        allowed_holders = [h for h in holders if h in rec["allowed_instances"]]
        return vip_result(
            name=rec["name"], vlan=rec["vlan"], location=rec["location"], address=rec["address"],
            prefixlen=rec["prefixlen"], allowed_instances=rec["allowed_instances"],
            holder=allowed_holders[0] if len(allowed_holders) == 1 else None, holders=allowed_holders,
            unauthorized_holders=[h for h in holders if h not in rec["allowed_instances"]],
            stored_holder=rec.get("stored_holder"), labels=rec.get("labels"), provider="docker", resource_id=rec["name"],
        )

    def list(self):
        records = self.store.list(KIND)
        if not records:
            return []
        self._require_local()
        instances, wire = self._site()
        return [self._from_record(rec, instances, wire) for rec in records.values()]

    # -- the guard ---------------------------------------------------------
    def guard_needed(self):
        """Vips exist, or the guard is still loaded: then it follows every instance change,
        and goes once no vip and no instance is left (nothing of a torn-down site stays in it)."""
        if self.store.list(KIND):
            return True
        return self.engine.is_local() and bridge_guard.present(self.run)

    def _guard(self, site=None, records=None):
        """(ports, grants, nets) of the vlan guard: every running instance (SITE: as _site() read them)
        and every vip on the engine (RECORDS: the store's)."""
        instances, wire = site or self._site()
        records = self.store.list(KIND) if records is None else records
        ifnames = netns.host_ifnames(self.run) if wire else {}
        ports, mac_of = [], {}
        for inst in instances:
            links = dict((link["mac"], link) for link in wire.get(inst["name"], {}).get("links", []))
            for net in inst["networks"]:
                mac = (net.get("mac") or "").lower()
                link = links.get(mac)
                mac_of[(inst["name"], net["vlan"])] = mac
                if link and ifnames.get(link["peer_ifindex"]):
                    ports.append(dict(port=ifnames[link["peer_ifindex"]], mac=mac, addresses=[net["ip"]]))
        grants, nets = {}, {}
        for rec in records.values():
            grants[rec["address"]] = sorted(mac_of[(name, rec["vlan"])] for name in rec["allowed_instances"]
                                            if mac_of.get((name, rec["vlan"])))
            if rec.get("prefixlen"):
                nets[rec["address"]] = str(ipaddress.ip_interface("%s/%s" % (rec["address"], rec["prefixlen"])).network)
        return ports, grants, nets

    def sync_guard(self, site=None, records=None):
        """Rebuild the vlan guard from every running instance and every vip (see _guard)."""
        if not self.engine.is_local():
            return
        ports, grants, nets = self._guard(site, records)
        if ports or grants:
            bridge_guard.apply(bridge_guard.render(ports, grants, nets), self.run)
        else:
            bridge_guard.remove(self.run)

    def repair(self, apply=True):
        """[what had drifted]: the guard, and the address of a vip that its holder set through the
        API no longer holds while nobody else allowed does (removed by hand, the holder restarted);
        mended when APPLY. A vip nobody set a holder for, or whose holder runs keepalived (it has
        the hand-over hook), is keepalived's to place: VRRP may be electing another one."""
        if not self.engine.is_local() or not self.guard_needed():
            return []
        site = self._site()
        records = self.store.list(KIND)
        drifted = []
        if not bridge_guard.in_place(*self._guard(site, records), run=self.run):
            drifted.append("vip guard")
            if apply:
                self.sync_guard(site, records)
        lost = [rec for rec in records.values() if rec.get("stored_holder") in site[1]
                and rec["stored_holder"] in rec["allowed_instances"]
                and not self._from_record(rec, *site)["holders"]
                and not self._has_handover_hook(rec["stored_holder"])]
        if lost:
            drifted.append("vip addresses")
            for rec in lost if apply else ():
                self._move(rec, rec["stored_holder"], [], site)
        return drifted

    # -- vip lifecycle ---------------------------------------------------------
    def _move(self, vip, new_holder, holders, site):
        """Make before break: the new holder announces the vip, then the others drop it."""
        yielding = [name for name in holders if name != new_holder and self._has_handover_hook(name)]
        if new_holder and yielding:
            self._hand_over(vip, new_holder, yielding)
            return
        # The old holders' ports are read before the new one announces, so the
        # two hold the address only for the announcement and one removal each.
        old = []
        for name in holders:
            pid = self.instances.pid(name) if name != new_holder else None
            if pid:
                old.append((pid, netns.links(self.run, pid)))
        if new_holder:
            iface = self._vlan_interface(new_holder, vip["vlan"], site)
            netns.add_address(self.run, self._running_pid(new_holder), iface, vip["address"], vip["prefixlen"])
        for pid, links in old:
            netns.remove_address(self.run, pid, vip["address"], links)

    def _has_handover_hook(self, name):
        return self.instances.run_in(name, ["test", "-x", HANDOVER_HOOK])[0] == 0

    def _hook(self, name, action):
        rc, out = self.instances.run_in(name, [HANDOVER_HOOK, action])
        if rc != 0:
            raise IaasError("the vip hand-over hook on %s failed to %s (exit %s): %s" % (name, action, rc, out),
                            field="holder", fix="run %s %s on %s by hand to see why" % (HANDOVER_HOOK, action, name))

    def _holds(self, name, address):
        pid = self.instances.pid(name)
        return bool(pid) and any(address in link["addresses"] for link in netns.links(self.run, pid))

    def _hand_over(self, vip, new_holder, yielding):
        """The holders give way (keepalived goes to FAULT) and VRRP elects NEW_HOLDER; they rejoin as BACKUP."""
        self._running_pid(new_holder)
        try:
            for name in yielding:
                self._hook(name, "release")
            deadline = time.monotonic() + HANDOVER_TIMEOUT
            while not (self._holds(new_holder, vip["address"])
                       and not any(self._holds(name, vip["address"]) for name in yielding)):
                if time.monotonic() > deadline:
                    raise IaasError("the vip %s did not move to %s within %d s: %s gave way, but %s did not take it over"
                                    % (vip["name"], new_holder, HANDOVER_TIMEOUT, ", ".join(yielding), new_holder),
                                    field="holder",
                                    fix="make %s the keepalived partner of %s for this vip (the keepalived role), "
                                        "or check keepalived there (systemctl status keepalived)"
                                        % (new_holder, ", ".join(yielding)))
                time.sleep(0.02)
        finally:
            # Back as BACKUP: nopreempt keeps the vip on the new holder.
            for name in yielding:
                self._hook(name, "rejoin")

    def rejoin_released(self, vip, apply=True):
        """The allowed instances whose hook says they were asked to give way and are still out: a move
        whose controller died between release and rejoin left them so (keepalived in FAULT, the pair
        without a standby, and the vip where it went, so the next run sees no change to make). Under
        the store's lock no move is under way: each is brought back (APPLY). A hook that does not know
        "status" (installed by an older keepalived role) is taken as not released."""
        released = []
        for name in vip["allowed_instances"]:
            if not self.instances.pid(name):
                continue
            rc, out = self.instances.run_in(name, [HANDOVER_HOOK, "status"])
            if rc == 0 and out.strip() == "released":
                released.append(name)
        if apply:
            for name in released:
                self._hook(name, "rejoin")
        return released

    def _running_pid(self, name):
        pid = self.instances.pid(name)
        if not pid:
            raise IaasError("instance %s is not running, so it cannot take the vip" % name, field="holder",
                            fix="start it (secure_cloud.iaas.instance state: running), or pick another holder")
        return pid

    @staticmethod
    def _vlan_interface(name, vlan, site):
        instances, wire = site
        inst = next(i for i in instances if i["name"] == name)
        net = next(n for n in inst["networks"] if n["vlan"] == vlan)
        mac = (net.get("mac") or "").lower()
        link = next((link for link in wire.get(name, {}).get("links", []) if link["mac"] == mac), None)
        if link is None:
            raise IaasError("instance %s has no interface on vlan %s" % (name, vlan), field="holder",
                            fix="restart the instance so its network is attached again")
        return link["ifname"]

    @staticmethod
    def _record(vip):
        fields = ("name", "vlan", "location", "address", "prefixlen", "allowed_instances", "stored_holder", "labels")
        return dict((k, vip[k]) for k in fields)

    def _result(self, name, site):
        """The vip after a change: its record, the holders read again from the namespaces of its vlan's instances."""
        rec = self.store.get(KIND, name)
        on_vlan = [i for i in site[0] if any(n["vlan"] == rec["vlan"] for n in i["networks"])]
        return self._from_record(rec, site[0], self._wire(on_vlan))

    def create(self, spec):
        self._require_local()
        site = self._site()
        self.store.put(KIND, spec["name"], self._record(spec))
        try:
            self.sync_guard(site)
            if spec.get("holder"):
                self._move(spec, spec["holder"], [], site)
        except Exception:
            # Nothing half-made: no reservation, no address, the guard as before.
            self.store.delete(KIND, spec["name"])
            self.sync_guard(site)
            raise
        return self._result(spec["name"], site)

    def update(self, current, changes):
        self._require_local()
        site = self._site()
        rec = self._record(current)
        if "holder" in changes:
            rec["stored_holder"] = changes["holder"]
        for field in ("allowed_instances", "labels"):
            if field in changes:
                rec[field] = changes[field]
        # Grant the new holder before it announces; revoke the old ones after they let go.
        grant = dict(rec, allowed_instances=sorted(set(rec["allowed_instances"]) | set(current["allowed_instances"])))
        self.store.put(KIND, rec["name"], grant)
        self.sync_guard(site)
        if "holder" in changes:
            self._move(current, changes["holder"], current["holders"], site)
        self.store.put(KIND, rec["name"], rec)
        self.sync_guard(site)
        return self._result(current["name"], site)

    def delete(self, current):
        self._require_local()
        site = self._site()
        # The address leaves every instance of the vlan, allowed or not.
        self._move(current, None, current["holders"] + current["unauthorized_holders"], site)
        self.store.delete(KIND, current["name"])
        self.sync_guard(site)
