# The two commands a new user needs are `make demo` and `make test`; every other
# target is a step they run, and each is safe to run again.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export MOLECULE_NO_LOG := false

.PHONY: setup docker images demo test test-quick test-pending test-galaxy test-openstack test-neutron bench clean constraints

$(VENV)/.stamp: requirements.txt constraints.txt scripts/setup_venv.sh scripts/find_python.sh
	scripts/setup_venv.sh
	touch $@

.collections/.stamp: $(VENV)/.stamp scripts/install_collections.sh
	scripts/install_collections.sh
	touch $@

## setup: project venv with pinned tools, dependency collections (offline), collection link
setup: $(VENV)/.stamp .collections/.stamp

## docker: use the running Docker engine, or install and start one (Debian/Ubuntu, root)
docker:
	scripts/ensure_docker.sh

## images: base and instance images through the collection's image module, rebuilt only when their inputs change
images: docker .collections/.stamp
	scripts/build_images.sh

## demo: the main job on the local Docker provider
demo: setup images
	scripts/demo.sh

## test: unit, sanity, lint, build+install+doc, the modules against a real Neutron, every Molecule scenario (but molecule/pending.txt); a timed summary
test: setup images
	scripts/run_tests.sh all

## test-quick: unit, sanity and lint only
test-quick: setup
	scripts/run_tests.sh quick

## test-pending: the Molecule scenarios of molecule/pending.txt, not yet proven in one full run
test-pending: setup images
	scripts/run_tests.sh pending

## test-galaxy: the built tarball, installed alone with its dependencies, builds an image, a vlan, an instance and a vip, and leaves nothing
test-galaxy: setup images
	tests/integration/targets/galaxy_install/runme.sh

## test-openstack: provisioning, vip and VPNaaS against a real cloud (OS_CLOUD); skips when none is configured
test-openstack: setup
	tests/integration/targets/openstack_site/runme.sh

## test-neutron: the modules (provider: openstack) against a real Neutron API on 127.0.0.1 (installs MariaDB and a pinned Neutron venv the first time)
test-neutron: setup
	tests/integration/targets/openstack_neutron/runme.sh

## bench: every benchmark, each printing its table (bench/results/ keeps the JSON)
bench: setup images
	bench/run.sh

## clean: remove every container, network, volume and image the project made, and nothing else
clean:
	scripts/clean.sh

## constraints: re-resolve constraints.txt from requirements.txt
constraints: $(VENV)/.stamp
	{ echo "# Full pin set that 'make setup' resolved on $$($(VENV)/bin/python --version); regenerate with 'make constraints'."; \
	  $(VENV)/bin/pip freeze --exclude-editable | grep -v '^ansible-core=='; } > constraints.txt
