# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""strongSwan through swanctl: a connection, its pre-shared key, the charon
settings (ESP backend, retransmits) and the probe that picks the ESP backend.

A connection is a dict (see ``connection.py`` for how the module's tunnels and
the role's connections become one):
  name, version-less IKEv2 connection and CHILD_SA name;
  local_addrs, remote_addrs, local_ts, remote_ts, ike_proposals, esp_proposals: lists;
  local_id, remote_id, auth ('psk' or 'pubkey'), dpd_delay (seconds);
  encap: True puts ESP in UDP 4500 from the start;
  mode, start_action, dpd_action, close_action: written when not None
  (strongSwan's defaults otherwise: tunnel, none, clear, none).
"""

from __future__ import annotations

import base64

BACKENDS = ("kernel", "libipsec")

# Retransmits that give up after about 7 s (1 + 1.4 + 1.96 + 2.74) instead of the
# stock 165 s: with dpd_delay 2 s a dead peer is noticed in seconds. The role's
# ipsec_gateway_retransmit_* defaults are held to these by a unit test.
RETRANSMIT = dict(tries=3, timeout=1.0, base=1.4)
DEFAULT_DPD_DELAY = 2

# A throw-away ESP SA on loopback (AES-GCM, the transform the defaults need):
# accepted means the kernel has ESP. Prints the backend to use; exits 0 only for
# kernel, so a caller may read either.
_PROBE = """spi=0x5ec0e5b1
ip xfrm state delete src 127.0.0.1 dst 127.0.0.1 proto esp spi $spi >/dev/null 2>&1
if ip xfrm state add src 127.0.0.1 dst 127.0.0.1 proto esp spi $spi mode tunnel \\
     aead 'rfc4106(gcm(aes))' 0x%s 128 >/dev/null 2>&1; then
  ip xfrm state delete src 127.0.0.1 dst 127.0.0.1 proto esp spi $spi >/dev/null 2>&1
  echo kernel
else
  echo libipsec
  exit 1
fi
""" % ("0" * 40)


def probe_command(backend="auto"):
    """A POSIX shell script that prints the ESP backend to use and exits 0 only for kernel.

    backend: 'auto' probes the kernel; 'kernel' or 'libipsec' is used as given.
    """
    if backend == "auto":
        return _PROBE
    if backend == "kernel":
        return "echo kernel\n"
    if backend == "libipsec":
        return "echo libipsec\nexit 1\n"
    raise ValueError("backend must be auto, kernel or libipsec, not %r" % (backend,))


def _join(values):
    return ", ".join(str(v) for v in values)


def render_connection(conn, prefix):
    """The swanctl.conf text of one connection (no secret in it).

    prefix: the file prefix of the connection's certificates in /etc/swanctl/x509*.
    """
    name = conn["name"]
    auth = conn.get("auth") or "psk"
    lines = [
        "# Connection %s: %s <=> %s" % (name, _join(conn["local_ts"]), _join(conn["remote_ts"])),
        "connections {",
        "    %s {" % name,
        "        version = 2",
        "        local_addrs = %s" % _join(conn["local_addrs"]),
        "        remote_addrs = %s" % _join(conn["remote_addrs"]),
        "        proposals = %s" % _join(conn["ike_proposals"]),
        "        # Dead peer detection after %s s without traffic; retransmits are tuned in strongswan.d."
        % conn["dpd_delay"],
        "        dpd_delay = %ss" % conn["dpd_delay"],
        "        # Keep trying while the peer is away, and let a restarted peer's new",
        "        # IKE_SA replace the stale one at once.",
        "        keyingtries = 0",
        "        unique = replace",
    ]
    if conn.get("encap"):
        lines += ["        # ESP in UDP (port 4500) from the start (kernel-libipsec needs it in any case).",
                  "        encap = yes"]
    lines += ["        local {", "            auth = %s" % auth, "            id = %s" % conn["local_id"]]
    if auth == "pubkey":
        lines.append("            certs = %s%s.pem" % (prefix, name))
    lines += ["        }", "        remote {", "            auth = %s" % auth, "            id = %s" % conn["remote_id"]]
    if auth == "pubkey":
        lines.append("            cacerts = %s%s.ca.pem" % (prefix, name))
    lines += ["        }", "        children {", "            %s {" % name]
    if conn.get("mode") is not None:
        lines.append("                mode = %s" % conn["mode"])
    lines += ["                local_ts = %s" % _join(conn["local_ts"]),
              "                remote_ts = %s" % _join(conn["remote_ts"]),
              "                esp_proposals = %s" % _join(conn["esp_proposals"])]
    for key in ("start_action", "dpd_action", "close_action"):
        if conn.get(key) is not None:
            lines.append("                %s = %s" % (key, conn[key]))
    lines += ["            }", "        }", "    }", "}", ""]
    return "\n".join(lines)


def render_psk(name, psk, remote_id, local_id=None):
    """The swanctl secrets section of a connection's pre-shared key (base64, ``0s``).

    The key applies to remote_id, and to local_id as well when one is given.
    """
    lines = ["# Pre-shared key of connection %s, base64 encoded (0s prefix). Mode 0600." % name,
             "secrets {", "    ike-%s {" % name]
    if local_id is not None:
        lines.append("        id-local = %s" % local_id)
    lines += ["        id-remote = %s" % remote_id,
              "        secret = 0s%s" % base64.b64encode(psk.encode("utf-8")).decode("ascii"),
              "    }", "}", ""]
    return "\n".join(lines)


def dead_peer_seconds(tries, timeout, base):
    """Seconds from the first unanswered message until charon gives the peer up."""
    return sum(float(timeout) * float(base) ** i for i in range(int(tries) + 1))


def render_settings(backend=None, retransmit=None):
    """strongswan.d settings: the ESP backend (kernel-libipsec loaded or not) and/or the retransmits.

    backend: 'kernel', 'libipsec' or None (not set here); retransmit: {tries, timeout, base} or None.
    """
    lines = []
    if backend is not None:
        if backend not in BACKENDS:
            raise ValueError("backend must be kernel or libipsec, not %r" % (backend,))
        lines += ["# ESP backend: %s." % ("kernel-libipsec: the kernel refused an ESP SA, so ESP runs in userspace over "
                                          "the ipsec0 TUN device, UDP-encapsulated" if backend == "libipsec"
                                          else "kernel ESP through XFRM (kernel-netlink)"),
                  "# Read after strongswan.d/charon/*.conf, so it overrides their load settings."]
    if retransmit is not None:
        lines += ["# A peer that stops answering is declared dead %.1f s after the first"
                  % dead_peer_seconds(**retransmit),
                  "# unanswered message (%s retransmits); the stock settings take 165 s." % retransmit["tries"]]
    lines.append("charon {")
    if retransmit is not None:
        lines += ["    retransmit_tries = %s" % retransmit["tries"],
                  "    retransmit_timeout = %s" % retransmit["timeout"],
                  "    retransmit_base = %s" % retransmit["base"]]
    if backend is not None:
        lines += ["    plugins {", "        kernel-libipsec {",
                  "            load = %s" % ("yes" if backend == "libipsec" else "no"), "        }", "    }"]
    lines += ["}", ""]
    return "\n".join(lines)
