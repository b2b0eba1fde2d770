"""Lab only: serve neutron.wsgi.api:application on 127.0.0.1 with the stdlib.

Neutron 2025.1+ serves its API only as a WSGI application (normally under
uWSGI); wsgiref needs nothing compiled. One request at a time: enough for the
lab's sequential clients (scripts/neutron_lab/start.sh starts it).

usage: python serve.py PORT   (OS_NEUTRON_CONFIG_DIR / OS_NEUTRON_CONFIG_FILES name the config)
"""
import sys
import time
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

port = int(sys.argv[1])
sys.argv = sys.argv[:1]  # oslo.config parses sys.argv[1:]
t0 = time.monotonic()
from neutron.wsgi.api import application  # noqa: E402  (boots config, plugins, DB)


class Handler(WSGIRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("[api] %s\n" % (fmt % args))


httpd = make_server("127.0.0.1", port, application, server_class=WSGIServer, handler_class=Handler)
sys.stderr.write("[api] neutron API loaded in %.1f s, listening on http://127.0.0.1:%d/\n" % (time.monotonic() - t0, port))
sys.stderr.flush()
httpd.serve_forever()
