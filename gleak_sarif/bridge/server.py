"""`gleak-sarif serve --stdio`: the JSON-lines engine server behind the golangci-lint plugin.

Implements docs/engine-protocol.md. One process serves a whole golangci-lint run: requests are answered
in order, one engine (compiled rules) is kept per resolved set of options (gleak_sarif/options.py, the
resolver every command uses), and the server exits with status 0 on stdin EOF. Only protocol lines are written to the protocol stream; when serving the real
stdin/stdout, file descriptor 1 is pointed at stderr so that a stray print cannot corrupt the stream.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import traceback
from collections import OrderedDict
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gleak_sarif import __version__
from gleak_sarif.config import FailLevel, ScanOptions
from gleak_sarif.errors import ConfigError, GleakError
from gleak_sarif.model import Finding, Notification
from gleak_sarif.report.printable import escape_lone_surrogates
from gleak_sarif.suppress import golangci_applies

PROTOCOL_VERSION = 1
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_REQUEST_BYTES = 64 * 1024 * 1024
ENGINE_CACHE_SIZE = 8


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol: int
    id: int | str
    method: Literal["hello", "scan"]
    files: list[str] = Field(default_factory=list)
    config: str | None = None
    rules: list[str] = Field(default_factory=list)
    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    fail_level: FailLevel | None = None


class Server:
    """Answers protocol requests; transport-free so tests can drive it line by line."""

    def __init__(self) -> None:
        self._engines: OrderedDict[str, tuple[Any, str]] = OrderedDict()

    def handle_line(self, line: bytes) -> dict[str, Any]:
        """Answer one request line (without its newline)."""
        request_id: int | str | None = None
        try:
            try:
                raw = json.loads(line)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ProtocolError("bad-request", f"request is not JSON: {exc}") from None
            except RecursionError:  # `[[[[...` nested past the decoder's limit: a bad request, not a crash
                raise ProtocolError("bad-request", "request is not JSON: nested too deeply") from None
            if (
                isinstance(raw, dict)
                and isinstance(raw.get("id"), int | str)
                and not isinstance(raw.get("id"), bool)
            ):
                request_id = raw["id"] if _lone_surrogate(raw["id"]) is None else None
            bad = _lone_surrogate(raw)
            if bad is not None:  # `"\ud800"`: valid JSON, but no Unicode text (and no file name) holds it
                raise ProtocolError("bad-request", f"request field {bad} holds a lone surrogate (\\ud800-\\udfff), "
                                                   "which is not Unicode text")
            if not isinstance(raw, dict):
                raise ProtocolError("bad-request", "request must be a JSON object")
            if raw.get("protocol") != PROTOCOL_VERSION:
                raise ProtocolError(
                    "bad-request",
                    f"unsupported protocol {raw.get('protocol')!r}; this engine ({__version__}) speaks "
                    f"{PROTOCOL_VERSION}: install matching gleak-sarif and golangci-lint plugin versions",
                )
            try:
                req = _Request.model_validate(raw)
            except ValidationError as exc:
                raise ProtocolError("bad-request", _validation_message(exc)) from None
            body = self._hello(req) if req.method == "hello" else self._scan(req)
            return {"protocol": PROTOCOL_VERSION, "id": req.id, "ok": True, **body}
        except ProtocolError as exc:
            return _error(request_id, exc.code, exc.message)
        except ConfigError as exc:
            return _error(request_id, "config", str(exc))
        except GleakError as exc:
            return _error(request_id, "internal", str(exc))
        except Exception as exc:  # the server must outlive any one bad request
            traceback.print_exc(file=sys.stderr)
            return _error(request_id, "internal", f"{type(exc).__name__}: {exc}")

    def _options(self, req: _Request) -> ScanOptions:
        """The request's options from the resolver every command uses: the request's fields are the
        caller's flags. One config for the whole server: the one named, else .gleak.yml found upward
        from the working directory (golangci-lint's), so hello sees the same config as every scan and
        the fingerprint golangci-lint caches under covers it."""
        from gleak_sarif.options import Flags, resolve

        flags = Flags(
            config=req.config,
            rules=[os.path.abspath(r) for r in req.rules],
            select=req.select,
            ignore=req.ignore,
            fail_level=req.fail_level,
            # The client (golangci-lint) has already chosen the files: no discovery filter may drop one
            # (the config's `exclude` still applies), and parallelism comes from the client running
            # several servers, not from worker processes.
            include_vendor=True,
            include_testdata=True,
            include_generated=True,
            include_hidden=True,
            jobs=1,
        )
        return resolve(flags, search_from=os.getcwd())

    def _engine(self, options: ScanOptions) -> tuple[Any, str]:
        """The engine for these options (built once) and its fingerprint."""
        from gleak_sarif.engine import Engine  # deferred: the rule compiler is heavy to import

        key = options.model_dump_json()
        cached = self._engines.get(key)
        if cached is not None:
            self._engines.move_to_end(key)
            return cached
        engine = Engine(options)
        # engine.fingerprint covers rules, config bytes, severity overrides and the rule selection; what
        # the server reports also depends on the fail level.
        stamp = f"{__version__}\0{PROTOCOL_VERSION}\0{engine.fingerprint}\0{options.fail_level}\0"
        entry = (engine, hashlib.sha256(stamp.encode()).hexdigest()[:16])
        self._engines[key] = entry
        while len(self._engines) > ENGINE_CACHE_SIZE:
            self._engines.popitem(last=False)
        return entry

    def _hello(self, req: _Request) -> dict[str, Any]:
        _, fingerprint = self._engine(self._options(req))
        return {"engine_version": __version__, "fingerprint": fingerprint}

    def _scan(self, req: _Request) -> dict[str, Any]:
        if not req.files:
            return {"findings": [], "notifications": []}
        wanted: dict[str, str] = {}
        for path in req.files:
            if not os.path.isfile(path):
                what = "is not a regular file" if os.path.exists(path) else "does not exist"
                raise ProtocolError("not-found", f"{path} {what}")
            wanted[os.path.realpath(path)] = path
        options = self._options(req)
        engine, _ = self._engine(options)
        result = engine.scan(list(req.files))
        kept = [f for f in result.findings if not _drop(f) and _fails(f, options.fail_level)]
        # golangci-lint keeps the first issue of a line (uniq-by-line): the most severe goes first.
        kept.sort(key=lambda f: (f.primary.path, f.primary.start_line, -f.severity.rank, f.primary.start_column,
                                 f.rule_id))
        findings = [_finding_json(f, wanted) for f in kept]
        return {
            "findings": findings,
            "notifications": [_notification_json(n, wanted) for n in result.notifications],
        }


def _drop(f: Finding) -> bool:
    """Drop findings silenced by `//gleak:ignore` or an equivalent linter's `//nolint:govet`; keep those under
    a `//nolint` directive that golangci-lint applies to gleak itself (`//nolint`, `:all`, `:gleak`).

    golangci-lint applies `//nolint:gleak` itself. Were the engine to drop those findings too, the directive
    would look unused to golangci-lint, and its nolintlint linter would report it. It does not apply
    `//nolint:govet` to gleak's issues, so a finding that directive silences (a rule's `equivalent-linters`)
    is dropped here.
    """
    if f.suppression is None:
        return False
    return not golangci_applies(f.suppression.directive)


def _fails(f: Finding, fail_level: FailLevel) -> bool:
    """Whether `scan` at this fail level fails on ``f``: golangci-lint fails on every issue it prints, so
    the server returns exactly those (at the default level, warnings and errors; notes only with `note`)."""
    from gleak_sarif.model import Severity

    return fail_level != "none" and f.severity.rank >= Severity(fail_level).rank


def _as_requested(path: str, wanted: dict[str, str]) -> str:
    """Give paths back exactly as the client sent them, whatever normalisation the engine did."""
    return wanted.get(os.path.realpath(path), path)


def _finding_json(f: Finding, wanted: dict[str, str]) -> dict[str, Any]:
    p = f.primary
    return {
        "rule_id": f.rule_id,
        "rule_name": f.rule_name,
        "severity": f.severity.value,
        # golangci-lint shows only the message: the rule ID is in it for exclusions by text, and the
        # severity for `severity.rules` (a plugin cannot set golangci-lint's severity field itself).
        "message": _message(f),
        "path": _as_requested(p.path, wanted),
        "start_byte": p.start_byte,
        "end_byte": p.end_byte,
        "line": p.start_line,
        "column": p.start_column,
        "end_line": p.end_line,
        "end_column": p.end_column,
        "related": [
            {
                "path": _as_requested(r.span.path, wanted),
                "start_byte": r.span.start_byte,
                "end_byte": r.span.end_byte,
                "line": r.span.start_line,
                "column": r.span.start_column,
                "end_line": r.span.end_line,
                "end_column": r.span.end_column,
                "message": r.message,
            }
            for r in f.related
        ],
        "fix": None
        if f.fix is None
        else {
            "description": f.fix.description,
            "edits": [
                {
                    "path": _as_requested(e.path, wanted),
                    "start_byte": e.start_byte,
                    "end_byte": e.end_byte,
                    "new_text": e.new_text,
                }
                for e in f.fix.edits
            ],
        },
    }


def _message(f: Finding) -> str:
    """`GL201 warning: goroutine sends on ...`."""
    text = f.message.removeprefix(f"{f.rule_id}:").lstrip()
    return f"{f.rule_id} {f.severity.value}: {text}"


def _notification_json(n: Notification, wanted: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": n.kind.value,
        "level": n.level.value,
        "path": None if n.path is None else _as_requested(n.path, wanted),
        "line": n.line,
        "message": n.message,
    }


def _lone_surrogate(value: Any, where: str = "request") -> str | None:
    """The JSON path of the first string (key or value) in ``value`` with a lone surrogate, or None."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    return f"{path} (a key)"
                stack.append((child, f"{path}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
    return None


def _error(request_id: int | str | None, code: str, message: str) -> dict[str, Any]:
    return {
        "protocol": PROTOCOL_VERSION,
        "id": request_id,
        "ok": False,
        "error": {"code": code, "message": message},
    }


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"]) or "request"
        parts.append(f"{where}: {err['msg']}")
    return "invalid request: " + "; ".join(parts)


def _read_line(stream: IO[bytes], limit: int) -> tuple[bytes | None, bool]:
    """Read one line of at most ``limit`` bytes. Returns (line, too_large); (None, False) at EOF.

    An oversized line is consumed to its end without being kept, so the next request is read cleanly.
    """
    line = stream.readline(limit + 1)
    if not line:
        return None, False
    if len(line) <= limit or line.endswith(b"\n"):
        return line.rstrip(b"\r\n"), False
    while True:
        rest = stream.readline(1 << 20)
        if not rest or rest.endswith(b"\n"):
            return b"", True


def serve(stdin: IO[bytes], stdout: IO[bytes], *, max_request_bytes: int = MAX_REQUEST_BYTES) -> int:
    """Serve requests from ``stdin`` until EOF; return the exit status (0)."""
    server = Server()
    try:
        while True:
            line, too_large = _read_line(stdin, max_request_bytes)
            if line is None:
                return 0
            if too_large:
                answer = _error(None, "too-large", f"request line longer than {max_request_bytes} bytes")
            elif not line.strip():
                continue
            else:
                answer = server.handle_line(line)
            text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
            # a lone surrogate can still reach an answer (an engine message quoting a bad file name): write
            # it as its JSON escape, never fail encoding the answer
            stdout.write(escape_lone_surrogates(text).encode() + b"\n")
            stdout.flush()
    except (BrokenPipeError, KeyboardInterrupt):
        return 0  # the client went away (golangci-lint exited or was interrupted)


def serve_stdio() -> int:
    """Entry point of `gleak-sarif serve --stdio`. Returns the process exit status."""
    sys.stdout.flush()
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Anything else that writes to fd 1 (a print, a C extension) now lands on stderr.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        return serve(sys.stdin.buffer, protocol_out)
    finally:
        with contextlib.suppress(BrokenPipeError):
            protocol_out.close()
