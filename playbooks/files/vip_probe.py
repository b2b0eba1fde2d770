"""Probe the service on the vip every INTERVAL seconds, from the client.

Each probe is a fresh TCP connection and an HTTP GET of PATH with a short
timeout; the demo service answers GET / with the instance's name. Probes are
sent on a fixed schedule from a thread pool, so a slow or lost answer never
delays the next probe. One line per probe on stdout, in completion order:

    SEND_TIME OK|FAIL NAME_OR_ERROR LATENCY_MS

With --put VALUE (for a path of the demo service's data API, /data/KEY) the
probe first stores VALUE at PATH through the vip, then counts an answer as OK
only when it is 200 with exactly VALUE: the service answers from the pair's data
volume, which follows the vip, so this measures the vip's move and the volume's
together. NAME is then the X-Instance header the service sends.

Runs until stdin closes (the drill holds it open) or DURATION seconds pass.
Usage: vip_probe.py VIP [--port 80] [--path /] [--put VALUE] [--interval 0.01] [--timeout 0.2] [--duration 0]
"""

import argparse
import concurrent.futures
import socket
import sys
import threading
import time

LOCK = threading.Lock()


def request(vip, port, timeout, method, path, body=b""):
    """(status line, {header: value} with lower-case names, body) of one HTTP/1.0 request."""
    with socket.create_connection((vip, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        head = "%s %s HTTP/1.0\r\nHost: vip\r\n" % (method, path)
        if method == "PUT":
            head += "Content-Length: %d\r\n" % len(body)
        sock.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    headers = dict((k.strip().lower(), v.strip()) for k, _s, v in (line.partition(":") for line in lines[1:]))
    return lines[0], headers, body


def probe(vip, port, timeout, send_time, path="/", expect=None):
    try:
        status, headers, body = request(vip, port, timeout, "GET", path)
        if not status.startswith("HTTP/1.0 200"):
            result = ("FAIL", "status:" + status.replace(" ", "_"))
        elif expect is None:
            result = ("OK", body.decode().strip() or "-")
        elif body != expect:
            result = ("FAIL", "content")
        else:
            result = ("OK", headers.get("x-instance") or "-")
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
    parser.add_argument("--path", default="/")
    parser.add_argument("--put", help="store this value at PATH first; then only it counts as an answer")
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--timeout", type=float, default=0.2)
    parser.add_argument("--duration", type=float, default=0)
    args = parser.parse_args()

    expect = None
    if args.put is not None:
        expect = args.put.encode()
        try:
            status = request(args.vip, args.port, 2.0, "PUT", args.path, expect)[0]
        except OSError as exc:
            status = type(exc).__name__
        if not status.startswith("HTTP/1.0 200"):
            sys.stderr.write("vip_probe: storing the value at %s answered %s\n" % (args.path, status))
            return 1

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
            pool.submit(probe, args.vip, args.port, args.timeout, time.time(), args.path, expect)
            tick += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
