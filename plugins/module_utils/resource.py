# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One base class for every resource module and every _info module.

It owns the common argument spec (provider options with environment
fallbacks, wait/wait_timeout for mutating modules that have something to wait
for), check mode, the diff and the single error path: anything raised as
IaasError ends in ``fail_json(msg=...)`` with the field and the fix in the
message. ``validate()`` checks the task's own parameters before the provider
is made (before any connection), so a bad name fails on the name.
"""

from __future__ import annotations

import time
import traceback

from ansible.module_utils.basic import AnsibleModule, _load_params

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.common import check_labels, check_name, filter_resources
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import get_provider, provider_argument_spec

WAIT_ARGUMENT_SPEC = dict(
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=180),
)

# For the modules whose guarantees a provider may be unable to keep from where the task runs.
ISOLATION_ARGUMENT_SPEC = dict(
    accept_unenforced_isolation=dict(type="bool", default=False),
)


class ResourceModule(object):
    """Subclasses set ``kind``, ``argument_spec``, implement ``execute()`` and extend ``validate()``."""

    kind = None
    argument_spec = {}
    mutating = True
    # wait/wait_timeout: only for a module that has something to wait for, and reads them.
    waits = True
    # accept_unenforced_isolation: for a module that calls require_enforced().
    isolation_option = False
    module_kwargs = {}

    def __init__(self):
        spec = provider_argument_spec()
        if self.mutating and self.waits:
            spec.update(WAIT_ARGUMENT_SPEC)
        if self.isolation_option:
            spec.update(ISOLATION_ARGUMENT_SPEC)
        spec.update(self.argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **self.module_kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.result = dict(changed=False)
        self.provider = None

    def run_command(self, argv, data=None):
        return self.module.run_command(argv, data=data, binary_data=True)

    def given(self, option):
        """Whether the task set OPTION at all, null included (validation turns an omitted option into None too).

        The arguments as the task gave them come from the loader ansible-core
        keeps for modules that need them (its docstring: "certainly more
        future-proof to call this function"); this is the collection's one
        caller of it.
        """
        return option in _load_params()

    def fail(self, msg, **kwargs):
        """The one way a module fails."""
        result = dict(self.result)
        result.update(kwargs)
        result.pop("msg", None)
        self.module.fail_json(msg=msg, **result)

    def require_enforced(self, guarantee, what):
        """Refuse the request when the provider cannot keep GUARANTEE (a Capabilities.enforces entry) from
        where the task runs (the docker provider with a remote engine), unless the task accepts it
        (accept_unenforced_isolation: true), which turns the refusal into a warning. WHAT says what is lost."""
        if guarantee in self.provider.capabilities().enforces:
            return
        msg = "the %s provider cannot %s from here (a remote Docker engine: that is made from the engine's host)" \
            % (self.provider.name, what)
        if self.params.get("accept_unenforced_isolation"):
            self.module.warn(msg + "; going on without it, as accept_unenforced_isolation asks")
            return
        raise IaasError(msg, field="docker_host",
                        fix="run the task on the engine's host (delegate_to it, docker_host unix://...), or set "
                            "accept_unenforced_isolation: true to go on without it (the host agent on that host may "
                            "still enforce it)")

    def set_resource(self, before, after, changed):
        """Record the resource as it is after the run, the change and the diff."""
        self.result["changed"] = bool(changed)
        self.result[self.kind] = after or {}
        if self.module._diff:
            self.result["diff"] = dict(before=before or {}, after=after or {})

    def validate(self):
        """The task's own parameters (names, networks, addresses, labels, options that exclude each other),
        checked before the provider is made: nothing is connected to, read or touched yet. IaasError names
        the field and the fix. What needs the platform (does the vlan exist, is the address free) stays in
        execute(). Subclasses extend it and call this one."""
        if self.mutating and self.waits and self.params.get("wait_timeout") is not None and self.params["wait_timeout"] < 1:
            raise IaasError("must be at least 1 second", field="wait_timeout", fix="give e.g. wait_timeout: 180")

    def run(self):
        try:
            self.validate()
            self.provider = get_provider(self.params, run_command=self.run_command)
            self.execute()
            if self.mutating:
                self.repair_host()
        except IaasError as exc:
            self.fail(str(exc))
        except Exception as exc:  # pylint: disable=broad-except
            # An unexpected error is still reported through the one path, with
            # the trace for a bug report.
            self.fail("unexpected error in secure_cloud.iaas.%s: %s" % (self.module._name.split(".")[-1], exc),
                      exception=traceback.format_exc())
        self.module.exit_json(**self.result)

    def execute(self):
        raise NotImplementedError

    def repair_host(self):
        """What the provider enforces on the host may have drifted from the truth (a flushed table, a
        hand edit, a host restart): every resource module run puts it back, and says so (changed, repaired).

        Drift that the platform's own keeper mends within capabilities().settles
        (an instance another run restarted) is left to it and not reported."""
        with self.provider.transaction():
            drifted = self.provider.repair_host(apply=False)
        deadline = time.monotonic() + self.provider.capabilities().settles
        while drifted and time.monotonic() < deadline:
            time.sleep(0.25)
            with self.provider.transaction():
                drifted = self.provider.repair_host(apply=False)
        if drifted and not self.check_mode:
            with self.provider.transaction():
                drifted = self.provider.repair_host()
        if drifted:
            self.result["changed"] = True
            self.result["repaired"] = drifted


class InfoModule(ResourceModule):
    """The _info twins: filter by name, location and labels; never change anything."""

    mutating = False
    plural = None
    argument_spec = dict(
        name=dict(type="str"),
        location=dict(type="str"),
        labels=dict(type="dict"),
    )

    def list_resources(self):
        raise NotImplementedError

    def validate(self):
        super(InfoModule, self).validate()
        for field in ("name", "location"):
            if self.params.get(field) is not None:
                check_name(self.params[field], field=field)
        check_labels(self.params.get("labels"))

    def execute(self):
        found = filter_resources(self.list_resources(), name=self.params.get("name"),
                                 location=self.params.get("location"),
                                 labels=check_labels(self.params.get("labels")))
        self.result[self.plural] = found


class TakenOnceModule(ResourceModule):
    """A copy of a volume that is taken once (a snapshot, a backup): it is taken when missing, only its
    labels change afterwards, and it is deleted. Subclasses set ``origin`` ((option, result field) pairs
    that say what it was taken from) and implement list_resources(), take(labels), update_labels() and
    delete()."""

    waits = False
    origin = ()

    def validate(self):
        super(TakenOnceModule, self).validate()
        check_name(self.params["name"])
        for field, _key in self.origin:
            if self.params.get(field) is not None:
                check_name(self.params[field], field=field)
        check_labels(self.params.get("labels"))

    def list_resources(self):
        raise NotImplementedError

    def take(self, labels):
        raise NotImplementedError

    def update_labels(self, current, labels):
        raise NotImplementedError

    def delete(self, current):
        raise NotImplementedError

    def volume_to_copy(self):
        """The volume the task names: IaasError when it names none or one that does not exist."""
        what = self.kind.replace("volume_", "")
        if not self.params.get("volume"):
            raise IaasError("is required to take a %s" % what, field="volume", fix="name the volume, e.g. volume: db-data")
        volume = self.provider.get_volume(self.params["volume"])
        if volume is None:
            raise IaasError("volume %s does not exist" % self.params["volume"], field="volume",
                            fix="name an existing volume (secure_cloud.iaas.volume_info lists them)")
        return volume

    def execute(self):
        params = self.params
        current = next((r for r in self.list_resources() if r["name"] == params["name"]), None)
        if params["state"] == "absent":
            if current is None:
                return self.set_resource(None, None, False)
            if not self.check_mode:
                with self.provider.transaction():
                    self.delete(current)
            return self.set_resource(current, None, True)
        labels = check_labels(params.get("labels"))
        if current is None:
            return self.take(labels)
        what = self.kind.replace("volume_", "")
        for field, key in self.origin:
            if params.get(field) and params[field] != current[key]:
                raise IaasError("%s %s was taken with %s %s; a %s is taken once" % (what, current["name"], field, current[key], what),
                                field=field, fix="give a new %s name for a new %s" % (what, what))
        if params.get("labels") is None or labels == current["labels"]:
            return self.set_resource(current, current, False)
        after = dict(current, labels=labels)
        if not self.check_mode:
            with self.provider.transaction():
                after = self.update_labels(current, labels)
        self.set_resource(current, after, True)
