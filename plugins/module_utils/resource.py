# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One base class for every resource module and every _info module.

It owns the common argument spec (provider options with environment
fallbacks, wait/wait_timeout for mutating modules), check mode, the diff and
the single error path: anything raised as IaasError ends in
``fail_json(msg=...)`` with the field and the fix in the message.
"""

from __future__ import annotations

import time
import traceback

from ansible.module_utils.basic import AnsibleModule, _load_params

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.common import check_labels, filter_resources
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import get_provider, provider_argument_spec

WAIT_ARGUMENT_SPEC = dict(
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=180),
)


class ResourceModule(object):
    """Subclasses set ``kind``, ``argument_spec`` and implement ``execute()``."""

    kind = None
    argument_spec = {}
    mutating = True
    module_kwargs = {}

    def __init__(self):
        spec = provider_argument_spec()
        if self.mutating:
            spec.update(WAIT_ARGUMENT_SPEC)
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

    def set_resource(self, before, after, changed):
        """Record the resource as it is after the run, the change and the diff."""
        self.result["changed"] = bool(changed)
        self.result[self.kind] = after or {}
        if self.module._diff:
            self.result["diff"] = dict(before=before or {}, after=after or {})

    def check_timeout(self):
        if self.mutating and self.params.get("wait_timeout") is not None and self.params["wait_timeout"] < 1:
            raise IaasError("must be at least 1 second", field="wait_timeout", fix="give e.g. wait_timeout: 180")

    def run(self):
        try:
            self.check_timeout()
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

    def execute(self):
        found = filter_resources(self.list_resources(), name=self.params.get("name"),
                                 location=self.params.get("location"),
                                 labels=check_labels(self.params.get("labels")))
        self.result[self.plural] = found
