"""Demo service behind the vip: answers every GET with the name of the instance.

Runs as `python3 /usr/local/bin/demo-http [PORT]` and names its process
'demo-http', which keepalived tracks.
"""

import ctypes
import http.server
import socket
import sys

NAME = (socket.gethostname() + "\n").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(NAME)))
        self.end_headers()
        self.wfile.write(NAME)

    def log_message(self, *args):
        # 100 requests a second during a drill: keep the journal quiet.
        pass


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
    Server(("0.0.0.0", port), Handler).serve_forever()
