#!/usr/bin/env bash
# Builds the project's images, each only when its inputs changed:
#   secure-cloud-iaas/base:<release>      pulled when a registry answers, else debootstrap + docker import
#   secure-cloud-iaas/instance:<release>  systemd, python3, openssh-server, sudo, iproute2
# RELEASES (default "debian12 debian13"): debian12 must build; a later one is
# kept only when it builds and boots systemd on this host.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=secure-cloud-iaas
LABEL=secure_cloud.iaas.managed
RELEASES=${RELEASES:-debian12 debian13}

codename() { case $1 in debian12) echo bookworm ;; debian13) echo trixie ;; *) echo "unknown release $1" >&2; exit 1 ;; esac; }

# The archive the host's own apt uses (deb822 or one-line format), unless DEBIAN_MIRROR says otherwise.
host_uri() {
  local want=$1
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true; } |
    grep -E "$want" | head -n1 || true
}
MIRROR=${DEBIAN_MIRROR:-$(host_uri '/debian/?$')}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(host_uri '/debian-security/?$')}

image_inputs() { # hash of everything that shapes an image
  cat "$0" images/instance/* | sha256sum | cut -c1-16
}

current_inputs() { docker image inspect -f "{{index .Config.Labels \"$LABEL.inputs\"}}" "$1" 2>/dev/null || true; }

build_base() {
  local release=$1 code ref="$REPO/base:$1" inputs
  code=$(codename "$release")
  inputs="$(image_inputs)-$code"
  [ "$(current_inputs "$ref")" = "$inputs" ] && { echo "images: $ref is current"; return 0; }
  if timeout 60 docker pull -q "debian:$code" >/dev/null 2>&1; then
    printf 'FROM debian:%s\nLABEL %s=true %s.inputs=%s\n' "$code" "$LABEL" "$LABEL" "$inputs" |
      docker build -q -t "$ref" - >/dev/null
    echo "images: $ref from the registry's debian:$code"
    return 0
  fi
  [ -n "$MIRROR" ] || { echo "images: no registry answers and no Debian mirror is configured in /etc/apt; set DEBIAN_MIRROR" >&2; return 1; }
  if ! command -v debootstrap >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { echo "images: no registry answers; install debootstrap (apt-get install debootstrap) and run again" >&2; return 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  local root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  echo "images: debootstrap $code (no registry answers)"
  debootstrap --variant=minbase "$code" "$root" "$MIRROR" >"$root.log" 2>&1 ||
    { echo "images: debootstrap $code failed, see $root.log" >&2; return 1; }
  rm -f "$root.log"
  { echo "Types: deb"; echo "URIs: $MIRROR"; echo "Suites: $code $code-updates"; echo "Components: main"
    echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    if [ -n "$SECURITY_MIRROR" ]; then
      echo; echo "Types: deb"; echo "URIs: $SECURITY_MIRROR"; echo "Suites: $code-security"; echo "Components: main"
      echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    fi; } > "$root/etc/apt/sources.list.d/debian.sources"
  rm -f "$root/etc/apt/sources.list"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    -c "LABEL $LABEL=true" -c "LABEL $LABEL.inputs=$inputs" -c 'CMD ["/bin/bash"]' - "$ref" >/dev/null
  echo "images: $ref built"
}

build_instance() {
  local release=$1 ref="$REPO/instance:$1" inputs
  inputs="$(image_inputs)-$(docker image inspect -f '{{.Id}}' "$REPO/base:$release" | cut -c8-19)"
  [ "$(current_inputs "$ref")" = "$inputs" ] && { echo "images: $ref is current"; return 0; }
  docker build -q --build-arg BASE="$REPO/base:$release" \
    --label "$LABEL=true" --label "$LABEL.inputs=$inputs" -t "$ref" images/instance >/dev/null
  echo "images: $ref built"
}

# A later release counts only when systemd boots in it on this host, confined as
# every guest is (systemd 256+ refuses a cgroup v1 host, for instance).
boots() {
  PYTHONPATH="$PWD/.collections" .venv/bin/python scripts/image_boots.py "$1"
}

for release in $RELEASES; do
  if [ "$release" = debian12 ]; then
    build_base "$release"; build_instance "$release"
  elif (build_base "$release" && build_instance "$release") && boots "$REPO/instance:$release"; then
    :
  else
    echo "images: $release left out: it does not build or boot systemd on this host"
    docker rmi "$REPO/instance:$release" >/dev/null 2>&1 || true
  fi
done
