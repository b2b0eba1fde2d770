# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Volumes, their snapshots and their backups on the openstack provider: Cinder (block storage v3).

- A volume is Cinder volume ``sciaas-vol-<name>`` in the availability zone of
  its location (the ``availability_zones`` option maps it, as for servers and
  networks). What the collection reads back lives in the volume's metadata, in
  the spelling of the servers' (``sciaas_kind``, ``sciaas_name``,
  ``sciaas_location``, ``sciaas_label_<key>``, ``secure_cloud.iaas.managed``).
  It grows with Cinder's extend (attached too: Cinder 3.42 and a compute
  driver that supports it); it never shrinks.
- Encryption is Cinder's: an encrypted volume is of an encrypted volume type
  (LUKS through os-brick on the compute host, the key in the key manager,
  Barbican). Which type: ``volume_types.encrypted`` when given, otherwise the
  one type of the cloud whose encryption is set (asking each type's
  encryption, which Cinder's default policy allows only to admins: a member
  names the type). An unencrypted volume is of ``volume_types.unencrypted``
  or of the cloud's default type. The type a volume gets is checked against
  Cinder's ``encrypted`` flag after it is made: a type that is not what was
  asked for fails, and the volume is removed. The contract's ``key_file`` is
  not used: Cinder and Barbican keep the key, no key file exists on the
  controller (``key_file`` is reported as null).
- Attach is Nova's volume attachment of the instance's server; the guest sees
  a new block device (``/dev/disk/by-id/virtio-<first 20 characters of the
  volume id>`` on virtio-blk, the usual KVM bus). Nova and Cinder cannot see
  inside the guest: this provider records the ``mount_path`` in the volume's
  metadata and reports it, but formatting the device and mounting it at that
  path is the guest's job (e.g. a task with community.general.filesystem and
  ansible.posix.mount on the instance). For the same reason a detach cannot
  tell whether the guest still uses the volume: unmount it in the guest first.
  Nova keeps the attachment across the server's restarts.
- A snapshot is a Cinder snapshot of the volume (``force`` while it is
  attached: Cinder then copies what the device holds, crash-consistent; freeze
  or stop the guest's writes first for more). A volume made from it is in the
  snapshot's availability zone (Cinder refuses another) and of its type.
- A backup is a Cinder backup. A backup location is the availability zone of
  the backup service that writes it (Cinder 3.51 ``availability_zone``; the
  location maps through ``availability_zones`` like any other) and its own
  container ``sciaas-backups-<location>`` in the backup store, so backups of
  different locations never share a chain. A backup is incremental when the
  volume's latest available backup is in the same location (Cinder chains an
  incremental to the volume's latest backup, whichever container that is in:
  a full one is taken otherwise). Only an encrypted volume is backed up: Cinder
  stores the volume's blocks as they are on disk, so the backup of an
  encrypted volume is ciphertext under the volume's key (cloned in Barbican),
  and that of an unencrypted one would not be encrypted, which the contract
  promises. The contract's repository password file is not used.
  Whether a backup zone's data stays in that zone depends on the cloud's
  backup store, which the API does not show: ask the cloud's operator.
- A volume from a backup is made empty (type, zone, size of the request),
  then Cinder restores the backup into it.

Every create removes what it made when a later step fails.
"""

from __future__ import annotations

import functools

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.volume import backup_result, snapshot_result, volume_result
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.conn import MANAGED, META, PROVIDER_NAME, undo_quietly

VOLUME_PREFIX = "sciaas-vol-"
SNAPSHOT_PREFIX = "sciaas-snap-"
BACKUP_PREFIX = "sciaas-backup-"
BACKUP_CONTAINER = "sciaas-backups-"
LABEL = META + "label_"
# Cinder metadata keys and values hold at most 255 characters.
META_MAX = 255
# Statuses in which Cinder is still working on a volume (a delete or attach must wait them out).
BUSY = ("creating", "attaching", "detaching", "extending", "backing-up", "restoring-backup", "downloading",
        "uploading", "reserved", "retyping", "maintenance")


def volume_name(name):
    return VOLUME_PREFIX + name


def make_meta(kind, name, values, labels):
    """Cinder metadata for one of the collection's objects; IaasError when a label does not fit."""
    meta = {MANAGED: "true", META + "kind": kind, META + "name": name}
    meta.update((META + k, str(v)) for k, v in values.items() if v is not None)
    for key, value in (labels or {}).items():
        if len(LABEL + key) > META_MAX or len(value) > META_MAX:
            raise IaasError("label %r is too long for Cinder metadata (%d characters at most)" % (key, META_MAX),
                            field="labels", fix="shorten the label value")
        meta[LABEL + key] = value
    return meta


def read_meta(metadata):
    """({key: value} without the prefix, labels) from what make_meta wrote."""
    values, labels = {}, {}
    for key, value in (metadata or {}).items():
        if key.startswith(LABEL):
            labels[key[len(LABEL):]] = value
        elif key.startswith(META):
            values[key[len(META):]] = value
    return values, labels


def ours(obj, kind):
    return (obj.metadata or {}).get(META + "kind") == kind


class Volumes(object):
    """Cinder volumes, snapshots and backups, and Nova's attachments; given the Connection, the Vlans (a
    location's availability zone) and the Instances (an instance's server)."""

    def __init__(self, conn, vlans, instances):
        self.conn = conn
        self.vlans = vlans
        self.instances = instances

    @property
    def bs(self):
        return self.conn.block_storage

    def timeout(self):
        return int(self.conn.params.get("wait_timeout") or 180)

    def _wait(self, res, status, what, failures=("error",)):
        """Until Cinder reports STATUS; its error status fails at once, a timeout names wait_timeout."""
        return self.conn.api(what, self.bs.wait_for_status, res, status=status, failures=list(failures),
                             interval=self.conn.poll_interval, wait=self.timeout())

    def _wait_gone(self, res, what):
        self.conn.api(what, self.bs.wait_for_delete, res, interval=self.conn.poll_interval, wait=self.timeout())

    # -- locations and types ------------------------------------------------------------
    def _zone_error(self, err, location, field, zones_of=None):
        """Cinder's refusal of a zone as the location's error, naming the cloud's zones: a volume's zone that is
        not one (HTTP 400 'Availability zone ... is invalid'), a backup zone with no backup service in it
        (HTTP 404 'Service cinder-backup could not be found'). Any other error is returned as it is."""
        text = str(err).lower()
        if err.field is not None or ("availability zone" not in text and "cinder-backup" not in text):
            return err
        zone = self.vlans.availability_zone(location)
        try:
            offered = zones_of() if zones_of else []
        except Exception:  # pylint: disable=broad-except
            offered = []
        mapped = " (availability_zones maps it to %r)" % zone if zone != location else ""
        what = "no backup service in availability zone" if field == "backup_location" else "no volume availability zone"
        return IaasError("Cinder has %s %r for location %s%s (%s)" % (what, zone, location, mapped, err.msg), field=field,
                         fix="use a location the cloud has, or map it to one of its zones with availability_zones "
                             "(e.g. availability_zones: {%s: %s})" % (location, offered[0] if offered else "nova")
                             + ("; the cloud's volume zones: %s" % ", ".join(offered) if offered else ""))

    def _volume_zones(self):
        return sorted(z.name for z in self.conn.list("list volume availability zones", self.bs.availability_zones))

    def _types(self):
        return self.conn.cached("volume_types", lambda: self.conn.list("list volume types", self.bs.types))

    def volume_type(self, encrypted):
        """The volume type a new volume gets (None: the cloud's default); see the module's docstring."""
        key = "encrypted" if encrypted else "unencrypted"
        wanted = (self.conn.params.get("volume_types") or {}).get(key)
        types = self._types()
        if wanted:
            match = [t for t in types if wanted in (t.name, t.id)]
            if not match:
                raise IaasError("volume type %r (volume_types.%s) is not offered by this cloud" % (wanted, key),
                                field="volume_types",
                                fix="map %s to one of: %s" % (key, ", ".join(sorted(t.name for t in types)) or "(none)"))
            return match[0].name
        if not encrypted:
            return None
        found, unreadable = [], []
        for vtype in types:
            try:
                encryption = self.conn.api("read the encryption of volume type %s" % vtype.name,
                                           self.bs.get_type_encryption, vtype)
            except IaasError:
                # Cinder's default policy shows a type's encryption to admins only.
                unreadable.append(vtype.name)
                continue
            if getattr(encryption, "provider", None):
                found.append(vtype.name)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise IaasError("this cloud has %d encrypted volume types (%s)" % (len(found), ", ".join(sorted(found))),
                            field="volume_types", fix="name the one to use: volume_types: {encrypted: %s}" % sorted(found)[0])
        if unreadable:
            raise IaasError("cannot tell which volume type of this cloud is encrypted (Cinder shows a type's "
                            "encryption to admins only)", field="volume_types",
                            fix="name it: volume_types: {encrypted: NAME}, one of %s (the cloud's operator knows "
                                "which is encrypted), or set encrypted: false" % ", ".join(sorted(unreadable)))
        raise IaasError("this cloud offers no encrypted volume type", field="encrypted",
                        fix="ask the cloud's operator for one (a type with LUKS encryption) and name it in "
                            "volume_types, or set encrypted: false")

    # -- reading ------------------------------------------------------------------------
    def _servers(self):
        """{server id: instance name} of the collection's instances."""
        return dict((i["id"], i["name"]) for i in self.instances.list_instances())

    def _volume_from(self, vol, servers):
        values, labels = read_meta(vol.metadata)
        instance, status = None, vol.status
        for attachment in vol.attachments or []:
            server_id = attachment.get("server_id")
            instance = servers.get(server_id)
            if instance is None:
                status = "%s (server %s, not an instance of this collection)" % (vol.status, server_id)
        return volume_result(values.get("name"), values.get("location"), vol.size, vol.is_encrypted,
                             instance=instance, mount_path=values.get("mount_path"), key_file=None,
                             source=values.get("source"), status=status, labels=labels, provider=PROVIDER_NAME,
                             resource_id=vol.id)

    def _volumes(self):
        return [v for v in self.conn.list("list volumes", self.bs.volumes, details=True) if ours(v, "volume")]

    def list(self):
        vols = self._volumes()
        servers = self._servers() if any(v.attachments for v in vols) else {}
        return sorted((self._volume_from(v, servers) for v in vols), key=lambda v: v["name"])

    def _read(self, vol_id):
        return self.conn.api("read volume %s" % vol_id, self.bs.get_volume, vol_id)

    def _result(self, vol_id):
        vol = self._read(vol_id)
        return self._volume_from(vol, self._servers() if vol.attachments else {})

    def _server_of(self, instance):
        found = self.instances.get_instance(instance)
        if found is None:
            raise IaasError("instance %s does not exist" % instance, field="instance",
                            fix="create it first (secure_cloud.iaas.instance), or name an existing one")
        return found["id"]

    # -- volumes -----------------------------------------------------------------------
    def create(self, spec, key_file, source, source_secret):
        """The volume (from SOURCE: a snapshot_source or backup_source), attached when spec names an instance.

        key_file and source_secret are not used: Cinder and Barbican keep the keys.
        """
        name = spec["name"]
        kind = (source or {}).get("kind")
        attrs = dict(name=volume_name(name), size=spec["size"], description="secure_cloud.iaas volume %s" % name,
                     availability_zone=self.vlans.availability_zone(spec["location"]),
                     metadata=make_meta("volume", name, dict(location=spec["location"], source=spec.get("source")),
                                        spec["labels"]))
        if kind == "snapshot":
            if spec["location"] != source["location"]:
                raise IaasError("snapshot %s is in %s; Cinder makes a volume from it only there"
                                % (source["name"], source["location"]), field="location",
                                fix="leave location out (or give %s); to copy the data elsewhere back the volume up "
                                    "and make the volume from the backup" % source["location"])
            # The snapshot's volume type (and so its encryption) carries over when none is named.
            attrs["snapshot_id"] = source["id"]
        else:
            if kind == "backup" and source.get("source_encrypted") and not spec["encrypted"]:
                raise IaasError("backup %s holds an encrypted volume's blocks; a volume made from it is encrypted"
                                % source["name"], field="encrypted", fix="leave encrypted out, or set it true")
            vtype = self.volume_type(spec["encrypted"])
            if vtype:
                attrs["volume_type"] = vtype
        made = []
        try:
            try:
                vol = self.conn.api("create volume %s" % attrs["name"], self.bs.create_volume, **attrs)
            except IaasError as err:
                raise self._zone_error(err, spec["location"], "location", self._volume_zones)
            made.append(functools.partial(self._remove, vol.id))
            vol = self._wait(vol, "available", "make volume %s" % attrs["name"])
            if bool(vol.is_encrypted) != bool(spec["encrypted"]):
                raise IaasError("Cinder made volume %s %s, of type %s" % (
                    attrs["name"], "encrypted" if vol.is_encrypted else "not encrypted", vol.volume_type),
                    field="volume_types", fix="map %s to a volume type that is %s" % (
                        "encrypted" if spec["encrypted"] else "unencrypted",
                        "encrypted" if spec["encrypted"] else "not encrypted"))
            if kind == "backup":
                self.conn.api("restore backup %s into %s" % (source["name"], attrs["name"]), self.bs.restore_backup,
                              source["id"], volume=vol.id)
                # Read again first: the volume was available before the restore as it is after it.
                vol = self._wait(self._read(vol.id), "available", "restore backup %s" % source["name"],
                                 failures=("error", "error_restoring"))
            if spec.get("instance"):
                self.attach(self._volume_from(vol, {}), spec["instance"], spec["mount_path"])
        except BaseException:
            # Nothing half-made: the volume goes again (detached first when it got that far).
            undo_quietly(made)
            raise
        return self._result(vol.id)

    def _remove(self, vol_id):
        """Detach (when attached) and delete the volume, waiting until it is gone; used to undo a create."""
        vol = self.bs.get_volume(vol_id)
        if vol.status in BUSY:
            vol = self.bs.wait_for_status(vol, status=("in-use" if vol.attachments else "available"),
                                          failures=["error"], interval=self.conn.poll_interval, wait=self.timeout())
        for attachment in vol.attachments or []:
            self.conn.compute.delete_volume_attachment(attachment["server_id"], vol_id, ignore_missing=True)
        if vol.attachments:
            vol = self.bs.wait_for_status(vol, status="available", failures=["error"],
                                          interval=self.conn.poll_interval, wait=self.timeout())
        self.bs.delete_volume(vol, ignore_missing=True)
        self.bs.wait_for_delete(vol, interval=self.conn.poll_interval, wait=self.timeout())

    def update(self, current, changes):
        vol = self._read(current["id"])
        if "size" in changes:
            settled = vol.status
            self.conn.api("grow volume %s to %d GiB" % (vol.name, changes["size"]), self.bs.extend_volume, vol,
                          changes["size"])
            # Read again before waiting: the SDK's wait returns at once when the object it is given already has
            # the status waited for, and the volume ends in the status it had (Cinder sets extending at once).
            vol = self._wait(self._read(vol.id), settled, "grow volume %s" % vol.name,
                             failures=("error", "error_extending"))
            if vol.size != changes["size"]:
                raise ProviderError("Cinder left volume %s at %s GiB, not %d" % (vol.name, vol.size, changes["size"]),
                                    field="size", fix="look at the volume in the cloud (openstack volume show %s)" % vol.id)
        if "labels" in changes:
            self._set_labels(vol, changes["labels"], self.bs.set_volume_metadata, self.bs.delete_volume_metadata)
        return self._result(current["id"])

    def _set_labels(self, obj, labels, set_meta, delete_meta):
        """The object's labels become LABELS; its other metadata stays."""
        wanted = make_meta("", "", {}, labels)
        wanted = dict((k, v) for k, v in wanted.items() if k.startswith(LABEL))
        have = dict((k, v) for k, v in (obj.metadata or {}).items() if k.startswith(LABEL))
        gone = sorted(set(have) - set(wanted))
        if gone:
            self.conn.api("remove labels of %s" % obj.name, delete_meta, obj, keys=gone)
        if any(have.get(k) != v for k, v in wanted.items()):
            self.conn.api("set labels of %s" % obj.name, set_meta, obj, **wanted)

    def attach(self, current, instance, mount_path):
        """Nova attaches the volume to the instance's server; the mount path goes into the volume's metadata."""
        vol = self._read(current["id"])
        server_id = self._server_of(instance)
        attached = [a.get("server_id") for a in vol.attachments or []]
        if attached and attached != [server_id]:
            raise ProviderError("volume %s is attached to server %s" % (vol.name, attached[0]), field="instance",
                                fix="detach it first (instance: null)")
        if not attached:
            self.conn.api("attach volume %s to %s" % (vol.name, instance), self.conn.compute.create_volume_attachment,
                          server_id, volume=vol.id)
            try:
                vol = self._wait(vol, "in-use", "attach volume %s to %s" % (vol.name, instance))
            except BaseException:
                undo_quietly([functools.partial(self.conn.compute.delete_volume_attachment, server_id, vol.id,
                                                ignore_missing=True)])
                raise
        self.conn.api("record the mount path of %s" % vol.name, self.bs.set_volume_metadata, vol,
                      **{META + "mount_path": mount_path})
        return self._result(vol.id)

    def detach(self, current):
        vol = self._read(current["id"])
        for attachment in vol.attachments or []:
            self.conn.api("detach volume %s" % vol.name, self.conn.compute.delete_volume_attachment,
                          attachment["server_id"], vol.id, ignore_missing=True)
        if vol.attachments:
            try:
                vol = self._wait(vol, "available", "detach volume %s" % vol.name)
            except ProviderError as err:
                raise ProviderError("volume %s was not released: %s" % (vol.name, err.msg), field="instance",
                                    fix="check in the guest that nothing uses the device (unmount it), then run again")
        if META + "mount_path" in (vol.metadata or {}):
            self.conn.api("forget the mount path of %s" % vol.name, self.bs.delete_volume_metadata, vol,
                          keys=[META + "mount_path"])
        return self._result(vol.id)

    def delete(self, current):
        vol = self.conn.api("read volume %s" % current["name"], self.bs.find_volume, current["id"], ignore_missing=True)
        if vol is None:
            return
        self.conn.api("delete volume %s" % vol.name, self.bs.delete_volume, vol, ignore_missing=True)
        self._wait_gone(vol, "wait for volume %s to go" % vol.name)

    # -- snapshots ----------------------------------------------------------------------
    def _snapshots(self):
        return [s for s in self.conn.list("list volume snapshots", self.bs.snapshots, details=True) if ours(s, "snapshot")]

    @staticmethod
    def _snapshot_from(snap):
        values, labels = read_meta(snap.metadata)
        return snapshot_result(values.get("name"), values.get("volume"), values.get("location"), snap.size,
                               values.get("encrypted") == "true", created=snap.created_at, labels=labels,
                               provider=PROVIDER_NAME, resource_id=snap.id)

    def list_snapshots(self):
        return sorted((self._snapshot_from(s) for s in self._snapshots()), key=lambda s: s["name"])

    def snapshot_source(self, name):
        found = [s for s in self.list_snapshots() if s["name"] == name]
        if not found:
            raise IaasError("snapshot %s does not exist" % name, field="snapshot",
                            fix="name an existing snapshot (secure_cloud.iaas.volume_snapshot_info)")
        return dict(found[0], kind="snapshot")

    def create_snapshot(self, spec, volume):
        vol = self._read(volume["id"])
        meta = make_meta("snapshot", spec["name"], dict(volume=volume["name"], location=volume["location"],
                                                        encrypted=str(bool(vol.is_encrypted)).lower()), spec["labels"])
        snap = None
        try:
            # force: Cinder snapshots an attached (in-use) volume only when told to.
            snap = self.conn.api("snapshot volume %s" % vol.name, self.bs.create_snapshot, volume_id=vol.id,
                                 name=SNAPSHOT_PREFIX + spec["name"], force=bool(vol.attachments), metadata=meta,
                                 description="secure_cloud.iaas snapshot %s of volume %s" % (spec["name"], volume["name"]))
            snap = self._wait(snap, "available", "snapshot volume %s" % vol.name)
        except BaseException:
            if snap is not None:
                undo_quietly([functools.partial(self._remove_snapshot, snap)])
            raise
        return self._snapshot_from(snap)

    def _remove_snapshot(self, snap):
        self.bs.delete_snapshot(snap, ignore_missing=True)
        self.bs.wait_for_delete(snap, interval=self.conn.poll_interval, wait=self.timeout())

    def update_snapshot(self, current, labels):
        snap = self.conn.api("read snapshot %s" % current["name"], self.bs.get_snapshot, current["id"])
        self._set_labels(snap, labels, self.bs.set_snapshot_metadata, self.bs.delete_snapshot_metadata)
        return self._snapshot_from(self.conn.api("read snapshot %s" % current["name"], self.bs.get_snapshot, snap.id))

    def delete_snapshot(self, current):
        snap = self.conn.api("read snapshot %s" % current["name"], self.bs.find_snapshot, current["id"],
                             ignore_missing=True)
        if snap is None:
            return
        self.conn.api("delete snapshot %s" % snap.name, self.bs.delete_snapshot, snap, ignore_missing=True)
        self._wait_gone(snap, "wait for snapshot %s to go" % snap.name)

    # -- backups -----------------------------------------------------------------------
    def _backups(self):
        return [b for b in self.conn.list("list volume backups", self.bs.backups, details=True) if ours(b, "backup")]

    @staticmethod
    def _backup_from(backup):
        values, labels = read_meta(backup.metadata)
        return backup_result(values.get("name"), values.get("volume"), values.get("location"),
                             values.get("volume_location"), backup.size, backup.is_incremental, added_bytes=None,
                             created=backup.created_at, repository=backup.container, labels=labels,
                             provider=PROVIDER_NAME, resource_id=backup.id)

    def list_backups(self):
        return sorted((self._backup_from(b) for b in self._backups()), key=lambda b: b["name"])

    def backup_source(self, name):
        found = [b for b in self._backups() if read_meta(b.metadata)[0].get("name") == name]
        if not found:
            raise IaasError("backup %s does not exist" % name, field="backup",
                            fix="name an existing backup (secure_cloud.iaas.volume_backup_info)")
        return dict(self._backup_from(found[0]), kind="backup",
                    source_encrypted=read_meta(found[0].metadata)[0].get("encrypted") == "true")

    @staticmethod
    def container(location):
        return BACKUP_CONTAINER + location

    def create_backup(self, spec, volume, password_file):
        """A Cinder backup into the location's backup zone and container; password_file is not used."""
        vol = self._read(volume["id"])
        location = spec["location"]
        if not vol.is_encrypted:
            raise IaasError("volume %s is not encrypted; Cinder would store its blocks in the backup as they are"
                            % volume["name"], field="volume",
                            fix="back up an encrypted volume (make one with encrypted: true, copy the data, back that up)")
        # Incremental only on a parent in the same location: Cinder chains to the volume's latest backup.
        # (The SDK sends is_incremental as Cinder's "incremental"; an unknown keyword would be dropped.)
        previous = sorted((b for b in self.conn.list("list the backups of volume %s" % vol.name, self.bs.backups,
                                                     details=True, volume_id=vol.id) if b.status == "available"),
                          key=lambda b: (b.data_timestamp or b.created_at or ""))
        incremental = bool(previous) and previous[-1].container == self.container(location)
        meta = make_meta("backup", spec["name"], dict(volume=volume["name"], location=location,
                                                      volume_location=volume["location"], encrypted="true"),
                         spec["labels"])
        backup = None
        try:
            try:
                backup = self.conn.api("back up volume %s" % vol.name, self.bs.create_backup, volume_id=vol.id,
                                       name=BACKUP_PREFIX + spec["name"], container=self.container(location),
                                       availability_zone=self.vlans.availability_zone(location),
                                       is_incremental=incremental, force=bool(vol.attachments), metadata=meta,
                                       description="secure_cloud.iaas backup %s of volume %s" % (spec["name"], volume["name"]))
            except IaasError as err:
                raise self._zone_error(err, location, "backup_location")
            backup = self._wait(backup, "available", "back up volume %s" % vol.name)
        except BaseException:
            if backup is not None:
                undo_quietly([functools.partial(self._remove_backup, backup)])
            raise
        return self._backup_from(backup)

    def _remove_backup(self, backup):
        self.bs.delete_backup(backup, ignore_missing=True)
        self.bs.wait_for_delete(backup, interval=self.conn.poll_interval, wait=self.timeout())

    def update_backup(self, current, labels):
        backup = self.conn.api("read backup %s" % current["name"], self.bs.get_backup, current["id"])
        meta = dict((k, v) for k, v in (backup.metadata or {}).items() if not k.startswith(LABEL))
        meta.update((k, v) for k, v in make_meta("", "", {}, labels).items() if k.startswith(LABEL))
        # A backup's metadata is replaced whole (PUT, Cinder 3.43).
        backup = self.conn.api("set labels of backup %s" % backup.name, self.bs.update_backup, backup, metadata=meta)
        return self._backup_from(self.conn.api("read backup %s" % current["name"], self.bs.get_backup, backup.id))

    def delete_backup(self, current):
        backup = self.conn.api("read backup %s" % current["name"], self.bs.find_backup, current["id"],
                               ignore_missing=True)
        if backup is None:
            return
        if backup.has_dependent_backups:
            later = sorted(b["name"] for b in self.list_backups()
                           if b["volume"] == current["volume"] and b["location"] == current["location"]
                           and b["incremental"] and b["created"] and b["created"] > (current["created"] or ""))
            raise ProviderError("backup %s has incremental backups that build on it (%s)" % (
                current["name"], ", ".join(later) or "see the cloud"), field="name",
                fix="delete those first (newest first), then this one")
        self.conn.api("delete backup %s" % backup.name, self.bs.delete_backup, backup, ignore_missing=True)
        self._wait_gone(backup, "wait for backup %s to go" % backup.name)
