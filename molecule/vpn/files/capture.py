# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capture IPv4 on one interface for a while and summarise it as JSON.

Usage: python3 capture.py IFNAME SECONDS MARKER [MARKER...]
Prints {"flows": {"<src> <dst> <proto>/<dport>": packets}, "markers": {marker: packets}}.
Run inside the customer gateway (NET_RAW); nothing is written to disk.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def main(ifname, seconds, markers):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((ifname, 0))
    sock.settimeout(0.2)
    flows, seen = {}, dict((m, 0) for m in markers)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            frame = sock.recv(65535)
        except socket.timeout:
            continue
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        proto = ip[9]
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        port = ""
        if proto in (6, 17) and len(ip) >= ihl + 4:
            sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
            port = "/%d" % min(sport, dport)
        key = "%s %s %d%s" % (src, dst, proto, port)
        flows[key] = flows.get(key, 0) + 1
        for marker in markers:
            if marker.encode() in frame:
                seen[marker] += 1
    print(json.dumps({"flows": flows, "markers": seen}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), sys.argv[3:])
