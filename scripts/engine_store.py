"""Print the path of the state store the docker provider keeps for the engine at DOCKER_HOST
(the local one by default): every controller of that engine writes its vips and VPN tunnels there.

  PYTHONPATH=.collections .venv/bin/python scripts/engine_store.py

Used by the scenarios' teardown checks and by make clean, so they look where the modules write.
"""

import os

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.engine import Engine
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.records import engine_store

print(engine_store(Engine(os.environ.get("DOCKER_HOST"), 60), os.environ.get("SECURE_CLOUD_STATE_DIR")).db_path)
