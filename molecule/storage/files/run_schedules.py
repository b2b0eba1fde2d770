"""Run the volumes' backup schedules once, as the host agent does, at the UTC time given (a later
day's slot without waiting for it), and print what was done.

  PYTHONPATH=.collections python3 run_schedules.py 2026-12-07T03:00
"""

import datetime
import os
import subprocess
import sys

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.provider import DockerProvider


def run(argv, data=None):
    proc = subprocess.run(argv, input=data, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


now = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M").replace(tzinfo=datetime.timezone.utc)
params = dict(provider="docker", docker_host=os.environ.get("DOCKER_HOST"), docker_timeout=60, start_host_agent=False)
for line in DockerProvider(params, None, run_command=run).volumes.run_schedules(now):
    print(line)
