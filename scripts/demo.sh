#!/usr/bin/env bash
# The main job. Until site.yml exists this runs the toolchain end to end: the
# default Molecule scenario's create, converge and verify on the local provider.
set -euo pipefail
cd "$(dirname "$0")/.."
molecule converge -s default
molecule verify -s default
echo "demo: an instance runs at 'docker exec -it sciaas-default bash'; 'molecule destroy -s default' removes it"
