"""A STUB, NOT Nova: Nova is not run in the Neutron lab (scripts/neutron_lab).

A read-only stand-in so the collection's modules, which list servers (the vip
module checks its allowed instances, vlan deletion looks for instances on it),
can run against the lab's real Neutron. The servers it lists come from a JSON
file that lab_instances.py writes next to the real Neutron ports it makes; it
proves nothing about Nova.

usage: python nova_stub.py PORT SERVERS_JSON
Answers version discovery, GET servers (detail), GET servers/ID, GET flavors/detail
from SERVERS_JSON (re-read on every request: a list of server dicts); 501 for anything
else (no server is ever created, started or deleted).
"""
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

PORT = int(sys.argv[1])
SERVERS = sys.argv[2]
BASE = "http://127.0.0.1:%d" % PORT
VERSION = {"id": "v2.1", "status": "CURRENT", "version": "2.79", "min_version": "2.1",
           "links": [{"href": BASE + "/v2.1/", "rel": "self"}]}
FLAVORS = [dict(id="f1", name="m1.small", vcpus=1, ram=1024, disk=20, **{"os-flavor-access:is_public": True})]


def servers():
    try:
        with open(SERVERS) as f:
            return json.load(f)
    except FileNotFoundError:
        return []


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        url = urlparse(self.path)
        path = url.path.rstrip("/")
        query = parse_qs(url.query)
        if path in ("", "/"):
            return self.reply(300, {"versions": [VERSION]})
        if path == "/v2.1":
            return self.reply(200, {"version": VERSION})
        if path in ("/v2.1/servers", "/v2.1/servers/detail"):
            found = servers()
            if query.get("name"):
                found = [s for s in found if re.search(query["name"][0], s["name"])]
            return self.reply(200, {"servers": found})
        match = re.match(r"^/v2\.1/servers/([^/]+)$", path)
        if match:
            server = next((s for s in servers() if s["id"] == match.group(1)), None)
            if server is None:
                return self.reply(404, {"itemNotFound": {"code": 404, "message": "Instance could not be found"}})
            return self.reply(200, {"server": server})
        if path == "/v2.1/flavors/detail":
            return self.reply(200, {"flavors": FLAVORS})
        return self.reply(501, {"notImplemented": {"code": 501, "message": "the lab's Nova stub only lists servers"}})

    def do_POST(self):  # noqa: N802
        return self.reply(501, {"notImplemented": {"code": 501, "message": "the lab's Nova stub creates nothing"}})

    do_PUT = do_DELETE = do_POST

    def log_message(self, fmt, *args):
        sys.stderr.write("[nova-stub] %s\n" % (fmt % args))


HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
