"""Live capture for ``runtime watch``: fetch goroutine dumps from a pprof endpoint, safely.

Only http and https (also after redirects), a total deadline per request (connect, headers and body:
a server that trickles a byte at a time cannot keep the watch waiting), and a size limit: a runaway
service can have a dump of hundreds of megabytes, and ``runtime.Stack`` itself truncates at 64 MiB.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any

from gleak_sarif.errors import UsageError

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class CaptureError(Exception):
    pass


def parse_interval(text: str) -> float:
    """``30s``, ``1m30s``, ``500ms``, ``2`` (seconds) -> seconds."""
    t = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        return float(t)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", t)
    if not parts or "".join(a + b for a, b in parts) != t:
        raise UsageError(f"bad interval {text!r}", hint="use a Go-style duration such as 500ms, 30s or 1m30s")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def normalize_url(url: str) -> str:
    """Check the scheme and default to ``?debug=2`` for the goroutine and goroutineleak profiles."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"not an http(s) URL: {url!r}",
            hint="for example http://127.0.0.1:6060/debug/pprof/goroutine?debug=2",
        )
    query = urllib.parse.parse_qs(parts.query)
    if "debug" not in query and parts.path.rstrip("/").endswith(("/goroutine", "/goroutineleak")):
        q = parts.query + ("&" if parts.query else "") + "debug=2"
        parts = parts._replace(query=q)
    return urllib.parse.urlunsplit(parts)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: object, newurl: str
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise CaptureError(f"refusing redirect to {newurl!r}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]


class _Recorder:
    """Remembers the sockets urllib opens (redirects open more), so a watchdog can shut them. urllib drops
    the connection's own reference once the headers are in; the response reads on through the socket."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def add(self, sock: socket.socket | None) -> None:
        if sock is not None:
            with self.lock:
                self.sockets.append(sock)

    def shut(self) -> None:
        with self.lock:
            sockets = list(self.sockets)
        for sock in sockets:
            # shutdown (not close) wakes a recv blocked in another thread
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _recording(base: type[http.client.HTTPConnection], recorder: _Recorder) -> Any:
    class Connection(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            recorder.add(self.sock)

    return Connection


class _HTTP(urllib.request.HTTPHandler):
    def __init__(self, recorder: _Recorder) -> None:
        super().__init__()
        self.connection = _recording(http.client.HTTPConnection, recorder)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.connection, req)


class _HTTPS(urllib.request.HTTPSHandler):
    def __init__(self, recorder: _Recorder) -> None:
        super().__init__()
        self.connection = _recording(http.client.HTTPSConnection, recorder)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.connection, req, context=self._context)  # type: ignore[attr-defined]


def fetch(url: str, *, timeout: float = 10.0, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """GET ``url``: at most ``max_bytes``, all of it within ``timeout`` seconds (a total deadline)."""
    recorder = _Recorder()
    opener = urllib.request.build_opener(_HttpOnlyRedirects(), _HTTP(recorder), _HTTPS(recorder))
    req = urllib.request.Request(url, headers={"User-Agent": "gleak-sarif runtime watch"})
    done, expired = threading.Event(), threading.Event()

    def watchdog() -> None:
        if done.wait(timeout):
            return
        expired.set()
        while not done.is_set():  # a redirect may open another connection after the first shut
            recorder.shut()
            done.wait(0.05)

    guard = threading.Thread(target=watchdog, name="gleak-fetch-deadline", daemon=True)
    guard.start()
    too_slow = f"no complete answer from {url} within {timeout:g} s (--timeout: a total deadline per request)"
    try:
        with opener.open(req, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise CaptureError(f"dump is {int(length)} bytes, over the {max_bytes}-byte limit")
            chunks: list[bytes] = []
            size = 0
            while size <= max_bytes:
                chunk = resp.read(min(1 << 20, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            if expired.is_set():
                raise CaptureError(too_slow)
            data = b"".join(chunks)
    except urllib.error.HTTPError as err:
        raise CaptureError(f"HTTP {err.code} from {url}") from err
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        if expired.is_set():
            raise CaptureError(too_slow) from err
        raise CaptureError(f"cannot fetch {url}: {err}") from err
    finally:
        done.set()
        guard.join()
    if len(data) > max_bytes:
        raise CaptureError(f"dump is over the {max_bytes}-byte limit (--max-bytes)")
    return data
