"""Live capture for ``runtime watch``: fetch goroutine dumps from a pprof endpoint, safely.

Only http and https (also after redirects), a timeout per request, and a size limit: a runaway
service can have a dump of hundreds of megabytes, and ``runtime.Stack`` itself truncates at 64 MiB.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from typing import IO

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


def fetch(url: str, *, timeout: float = 10.0, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    opener = urllib.request.build_opener(_HttpOnlyRedirects())
    req = urllib.request.Request(url, headers={"User-Agent": "gleak-sarif runtime watch"})
    try:
        with opener.open(req, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise CaptureError(f"dump is {int(length)} bytes, over the {max_bytes}-byte limit")
            data: bytes = resp.read(max_bytes + 1)
    except urllib.error.HTTPError as err:
        raise CaptureError(f"HTTP {err.code} from {url}") from err
    except (urllib.error.URLError, OSError) as err:
        raise CaptureError(f"cannot fetch {url}: {err}") from err
    if len(data) > max_bytes:
        raise CaptureError(f"dump is over the {max_bytes}-byte limit (--max-bytes)")
    return data
