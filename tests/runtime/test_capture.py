"""runtime watch plumbing: intervals, URL checks, size limits and redirects, on a loopback HTTP server."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest

from gleak_sarif.errors import UsageError
from gleak_sarif.runtime.capture import CaptureError, fetch, normalize_url, parse_interval


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/big"):
            body = b"x" * 5000
        elif self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/x" if "ftp" in self.path else "file:///etc/passwd")
            self.end_headers()
            return
        elif self.path.startswith("/missing"):
            self.send_error(404)
            return
        elif self.path.startswith("/trickle"):
            # A byte every 0.2 s: every single read is quick, the whole answer never comes.
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)
            return
        elif self.path.startswith("/slow-headers"):
            self.wfile.write(b"HTTP/1.0 200 OK\r\n")
            for _ in range(1000):
                try:
                    self.wfile.write(b"X-Pad: y\r\n")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)
            return
        else:
            body = b"goroutine 1 [running]:\nmain.main()\n\t/src/m/main.go:3 +0x1\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_parse_interval() -> None:
    assert parse_interval("30s") == 30
    assert parse_interval("1m30s") == 90
    assert parse_interval("500ms") == 0.5
    assert parse_interval("2") == 2
    for bad in ("", "abc", "5x", "1m 30s"):
        with pytest.raises(UsageError):
            parse_interval(bad)


def test_normalize_url() -> None:
    assert normalize_url("http://h:6060/debug/pprof/goroutine") == "http://h:6060/debug/pprof/goroutine?debug=2"
    assert normalize_url("https://h/debug/pprof/goroutineleak?seconds=1").endswith("?seconds=1&debug=2")
    assert normalize_url("http://h/debug/pprof/goroutine?debug=1").endswith("?debug=1")
    assert normalize_url("http://h/custom/dump") == "http://h/custom/dump"
    for bad in ("file:///etc/passwd", "ftp://h/x", "h:6060/debug", "http:///nohost"):
        with pytest.raises(UsageError):
            normalize_url(bad)


def test_fetch_limits(server: str) -> None:
    assert fetch(server + "/ok").startswith(b"goroutine 1")
    with pytest.raises(CaptureError, match="limit"):
        fetch(server + "/big", max_bytes=1000)
    # urllib itself refuses file: redirects; ftp: it would follow, gleak-sarif does not.
    with pytest.raises(CaptureError, match="HTTP 302"):
        fetch(server + "/redirect")
    with pytest.raises(CaptureError, match="refusing redirect"):
        fetch(server + "/redirect-ftp")
    with pytest.raises(CaptureError, match="HTTP 404"):
        fetch(server + "/missing")
    with pytest.raises(CaptureError, match="cannot fetch"):
        fetch("http://127.0.0.1:9/", timeout=2)  # discard port: nothing listens


@pytest.mark.parametrize("path", ["/trickle", "/slow-headers"])
def test_fetch_timeout_is_a_total_deadline(server: str, path: str) -> None:
    """--timeout bounds the whole request: a server trickling a byte (or a header line) every 0.2 s,
    each read well inside the timeout, is cut off once the total passes it (issue 22, item 12)."""
    start = time.monotonic()
    with pytest.raises(CaptureError, match="within 1 s"):
        fetch(server + path, timeout=1.0)
    assert time.monotonic() - start < 3.0
