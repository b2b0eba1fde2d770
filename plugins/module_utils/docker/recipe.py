# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recipe of the catalog's instance image: its Dockerfile and the files it copies.

It lives here, in module_utils, so it travels with the module to whatever host
runs it (a Galaxy install has no images/ directory to build from); the build
context is made in memory from these texts. What a cloud image gives a
customer: systemd as PID 1, python3, openssh-server, sudo, iproute2; the admin
user and SSH keys are injected at provisioning time, and every instance gets
its own SSH host keys at first boot.
"""

from __future__ import annotations

import hashlib
import io
import tarfile

DOCKERFILE = """\
# The instance image: what a cloud image gives a customer. systemd is PID 1, the
# admin user and SSH keys are injected at provisioning time.
ARG BASE
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive container=docker
RUN apt-get update \\
 && apt-get install -y --no-install-recommends \\
      systemd systemd-sysv dbus python3 openssh-server sudo iproute2 \\
      iputils-ping curl ca-certificates procps \\
 && apt-get clean && rm -rf /var/lib/apt/lists/* \\
 # Every instance gets its own SSH host keys at first boot, not the image's.
 && rm -f /etc/ssh/ssh_host_*
COPY ssh-host-keys.service /etc/systemd/system/ssh-host-keys.service
RUN systemctl enable ssh-host-keys.service ssh.service
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
"""

SSH_HOST_KEYS_SERVICE = """\
[Unit]
Description=Generate this instance's own SSH host keys
ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
"""

FILES = (("Dockerfile", DOCKERFILE), ("ssh-host-keys.service", SSH_HOST_KEYS_SERVICE))


def context():
    """The build context, a tar archive in memory (fixed owners and times, so the same recipe is the same bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in FILES:
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def digest():
    """A short hash of the recipe: part of every instance image's inputs."""
    sha = hashlib.sha256()
    for name, text in FILES:
        sha.update(name.encode() + b"\0" + text.encode("utf-8") + b"\0")
    return sha.hexdigest()[:16]
