"""Tolerant parsers for goroutine dumps: pprof debug=2 / runtime.Stack / tracebacks, pprof debug=1
(goroutine and goroutineleak profiles) and uber-go/goleak failure output.

One line-driven state machine handles all formats, so mixed input (a test log with a goleak failure,
a debug=1 profile pasted after a panic) is parsed piece by piece. Lines that fit no grammar become
``runtime-input`` notifications with their line number; parsing goes on with the next line.
Grammar: docs in /work/shared/research/runtime-formats.md, checked against Go 1.26.8 output.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from gleak_sarif.errors import UsageError
from gleak_sarif.model import Notification, NotificationKind, Severity
from gleak_sarif.runtime.cluster import debug1_state
from gleak_sarif.runtime.models import Ancestor, Dump, DumpFormat, Frame, Goroutine
from gleak_sarif.runtime.pprofproto import GZIP_MAGIC, ProfileError, gunzip, parse_profile

# A dump from a runaway service can be huge; past this many notifications we only count.
MAX_NOTIFICATIONS = 200
# Go prints at most 100 frames of a goroutine (the 50 innermost and the 50 outermost, with "...N frames
# elided..." between: tracebackInnerFrames / tracebackOuterFrames). A dump with more is not the runtime's;
# the parser keeps the same 100 so that one goroutine with millions of frames costs no more than Go's own.
MAX_FRAMES = 100
# Profile records (debug=1, debug=0) hold up to GODEBUG=profstackdepth frames: 128 by default, 1024 at most.
MAX_RECORD_FRAMES = 1024

_HEADER = re.compile(r"goroutine (\d+)((?: gp=0x[0-9a-f]+ m=(?:\d+|nil)(?: mp=0x[0-9a-f]+)?)?) \[(.*)$")
_FILE_LINE = re.compile(
    r"\t(.*):(\d+)(?: (\+0x[0-9a-f]+))?(?: fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x[0-9a-f]+)?\s*$"
)
_BARE = "\x00bare"  # marks a pending bare word (maybe a C function name) in place of call arguments
_CGO_LINE = re.compile(r"\t(?:(.*):(\d+) )?pc=0x[0-9a-f]+\s*$")
_CGO_FUNC = re.compile(r"non-Go function(?: at pc=0x[0-9a-f]+)?$|[A-Za-z_][\w.$@]*$")
_CREATED_BY = re.compile(r"created by (.+?)(?: in goroutine (\d+))?$")
_ELIDED = re.compile(r"\.\.\.(?:(\d+) frames elided|additional frames elided)\.\.\.$")
_ANCESTOR = re.compile(r"\[originating from goroutine (\d+)\]:$")
_PROFILE = re.compile(r"(\S+) profile: total (\d+)$")
_RECORD = re.compile(r"(\d+) @((?: 0x[0-9a-f]+)*)$")
_MINUTES = re.compile(r"(\d+) minutes?$")
_GOLEAK_ITEM = re.compile(r"[\[ ]?Goroutine (\d+) in state (.*), with (.*) on top of the stack:$")
_GOLEAK_START = re.compile(
    r"(?:goleak: Errors on (?:un)?successful test run: ?|(\s*)\S+\.go:\d+: )?found unexpected goroutines:$"
)
# Lines that surround dumps in real captures (go test output, "go run" exit status, panic and crash
# preambles, the register dump after a SIGQUIT); skipped without a notification.
_NOISE = re.compile(
    r"(?:=== (?:RUN|PAUSE|CONT|NAME)|--- (?:FAIL|PASS|SKIP)|PASS$|FAIL\b|ok\s|\?\s|exit status \d+"
    r"|panic: |\[recovered|fatal error: |SIGQUIT: |SIGABRT: |SIGSEGV: |PC=0x|signal arrived|\[signal "
    r"|(?:r[a-z0-9]{1,3}|rip|rflags|cs|fs|gs|eflags|eip|esp|ebp|pc|lr|sp|fault|trap|err|oldmask|addr)\s+0x[0-9a-f]+$"
    r"|-----|runtime: )"
)


def _unquote(text: str) -> str:
    """Decode a Go ``%q`` string body (without the quotes); undecodable escapes are kept literally."""
    if "\\" not in text:
        return text
    out = bytearray()
    i = 0
    simple = {
        "n": b"\n",
        "t": b"\t",
        "r": b"\r",
        "\\": b"\\",
        '"': b'"',
        "'": b"'",
        "a": b"\a",
        "b": b"\b",
        "f": b"\f",
        "v": b"\v",
    }
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 >= len(text):
            out += ch.encode()
            i += 1
            continue
        esc = text[i + 1]
        if esc in simple:
            out += simple[esc]
            i += 2
        elif esc == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        elif esc in "uU":
            width = 4 if esc == "u" else 8
            digits = text[i + 2 : i + 2 + width]
            if re.fullmatch(r"[0-9a-fA-F]+", digits) and len(digits) == width:
                out += chr(int(digits, 16)).encode("utf-8", "replace")
                i += 2 + width
            else:
                out += b"\\" + esc.encode()
                i += 2
        else:
            out += b"\\" + esc.encode()
            i += 2
    return out.decode("utf-8", "replace")


def _scan_token(text: str, i: int, stops: str) -> tuple[str, int]:
    """Read a quoted Go string or a bare word ending before one of ``stops``; return (value, next index)."""
    if i < len(text) and text[i] == '"':
        j = i + 1
        while j < len(text):
            if text[j] == "\\":
                j += 2
                continue
            if text[j] == '"':
                return _unquote(text[i + 1 : j]), j + 1
            j += 1
        raise ValueError("unterminated quoted label")
    j = i
    while j < len(text) and text[j] not in stops:
        j += 1
    return text[i:j].strip(), j


def parse_labels(text: str, start: int = 0) -> tuple[dict[str, str], int]:
    """Parse a label block ``{k: v, "k2": "v 2"}`` (Go 1.26/1.27 headers and debug=1 ``# labels:``).

    ``start`` points at ``{``. Returns the labels and the index after ``}``; raises ValueError.
    """
    if start >= len(text) or text[start] != "{":
        raise ValueError("label block must start with '{'")
    labels: dict[str, str] = {}
    i = start + 1
    while i < len(text):
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "}":
            return labels, i + 1
        key, i = _scan_token(text, i, ":}")
        if i >= len(text) or text[i] != ":":
            raise ValueError("label without ':'")
        i += 1
        while i < len(text) and text[i] == " ":
            i += 1
        value, i = _scan_token(text, i, ",}")
        labels[key] = value
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        if i < len(text) and text[i] == "}":
            return labels, i + 1
        raise ValueError("label block not closed")
    raise ValueError("label block not closed")


def parse_status(status: str, g: Goroutine) -> None:
    """Fill state, flags, minutes, lock and extras of ``g`` from the text inside ``[...]``."""
    parts = status.split(", ")
    reason = parts[0]
    # " (scan)" and " (leaked)" are flags wherever they appear; other parentheses belong to the reason.
    if " (leaked)" in reason:
        g.leaked = True
        reason = reason.replace(" (leaked)", "")
    if " (scan)" in reason:
        g.scan = True
        reason = reason.replace(" (scan)", "")
    g.state = reason.strip()
    for part in parts[1:]:
        part = part.strip()
        m = _MINUTES.match(part)
        if m:
            g.wait_minutes = int(m.group(1))
        elif part == "locked to thread":
            g.locked = True
        elif part == "(leaked)":
            g.leaked = True
        else:
            g.extra_status.append(part)  # synctest bubble/group and anything newer


def parse_header(rest: str, g: Goroutine) -> None:
    """Parse what follows ``[`` in a debug=2 header: status, labels (1.26 or 1.27 style) and ``:``.

    Raises ValueError when the header is cut off or malformed.
    """
    # Go 1.26 with GODEBUG=tracebacklabels=1 prints labels inside the brackets:
    #   [select (no cases) labels:{"http.route": "GET /leak"}]:
    # Go 1.27 prints them after:  [chan send] {http.route: "GET /leak"}:
    # Label values may contain "]", so find the label block before looking for the bracket.
    idx = rest.find(" labels:{")
    if idx >= 0:
        labels, end = parse_labels(rest, idx + len(" labels:"))
        tail = rest[end:]
        if not tail.startswith("]") or not tail.rstrip().endswith(":"):
            raise ValueError("header not closed")
        parse_status(rest[:idx], g)
        g.labels = labels
        return
    close = rest.find("]")
    if close < 0:
        raise ValueError("header not closed")
    parse_status(rest[:close], g)
    tail = rest[close + 1 :].rstrip()
    if tail == ":":
        return
    if tail.startswith(" {") and tail.endswith(":"):
        g.labels, _ = parse_labels(tail, 1)
        return
    raise ValueError("unexpected text after the status")


def parse_func_line(text: str) -> tuple[str, str] | None:
    """Split ``pkg.F(args)`` into (func, args); None when the line is not a call line."""
    if not text.endswith(")") or text.startswith((" ", "\t")):
        return None
    i = text.rfind("(")
    if i <= 0:
        return None
    return text[:i], text[i + 1 : -1]


class _Parser:
    """Line-driven parser; see the module docstring."""

    def __init__(self, path: str | None) -> None:
        self.dump = Dump(format=DumpFormat.empty, path=path)
        self.cur: Goroutine | None = None
        self.ancestor: Ancestor | None = None
        self.pending_func: tuple[str, str, int] | None = None  # (func, args, line) awaiting its file line
        self.pending_creator: tuple[str, int | None, int] | None = None
        self.formats: set[DumpFormat] = set()
        self.indent: str | None = None  # testing's 8-space indentation of a VerifyNone failure
        self.in_goleak = False
        self.profile_name = ""
        self.dropped = 0
        self.cut_frames = 0  # frames of the current goroutine dropped beyond MAX_FRAMES
        self.seen_ids: set[int] = set()
        self.repeated_ids = 0  # goroutine ids seen twice: dumps pasted one after another
        self.profile_headers = 0
        # 100,000 goroutines repeat a few dozen function names and paths: share one string each.
        self._strings: dict[str, str] = {}

    def intern(self, text: str) -> str:
        return self._strings.setdefault(text, text)

    # -- helpers -----------------------------------------------------------------------------
    def note(self, lineno: int, message: str) -> None:
        if len(self.dump.notifications) >= MAX_NOTIFICATIONS:
            self.dropped += 1
            return
        self.dump.notifications.append(
            Notification(
                kind=NotificationKind.runtime_input,
                level=Severity.warning,
                message=message,
                path=self.dump.path,
                line=lineno,
            )
        )

    def flush_pending(self, lineno: int) -> None:
        if self.pending_func is not None:
            func, args, at = self.pending_func
            self.pending_func = None
            if args == _BARE:
                # A bare word taken for a symbolised C function but not followed by "\tpc=": any other line.
                if not _NOISE.match(func):
                    self.note(at, f"unrecognised line: {func[:120]!r}")
            else:
                self.note(at, f"frame without a file line: {func}")
        if self.pending_creator is not None:
            self.note(self.pending_creator[2], "'created by' line without a file line")
            self.pending_creator = None

    def add_frame(self, frames: list[Frame], frame: Frame, limit: int = MAX_FRAMES) -> None:
        if len(frames) >= limit:
            del frames[limit // 2]  # keep the innermost half and the latest (outermost so far) half
            self.cut_frames += 1
        frames.append(frame)

    def end_block(self, lineno: int) -> None:
        self.flush_pending(lineno)
        g = self.cur
        if g is not None and self.cut_frames:
            g.elided = max(g.elided, 0) + self.cut_frames
            limit = MAX_FRAMES if g.id is not None else MAX_RECORD_FRAMES
            what = f"goroutine {g.id}" if g.id is not None else "profile record"
            self.note(g.line, f"{what}: {self.cut_frames} frames beyond the {limit} Go writes were dropped "
                      f"(the {limit // 2} innermost and the {limit // 2} outermost are kept)")
        self.cut_frames = 0
        self.cur = None
        self.ancestor = None

    def start(self, g: Goroutine, fmt: DumpFormat) -> None:
        self.end_block(g.line)
        if g.id is not None:
            if g.id in self.seen_ids:
                self.repeated_ids += 1
            else:
                self.seen_ids.add(g.id)
        self.cur = g
        g.source = fmt
        self.formats.add(fmt)
        self.dump.goroutines.append(g)

    # -- main loop ---------------------------------------------------------------------------
    def feed(self, lines: Iterable[str]) -> Dump:
        lineno = 0
        # The model is acyclic; the cyclic GC would rescan millions of new objects for nothing.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for lineno, raw in enumerate(lines, 1):
                self.line(raw.rstrip("\r\n"), lineno)
        finally:
            if was_enabled:
                gc.enable()
        self.end_block(lineno + 1)
        if self.dropped:
            self.dump.notifications.append(
                Notification(
                    kind=NotificationKind.runtime_input,
                    message=f"{self.dropped} more unparsable lines not listed",
                    path=self.dump.path,
                )
            )
        self.finish()
        return self.dump

    def line(self, text: str, lineno: int) -> None:
        if self.indent is not None:
            if text.startswith(self.indent):
                text = text[len(self.indent) :]
            elif text.strip():
                self.indent = None
        if not text or text.isspace():
            # A blank line ends a goroutine block (debug=2 and debug=1 alike).
            self.end_block(lineno)
            return
        first = text[0]
        if first == "\t":
            self.file_line(text, lineno)
            return
        if self.pending_func is not None or self.pending_creator is not None:
            self.flush_pending(lineno)
        if first == "#":
            self.debug1_line(text, lineno)
            return
        if text.startswith("goroutine "):
            if text.startswith("goroutine profile: "):
                self.profile_line(text, lineno)
            else:
                self.header(text, lineno)
            return
        if text.startswith("created by "):
            self.creator(text, lineno)
            return
        if self.cur is not None and text[-1] == ")" and first not in " [":
            # The common case first: a frame's function line.
            call = parse_func_line(text)
            if call is not None:
                self.pending_func = (call[0], call[1], lineno)
                return
        if self.cur is not None and _CGO_FUNC.match(text):
            if text.startswith("non-Go function at pc="):
                self.add_frame(self.cur.frames, Frame(func="non-Go function", file="", line=0))
            else:
                self.pending_func = (text, _BARE, lineno)  # a symbolised C function; its "\tpc=" line follows
            return
        if text.startswith("..."):
            m = _ELIDED.match(text)
            if m and self.cur is not None:
                self.cur.elided = int(m.group(1)) if m.group(1) else -1
                return
        if text.startswith("[originating from goroutine "):
            m = _ANCESTOR.match(text)
            if m and self.cur is not None:
                self.ancestor = Ancestor(goroutine_id=int(m.group(1)))
                self.cur.ancestors.append(self.ancestor)
                return
        if first.isdigit():
            m = _RECORD.match(text)
            if m:
                self.record(m, lineno)
                return
        if "Goroutine " in text and "on top of the stack:" in text:
            m = _GOLEAK_ITEM.match(text.lstrip("["))
            if m is None:
                m = _GOLEAK_ITEM.match(text)
            if m:
                self.goleak_item(m, lineno)
                return
        if text in ("]", " ]"):
            # The end of goleak's "[...]" list.
            self.end_block(lineno)
            self.in_goleak = False
            return
        if "found unexpected goroutines:" in text:
            m = _GOLEAK_START.search(text)
            if m:
                self.end_block(lineno)
                self.in_goleak = True
                self.formats.add(DumpFormat.goleak)
                if m.group(1) is not None or re.match(r"\s+\S+\.go:\d+: ", text):
                    # testing.T.Error indents continuation lines by 8 spaces.
                    self.indent = " " * 8
                return
        if " profile: total " in text and self.profile_line(text, lineno):
            return
        call = parse_func_line(text)
        if call is not None and (self.cur is not None):
            self.pending_func = (call[0], call[1], lineno)
            return
        if _NOISE.match(text):
            return
        self.note(lineno, f"unrecognised line: {text[:120]!r}")

    def profile_line(self, text: str, lineno: int) -> bool:
        m = _PROFILE.match(text)
        if m is None:
            self.note(lineno, f"malformed profile header: {text[:120]!r}")
            return False
        self.end_block(lineno)
        self.profile_headers += 1
        self.profile_name = m.group(1)
        self.dump.profile = m.group(1)
        self.dump.total = int(m.group(2))
        if m.group(1) in ("goroutine", "goroutineleak"):
            # A profile with no record (an empty leak profile: nothing leaked) is still that profile.
            self.formats.add(DumpFormat.leak_debug1 if m.group(1) == "goroutineleak" else DumpFormat.debug1)
        return True

    # -- debug=2 -----------------------------------------------------------------------------
    def header(self, text: str, lineno: int) -> None:
        m = _HEADER.match(text)
        if m is None:
            self.end_block(lineno)
            self.note(lineno, f"malformed goroutine header: {text[:120]!r}")
            return
        gid = int(m.group(1))
        cur = self.cur
        # goleak before v1.3.0 repeats the header inside each element: merge with the element.
        if cur is not None and cur.source is DumpFormat.goleak and cur.id == gid and not cur.frames:
            with contextlib.suppress(ValueError):
                parse_header(m.group(3), cur)
            return
        g = Goroutine(id=gid, state="", line=lineno, sysinfo=m.group(2).strip())
        try:
            parse_header(m.group(3), g)
        except ValueError as exc:
            self.note(lineno, f"truncated or malformed goroutine header ({exc}): {text[:120]!r}")
            # Keep what the status says up to the cut so the goroutine is not lost.
            parse_status(m.group(3).split("]")[0], g)
        self.start(g, DumpFormat.goleak if self.in_goleak else DumpFormat.debug2)

    def creator(self, text: str, lineno: int) -> None:
        m = _CREATED_BY.match(text)
        if m is None or self.cur is None:
            self.note(lineno, f"'created by' outside a goroutine: {text[:120]!r}")
            return
        self.pending_creator = (m.group(1), int(m.group(2)) if m.group(2) else None, lineno)

    def file_line(self, text: str, lineno: int) -> None:
        m = _FILE_LINE.match(text)
        if m is None:
            if (
                text.strip() == "goroutine running on other thread; stack unavailable"
                and self.cur is not None
            ):
                self.cur.stack_unavailable = True
                return
            cm = _CGO_LINE.match(text)
            if cm and self.pending_func is not None and self.cur is not None:
                # cgo frame from a symboliser: "name" or "non-Go function", then "\t[file:line ]pc=0x...".
                self.add_frame(self.cur.frames, Frame(func=self.pending_func[0], file=cm.group(1) or "",
                                                      line=int(cm.group(2) or 0)))
                self.pending_func = None
                return
            self.flush_pending(lineno)
            self.note(lineno, f"unrecognised file line: {text[:120]!r}")
            return
        file, line, offset = m.group(1), int(m.group(2)), m.group(3) or ""
        if self.pending_creator is not None:
            func, gid, _ = self.pending_creator
            self.pending_creator = None
            it = self.intern
            frame = Frame(func=it(func), file=it(file), line=line, offset=it(offset))
            if self.ancestor is not None:
                self.ancestor.created_by = frame
            elif self.cur is not None:
                self.cur.created_by = frame
                self.cur.creator_id = gid
            return
        if self.pending_func is None or self.cur is None:
            self.note(lineno, f"file line without a function line: {text[:120]!r}")
            return
        func, args, _ = self.pending_func
        self.pending_func = None
        it = self.intern
        frame = Frame(func=it(func), file=it(file), line=line, args=args, offset=it(offset))
        if self.ancestor is not None:
            self.add_frame(self.ancestor.frames, frame)
        else:
            self.add_frame(self.cur.frames, frame)

    # -- goleak -----------------------------------------------------------------------------
    def goleak_item(self, m: re.Match[str], lineno: int) -> None:
        if not self.in_goleak:
            # An element without the "found unexpected goroutines:" line (cut-off log): still goleak.
            self.in_goleak = True
        g = Goroutine(id=int(m.group(1)), state="", line=lineno)
        parse_status(m.group(2), g)  # goleak copies everything between "[" and "]", minutes included
        self.start(g, DumpFormat.goleak)

    # -- debug=1 -----------------------------------------------------------------------------
    def record(self, m: re.Match[str], lineno: int) -> None:
        fmt = DumpFormat.leak_debug1 if self.profile_name == "goroutineleak" else DumpFormat.debug1
        g = Goroutine(
            id=None, state="", count=int(m.group(1)), line=lineno, leaked=fmt is DumpFormat.leak_debug1
        )
        self.start(g, fmt)

    def debug1_line(self, text: str, lineno: int) -> None:
        g = self.cur
        if g is None or g.id is not None:
            self.note(lineno, f"debug=1 line outside a record: {text[:120]!r}")
            return
        if text.startswith("# labels: "):
            try:
                g.labels, _ = parse_labels(text, len("# labels: "))
            except ValueError as exc:
                self.note(lineno, f"bad label line ({exc})")
            return
        parts = [p for p in re.split(r"\t+", text) if p]
        # ["#", "0x4e67fd", "main.leakSend.func1+0x1d", "/path/main.go:15"]
        if len(parts) >= 4 and parts[0] == "#" and parts[1].startswith("0x"):
            func, _, off = parts[2].rpartition("+0x")
            if not func:
                func, off = parts[2], ""
            file, _, line = " ".join(parts[3:]).strip().rpartition(":")
            if file and line.isascii() and line.isdigit():
                self.add_frame(
                    g.frames,
                    Frame(func=self.intern(func), file=self.intern(file), line=int(line),
                          offset=self.intern(f"+0x{off}" if off else "")),
                    MAX_RECORD_FRAMES,
                )
                return
        if len(parts) == 3 and parts[0] == "#" and parts[1].startswith("0x"):
            # A PC the runtime could not symbolise (cgo, stripped binaries): keep the function only.
            self.add_frame(g.frames, Frame(func=parts[2], file="", line=0), MAX_RECORD_FRAMES)
            return
        self.note(lineno, f"unrecognised debug=1 line: {text[:120]!r}")

    # -- result ------------------------------------------------------------------------------
    def finish(self) -> None:
        d = self.dump
        for g in d.goroutines:
            if g.id is None and not g.state:
                g.state = debug1_state(g)
        leaked = any(g.leaked for g in d.goroutines if g.source is DumpFormat.debug2)
        if leaked:
            self.formats.discard(DumpFormat.debug2)
            self.formats.add(DumpFormat.leak_debug2)
            for g in d.goroutines:
                if g.source is DumpFormat.debug2:
                    g.source = DumpFormat.leak_debug2
        # The strongest claim wins when input is mixed: goleak > leak profile > plain dumps.
        order = [
            DumpFormat.goleak,
            DumpFormat.leak_debug2,
            DumpFormat.leak_debug1,
            DumpFormat.debug2,
            DumpFormat.debug1,
        ]
        d.format = next((f for f in order if f in self.formats), DumpFormat.empty)
        if self.repeated_ids or self.profile_headers > 1:
            what = (f"{self.repeated_ids} goroutine ids appear more than once" if self.repeated_ids
                    else f"{self.profile_headers} profile headers")
            d.notifications.append(Notification(
                kind=NotificationKind.runtime_input, level=Severity.warning, path=d.path,
                message=f"{what}: the input holds several dumps one after another, and the counts add them "
                        "up; pass snapshots separately ('runtime diff BEFORE AFTER')"))
        if len(self.formats) > 1:
            names = ", ".join(sorted(f.value for f in self.formats))
            d.notifications.append(
                Notification(
                    kind=NotificationKind.runtime_input,
                    level=Severity.note,
                    message=f"mixed input: {names}",
                    path=d.path,
                )
            )


def parse_dump(text: str, path: str | None = None) -> Dump:
    """Parse any supported dump format (auto-detected, mixed input allowed)."""
    return _Parser(path).feed(_lines(text))


def _lines(text: str) -> Iterator[str]:
    """Lines split on "\n" only, lazily: a list of every line of a 60 MB dump would double the peak
    memory (io.StringIO would copy the text at 4 bytes per character)."""
    start = 0
    find = text.find
    while True:
        nl = find("\n", start)
        if nl < 0:
            if start < len(text):
                yield text[start:]
            return
        yield text[start:nl]
        start = nl + 1


class DumpError(UsageError):
    """The input is not a goroutine dump or profile (exit code 2, with a hint on how to fetch one)."""


_FETCH_HINT = ("fetch a dump with /debug/pprof/goroutine?debug=2 (or the goroutineleak profile); debug=1 and "
               "the default protobuf form (debug=0) are read too")


def parse_dump_bytes(data: bytes, path: str | None = None) -> Dump:
    """Any supported input: a text dump (maybe gzipped) or a debug=0 protobuf profile (gzipped or not).

    Raises DumpError when the bytes are none of these (an HTML error page, a CPU profile, an empty file)."""
    where = path or "input"
    if data[:2] == GZIP_MAGIC:
        try:
            data = gunzip(data)
        except ProfileError as err:
            raise DumpError(f"{where}: gzip data that cannot be read: {err}", hint=_FETCH_HINT) from err
    if not _is_text(data[:4096]):
        try:
            return parse_profile(data, path)
        except ProfileError as err:
            raise DumpError(f"{where}: binary data that is not a goroutine profile ({err})", hint=_FETCH_HINT) from err
    # Dumps are ASCII plus label values and paths; never fail on odd bytes.
    dump = parse_dump(data.decode("utf-8", "replace"), path)
    if not dump.recognised:
        what = "the file is empty" if not data.strip() else "no goroutine header, profile header or goleak report"
        raise DumpError(f"{where}: not a goroutine dump or profile ({what})", hint=_FETCH_HINT)
    return dump


def _is_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start >= len(head) - 3  # a character cut at the end of the sample
    return True


def parse_dump_file(path: str | Path) -> Dump:
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise DumpError(f"cannot read {path}: {err.strerror or err}") from err
    return parse_dump_bytes(data, str(path))
