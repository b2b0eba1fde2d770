# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one wait loop: read again until a condition holds, or fail loudly when the time is up."""

from __future__ import annotations

import time


def until(read, ready, timeout, failure, interval=0.5):
    """READ() every INTERVAL seconds until READY(value) is true, and return that value.

    When TIMEOUT seconds have passed, raise FAILURE(last value): an IaasError
    that names what was waited for. READY may raise to stop early (a guest
    that died while booting).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ready(value):
            return value
        if time.monotonic() >= deadline:
            raise failure(value)
        time.sleep(interval)
