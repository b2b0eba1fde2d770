"""Demo service behind the vip: answers GET / with the name of the instance.

Runs as `python3 /usr/local/bin/demo-http [PORT [DATA_DIR]]` and names its
process 'demo-http', which keepalived tracks.

With DATA_DIR (the mount path of the pair's data volume, which follows the vip)
it also keeps small values there, for the failover drill and the bench:

    PUT /data/KEY   stores the request's body as DATA_DIR/KEY (200)
    GET /data/KEY   returns it (200), 404 when there is none

Only while DATA_DIR is a mount point: otherwise (the volume is on the other
instance, or not here yet) 503, so nothing is ever written to the instance's
own disk under the mount path. Every /data answer names the instance that gave
it in the header X-Instance. KEY is 1 to 128 letters, digits, '.', '_' or '-',
not starting with '.'.
"""

import ctypes
import http.server
import os
import re
import socket
import sys
import threading

HOSTNAME = socket.gethostname()
NAME = (HOSTNAME + "\n").encode()
DATA_PREFIX = "/data/"
KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")
MAX_VALUE = 1024 * 1024
# Set from the command line; None: no data API (404).
DATA_DIR = None
# The mount check, apart so that the unit tests can stand in for a mounted volume.
ismount = os.path.ismount


def open_data_dir():
    """A descriptor of DATA_DIR while it is a mount point, else None.

    Every read and write goes through this descriptor: the directory is opened
    first and then checked to be the mount, so a volume that leaves between the
    check and the write cannot turn the write into one on the instance's own
    disk (the fencing host kills a process that holds the volume open, and a
    descriptor opened before the volume arrived points at the disk and fails
    the device check)."""
    try:
        fd = os.open(DATA_DIR, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        if ismount(DATA_DIR) and os.fstat(fd).st_dev == os.stat(DATA_DIR).st_dev:
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        if self.path.startswith(DATA_PREFIX):
            return self.data("GET")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(NAME)))
        self.end_headers()
        self.wfile.write(NAME)
        return None

    def do_PUT(self):  # noqa: N802 (the stdlib's name)
        if self.path.startswith(DATA_PREFIX):
            return self.data("PUT")
        return self.answer(405, b"only /data/KEY takes PUT\n")

    def answer(self, status, body, content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Instance", HOSTNAME)
        self.end_headers()
        self.wfile.write(body)

    def data(self, method):
        key = self.path[len(DATA_PREFIX):]
        if DATA_DIR is None:
            return self.answer(404, b"this service keeps no data (no data directory given)\n")
        if not KEY.match(key):
            return self.answer(400, b"KEY: 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'\n")
        body = b""
        if method == "PUT":
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self.answer(411, b"give Content-Length\n")
            if not 0 <= length <= MAX_VALUE:
                return self.answer(413, b"a value is at most 1 MiB\n")
            body = self.rfile.read(length)
        fd = open_data_dir()
        if fd is None:
            return self.answer(503, ("the data volume is not mounted at %s on %s\n" % (DATA_DIR, HOSTNAME)).encode())
        try:
            if method == "PUT":
                store(fd, key, body)
                return self.answer(200, ("stored %s on %s\n" % (key, HOSTNAME)).encode())
            try:
                return self.answer(200, load(fd, key), "application/octet-stream")
            except FileNotFoundError:
                return self.answer(404, ("no %s\n" % key).encode())
        finally:
            os.close(fd)

    def log_message(self, *args):
        # 100 requests a second during a drill: keep the journal quiet.
        pass


def store(dir_fd, key, value):
    """Write the whole value or nothing, and make it durable before answering: the drill
    stops this instance right after the answer, and the standby must read it."""
    tmp = ".%s.%d.%d" % (key, os.getpid(), threading.get_ident())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, dir_fd=dir_fd)
    try:
        view = memoryview(value)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, key, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    os.fsync(dir_fd)


def load(dir_fd, key):
    fd = os.open(key, os.O_RDONLY, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def name_process(name):
    """Set the kernel's name for this process (what pgrep -x and track_process see)."""
    try:
        ctypes.CDLL(None).prctl(15, name.encode(), 0, 0, 0)  # 15: PR_SET_NAME
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    name_process("demo-http")
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 80
    DATA_DIR = sys.argv[2] if len(sys.argv) > 2 else None
    Server(("0.0.0.0", port), Handler).serve_forever()
