"""Probe the service on the vip every INTERVAL seconds, from the client.

Each probe is a fresh TCP connection and an HTTP GET with a short timeout; the
demo service answers with the instance's name. Probes are sent on a fixed
schedule from a thread pool, so a slow or lost answer never delays the next
probe. One line per probe on stdout, in completion order:

    SEND_TIME OK|FAIL NAME_OR_ERROR LATENCY_MS

Runs until stdin closes (the drill holds it open) or DURATION seconds pass.
Usage: vip_probe.py VIP [--port 80] [--interval 0.01] [--timeout 0.2] [--duration 0]
"""

import argparse
import concurrent.futures
import socket
import sys
import threading
import time

LOCK = threading.Lock()


def probe(vip, port, timeout, send_time):
    try:
        with socket.create_connection((vip, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        status, _sep, body = data.partition(b"\r\n\r\n")
        if not status.startswith(b"HTTP/1.0 200"):
            result = ("FAIL", "status:" + status.split(b"\r\n")[0].decode(errors="replace").replace(" ", "_"))
        else:
            result = ("OK", body.decode().strip() or "-")
    except OSError as exc:
        result = ("FAIL", type(exc).__name__)
    latency = (time.time() - send_time) * 1000
    with LOCK:
        sys.stdout.write("%.6f %s %s %.1f\n" % (send_time, result[0], result[1], latency))
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("vip")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--timeout", type=float, default=0.2)
    parser.add_argument("--duration", type=float, default=0)
    args = parser.parse_args()

    stop = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        stop.set()

    if args.duration <= 0:
        threading.Thread(target=watch_stdin, daemon=True).start()
    start = time.time()
    # Enough workers that probes in flight during an outage (timeout/interval)
    # never queue behind each other.
    workers = int(args.timeout / args.interval) * 2 + 8
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        tick = 0
        while not stop.is_set():
            due = start + tick * args.interval
            if args.duration > 0 and due - start >= args.duration:
                break
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            pool.submit(probe, args.vip, args.port, args.timeout, time.time())
            tick += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
