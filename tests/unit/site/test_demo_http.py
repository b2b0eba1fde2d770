"""The demo service's data API: values kept only on the mounted data volume, GET / as before."""

import http.client
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "playbooks" / "files"))

import demo_http  # noqa: E402


@pytest.fixture
def service(tmp_path, monkeypatch):
    """The service on a loopback port, its data directory a temporary one that counts as
    a mount point while mounted["yes"] is true."""
    data = tmp_path / "site-data"
    data.mkdir()
    mounted = {"yes": True}
    monkeypatch.setattr(demo_http, "DATA_DIR", str(data))
    monkeypatch.setattr(demo_http, "ismount", lambda path: mounted["yes"] and path == str(data))
    server = demo_http.Server(("127.0.0.1", 0), demo_http.Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def ask(method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        out = resp.status, resp.read(), resp.getheader("X-Instance")
        conn.close()
        return out

    yield ask, data, mounted
    server.shutdown()
    server.server_close()


def test_get_root_answers_the_instance_name_as_before(service):
    ask, _data, _mounted = service
    status, body, instance = ask("GET", "/")
    assert (status, body, instance) == (200, demo_http.NAME, None)


def test_put_then_get_returns_the_value_from_the_data_directory(service):
    ask, data, _mounted = service
    status, body, instance = ask("PUT", "/data/marker", b"drill-123\n")
    assert status == 200 and instance == demo_http.HOSTNAME
    assert (data / "marker").read_bytes() == b"drill-123\n"
    # Written whole, then renamed into place: no temporary file stays beside it.
    assert sorted(p.name for p in data.iterdir()) == ["marker"]
    assert ask("GET", "/data/marker")[:2] == (200, b"drill-123\n")
    assert ask("GET", "/data/other")[0] == 404


def test_nothing_is_written_or_read_while_the_directory_is_not_a_mount(service):
    ask, data, mounted = service
    (data / "seen").write_bytes(b"on the instance's own disk")
    mounted["yes"] = False
    status, body, _instance = ask("PUT", "/data/marker", b"x")
    assert status == 503 and b"not mounted" in body
    assert not (data / "marker").exists()
    assert ask("GET", "/data/seen")[0] == 503


def test_a_descriptor_opened_before_the_volume_arrived_is_refused(service, tmp_path, monkeypatch):
    # The check says "mounted" but the directory opened is another file system (the volume
    # arrived between the open and the check): the device differs, so no write lands there.
    ask, data, _mounted = service
    real_stat = demo_http.os.stat

    class Other:
        def __init__(self, st):
            self.st_dev = st.st_dev + 1

    monkeypatch.setattr(demo_http.os, "stat", lambda path, *a, **k: Other(real_stat(path)) if path == str(data)
                        else real_stat(path, *a, **k))
    assert ask("PUT", "/data/marker", b"x")[0] == 503
    assert not (data / "marker").exists()


@pytest.mark.parametrize("key", ["", ".hidden", "a/b", "..", "x" * 129, "sp ace"])
def test_bad_keys_are_refused(service, key):
    ask, data, _mounted = service
    status, body, _instance = ask("PUT", "/data/" + key.replace(" ", "%20"), b"x")
    assert status == 400 and b"KEY" in body
    assert list(data.iterdir()) == []


def test_without_a_data_directory_there_is_no_data_api(service, monkeypatch):
    ask, _data, _mounted = service
    monkeypatch.setattr(demo_http, "DATA_DIR", None)
    assert ask("GET", "/data/marker")[0] == 404
    assert ask("PUT", "/other", b"x")[0] == 405
