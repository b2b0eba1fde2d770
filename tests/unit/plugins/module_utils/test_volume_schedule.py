# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""When a volume's daily backup is due, what it is named, and which scheduled backups are pruned."""

from __future__ import annotations

import datetime

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.volume import (
    backups_to_prune,
    due_backup,
    schedule_slot,
)

UTC = datetime.timezone.utc
SCHEDULE = dict(backup_location="dc1", time="02:30", keep=2, password_file="/k")


def at(text):
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def backup(name, volume="data", scheduled=True):
    return dict(name=name, volume=volume, scheduled=scheduled)


def test_the_slot_is_the_latest_time_of_day_passed():
    assert schedule_slot("02:30", at("2026-12-06 02:30")) == at("2026-12-06 02:30")
    assert schedule_slot("02:30", at("2026-12-06 02:29")) == at("2026-12-05 02:30")
    assert schedule_slot("02:30", at("2026-01-01 00:00")) == at("2025-12-31 02:30")


def test_the_first_backup_is_due_at_once_then_once_a_day():
    assert due_backup("data", SCHEDULE, [], at("2026-12-06 01:00")) == "data-20261205"
    taken = [backup("data-20261205")]
    assert due_backup("data", SCHEDULE, taken, at("2026-12-06 02:29")) is None
    assert due_backup("data", SCHEDULE, taken, at("2026-12-06 02:30")) == "data-20261206"
    # A later day's backup is there (the clock was set back): not taken twice.
    assert due_backup("data", SCHEDULE, [backup("data-20261207")], at("2026-12-06 03:00")) is None
    assert due_backup("data", SCHEDULE, [backup("data-20261207", scheduled=False)], at("2026-12-06 03:00")) == "data-20261206"
    # Another volume's backups are not this one's.
    assert due_backup("logs", SCHEDULE, taken, at("2026-12-06 02:29")) == "logs-20261205"


def test_only_this_volumes_scheduled_backups_beyond_keep_are_pruned_oldest_first():
    backups = [backup("data-20261203"), backup("data-20261204"), backup("data-20261205"),
               backup("data-before-upgrade", scheduled=False), backup("logs-20261201", volume="logs")]
    assert backups_to_prune("data", 2, backups) == ["data-20261203"]
    assert backups_to_prune("data", 3, backups) == []
    assert backups_to_prune("logs", 1, backups) == []
