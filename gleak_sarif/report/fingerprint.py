"""Fingerprints: GitHub's `primaryLocationLineHash` and gleak's own `gleakFingerprint/v1`.

`primaryLocationLineHash` is what GitHub's upload action computes when a result has none (codeql-action's
`fingerprints.ts`). We compute it ourselves so that API uploads (which skip that step) and `upload-sarif`
agree. Algorithm, as facts: for every line, a rolling polynomial hash (multiplier 37, arithmetic wrapping at
64 bits) over the next 100 characters that are not a space or a tab, starting at that line's first character
and running on into the following lines; line endings CR, LF and CRLF all count as one LF; after the last
character comes a sentinel 65535, then zeros. Characters are UTF-16 code units of the file decoded as UTF-8.
The value is the unsigned hash in lower-case hex without leading zeros, then `:n` where n is how many times
that hash value has been output so far in the file (1-based).

`gleakFingerprint/v1` identifies a finding across commits, for baselines and merge. It must survive lines
inserted or removed above the finding and edits elsewhere in the file, and change when the flagged code
itself changes. It is the first 32 hex digits of SHA-256 over, NUL-separated:

    "gleak/v1", rule id, the file path relative to the source root (POSIX),
    the enclosing top-level declaration's header, the primary line's code,

followed by `:n`, the 1-based occurrence of that digest among the run's findings in report order (two
identical `go worker(ch)` lines in one function stay distinct). The *enclosing top-level declaration* is the
nearest line at or above the finding that starts in column 1 with a letter (`func`, `var`, `type`, `const`,
...): gofmt puts every top-level declaration there and nothing else, so no parse is needed. Its header is
the text before the first `{`. The *code* of a line is its text without a trailing `//` comment (so adding
`//nolint:gleak` keeps the fingerprint) and without any whitespace (so re-indenting keeps it too).
Not covered: renaming the enclosing function, moving the file, or editing the flagged line give a new
fingerprint (the finding shows as new, its old self as absent).
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import accumulate
from urllib.parse import quote

from gleak_sarif.model import BaselineState, Finding
from gleak_sarif.report.columns import SourceCache, SourceFile

GLEAK_FINGERPRINT_KEY = "gleakFingerprint/v1"
# Reserved key in Finding.properties: what `baseline.py` keeps of an absent result's original SARIF
# (partialFingerprints, columnKind). The SARIF writer consumes it and never writes it to result.properties.
BASELINE_PROPERTY = "gleak.baseline"
LINE_HASH_KEY = "primaryLocationLineHash"

_BLOCK = 100
_MOD = 37
_MASK = (1 << 64) - 1
_EOF = 65535
# Many lines at once with big integers instead of a Python loop over every character: the windows of the
# lines are cut from the unit stream (one slice per line), and for each of the 100 positions k the k-th
# units of all windows are packed into one integer, one slot per line, and added in times 37**(99-k) mod
# 2**64. A slot sums 100 products below 2**16 * 2**64 (2**8 * 2**64 for one-byte units), so it stays
# below 2**87 (2**79) and never carries into its neighbour; its low 64 bits are the line's hash.
# tests/test_fingerprint_fast.py checks it against GitHub's per-character loop.
_WEIGHTS = [pow(_MOD, _BLOCK - 1 - k, 1 << 64) for k in range(_BLOCK)]
_SLOT = {1: 10, 2: 11}  # bytes per slot, by bytes per unit
_SLOT_HASH = {1: struct.Struct(">2xQ"), 2: struct.Struct(">3xQ")}  # a slot's low 64 bits
_MIN_BATCH = 256  # lines hashed at least per batch (LineHashCache)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _window_values(units: bytes, width: int, starts: list[int]) -> list[int]:
    """sum(unit[a + k] * 37**(99 - k) for k < 100) mod 2**64 for every start a (``units`` zero-padded)."""
    span = width * _BLOCK
    slot = _SLOT[width]
    windows = b"".join([units[width * a : width * a + span] for a in starts])
    packed = bytearray(slot * len(starts))
    total = 0
    for k, weight in enumerate(_WEIGHTS):
        if width == 1:
            packed[slot - 1 :: slot] = windows[k::span]
        else:
            packed[slot - 2 :: slot] = windows[2 * k :: span]  # high byte of unit k of every window
            packed[slot - 1 :: slot] = windows[2 * k + 1 :: span]
        total += int.from_bytes(packed, "big") * weight
    return [v for (v,) in _SLOT_HASH[width].iter_unpack(total.to_bytes(slot * len(starts), "big"))]


class _LineHasher:
    """GitHub's line hashes of one text, computed on demand up to the last line asked for.

    The hashed stream: GitHub's loop drops spaces and tabs and reads CR LF, CR and LF alike as one LF (an
    LF right after a CR is skipped; a space between them ends the pair, hence CR LF first), then comes the
    sentinel 65535, then zeros. A line starts at the first unit after an LF (the file at unit 0), which
    may be the next LF or the sentinel; its hash is that of the 100 units from there (the value GitHub's
    rolling hash holds when it outputs the line). `:n` counts equal hashes among the lines up to this one,
    so lines are hashed in order, but never past the last one asked for.
    """

    def __init__(self, text: str) -> None:
        stream = text.replace("\r\n", "\n").replace("\r", "\n").replace(" ", "").replace("\t", "")
        try:
            units, self._width = stream.encode("latin-1"), 1
        except UnicodeEncodeError:  # UTF-16 code units; lone surrogates as JavaScript sees them
            units, self._width = stream.encode("utf-16-be", errors="surrogatepass"), 2
        self._end = len(units) // self._width  # the sentinel's unit (added per line: see upto)
        self._units = units + bytes(self._width * _BLOCK)
        # a character above U+FFFF is two units: string positions after it shift by one
        astral = self._width == 2 and len(units) != 2 * len(stream)
        self._astral = [m.start() for m in _ASTRAL.finditer(stream)] if astral else []
        # string position where each line starts: after each LF
        self._starts = list(accumulate((len(part) + 1 for part in stream.split("\n")[:-1]), initial=0))
        self._counts: dict[int, int] = {}
        self.hashes: list[str] = []

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def upto(self, line: int) -> list[str]:
        """Hash the lines up to 1-based ``line`` (or all there are); returns every hash so far."""
        starts = self._starts[len(self.hashes) : max(line, 0)]
        if not starts:
            return self.hashes
        if self._astral:
            starts = [a + bisect_left(self._astral, a) for a in starts]
        counts, out, end = self._counts, self.hashes, self._end
        for a, value in zip(starts, _window_values(self._units, self._width, starts), strict=True):
            if end - a < _BLOCK:  # the sentinel falls in this line's window
                value = (value + _EOF * _WEIGHTS[end - a]) & _MASK
            n = counts[value] = counts.get(value, 0) + 1
            out.append(f"{value:x}:{n}")
        return out


def line_hashes(text: str) -> list[str]:
    """GitHub's rolling line hash for every line of ``text``; element i is for line i + 1.

    The value is the unsigned 64-bit hash in hex, then `:n`, how many lines up to this one have that hash.
    """
    hasher = _LineHasher(text)
    return hasher.upto(hasher.line_count)


def set_line_hashes(data: bytes, findings: Sequence[Finding]) -> None:
    """Give each finding placed in the file whose bytes are ``data`` its primary line's hash (see
    Finding.line_hash)."""
    if not findings:
        return
    hasher = _LineHasher(SourceFile(data).text)
    hashes = hasher.upto(max(f.primary.start_line for f in findings))
    for finding in findings:
        line = finding.primary.start_line
        finding.line_hash = hashes[line - 1] if 1 <= line <= len(hashes) else None


def primary_location_line_hash(source: SourceFile, line: int) -> str | None:
    """The `primaryLocationLineHash` of 1-based ``line`` in ``source`` (None when out of range)."""
    return LineHashCache().get(source, line)


class LineHashCache:
    """Hashes each file once, and only up to the last line asked for.

    Holds the hashers of the few files asked for last (findings come sorted by path): a hasher keeps its
    file's unit stream, and a run with findings in hundreds of files would otherwise keep all of them.
    A file asked for again after that is hashed again, with the same result.
    """

    _KEEP = 8

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[SourceFile, _LineHasher]] = {}

    def get(self, source: SourceFile, line: int) -> str | None:
        entry = self._by_id.pop(id(source), None)
        if entry is None or entry[0] is not source:
            entry = (source, _LineHasher(source.text))
            while len(self._by_id) >= self._KEEP:
                del self._by_id[next(iter(self._by_id))]
        self._by_id[id(source)] = entry  # most recent last
        if line < 1:
            return None
        hasher = entry[1]
        hashes = hasher.hashes
        if line > len(hashes):
            # Findings come in line order: doubling keeps the batches few (each costs 100 big-int steps)
            # while hashing at most twice the lines up to the last finding.
            hashes = hasher.upto(max(line, 2 * len(hashes), _MIN_BATCH))
        return hashes[line - 1] if line <= len(hashes) else None


# ---------------------------------------------------------------------------------------------- paths


def resolve_root(source_root: str | None) -> str:
    """The absolute, symlink-resolved source root (the working directory when none is given)."""
    return os.path.realpath(source_root or os.getcwd())


def _realpath(path: str) -> str:
    try:
        return os.path.realpath(path)
    except ValueError:  # a NUL byte (a path read from a goroutine dump): no such file, keep it as written
        return os.path.abspath(path)


def relative_path(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` in POSIX form, or None when it lies outside ``root``.

    Both are resolved through symlinks first: GitHub resolves paths inside the checkout, and a path that
    differs between runs would close and reopen every alert. A link in the root to a file outside it is
    reported under the link's own path.
    """
    for candidate in (_realpath(path), os.path.abspath(path)):
        # the resolved path first; a link inside the root to a file outside it (`--follow-symlinks`) is
        # reported under its own path in the tree, not under the outside target's absolute path
        try:
            rel = os.path.relpath(candidate, root)
        except ValueError:  # another drive on Windows
            continue
        if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir or os.path.isabs(rel):
            continue
        return rel.replace(os.sep, "/")
    return None


def path_uri(path: str, root: str) -> tuple[str, bool]:
    """(URI, is_relative) for a file: a percent-encoded relative URI, or an absolute ``file://`` URI."""
    rel = relative_path(path, root)
    if rel is not None:
        return _quote(rel), True
    real = _realpath(path).replace(os.sep, "/")
    if not real.startswith("/"):
        real = "/" + real
    return "file://" + _quote(real), False


def _quote(path: str) -> str:
    """Percent-encode a path's bytes (RFC 3986, as SARIF asks): a name that is not UTF-8 (read with
    surrogateescape) becomes `%FF`, not an error."""
    return quote(os.fsencode(path), safe="/")


def root_uri(root: str) -> str:
    """``file:///abs/root/`` (SARIF requires originalUriBaseIds entries to end with a slash)."""
    p = root.replace(os.sep, "/")
    if not p.startswith("/"):
        p = "/" + p
    if not p.endswith("/"):
        p += "/"
    return "file://" + _quote(p)


# ---------------------------------------------------------------------------------------- gleak print


def strip_line_comment(line: str) -> str:
    """``line`` without a trailing Go `//` comment (string, rune and raw-string literals respected)."""
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch in "\"'":
            i += 1
            while i < n and line[i] != ch:
                i += 2 if line[i] == "\\" else 1
            i += 1
            continue
        if ch == "`":
            close = line.find("`", i + 1)
            if close == -1:
                return line
            i = close + 1
            continue
        if ch == "/" and line.startswith("//", i):
            return line[:i]
        i += 1
    return line


def _code_of(line: str) -> str:
    return "".join(strip_line_comment(line).split())


_ASCII_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def enclosing_declaration(source: SourceFile, line: int) -> str:
    """Header of the top-level declaration that contains 1-based ``line`` ('' when there is none)."""
    data, starts = source.data, source.line_starts
    size = len(data)
    for no in range(min(line, source.line_count), 0, -1):
        first = starts[no - 1]
        if first < size and data[first] in _ASCII_LETTERS:  # what bytes.isalpha() accepts
            raw = source.line(no)
            text = raw.decode("utf-8", errors="replace")
            return " ".join(strip_line_comment(text).split("{", 1)[0].split())
    return ""


def gleak_digest(rule_id: str, rel_path: str, source: SourceFile | None, line: int) -> str:
    """The occurrence-free part of `gleakFingerprint/v1` (see the module docstring)."""
    decl = code = ""
    if source is not None:
        decl = enclosing_declaration(source, line)
        code = _code_of(source.line(line).decode("utf-8", errors="replace"))
    h = hashlib.sha256()
    for part in ("gleak/v1", rule_id, rel_path, decl, code):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def number_occurrences(digests: Iterable[str]) -> list[str]:
    """Append `:n`, the 1-based occurrence of each digest in order."""
    seen: dict[str, int] = {}
    out = []
    for d in digests:
        seen[d] = seen.get(d, 0) + 1
        out.append(f"{d}:{seen[d]}")
    return out


def gleak_fingerprints(
    findings: Sequence[Finding], source_root: str | None, sources: SourceCache | None = None
) -> list[str]:
    """`gleakFingerprint/v1` of every finding (same order), shared by SARIF output and baselines.

    Occurrence numbers count in report order (`Finding.sort_key`), whatever the order of ``findings``.
    Absent baseline findings keep the fingerprint they had in the baseline.
    """
    root = resolve_root(source_root)
    sources = sources or SourceCache()
    order = sorted(range(len(findings)), key=lambda i: findings[i].sort_key())
    digests: dict[int, str] = {}
    uris: dict[str, str] = {}
    for i in order:
        f = findings[i]
        if stored_fingerprints(f):
            continue
        uri = uris.get(f.primary.path)
        if uri is None:
            uri = uris[f.primary.path] = path_uri(f.primary.path, root)[0]
        digests[i] = gleak_digest(f.rule_id, uri, sources.get(f.primary.path), f.primary.start_line)
    numbered = dict(zip(digests, number_occurrences(digests.values()), strict=True))
    out = []
    for i, f in enumerate(findings):
        stored = stored_fingerprints(f)
        out.append(stored.get(GLEAK_FINGERPRINT_KEY, "") if stored else numbered[i])
    return out


def stored_fingerprints(finding: Finding) -> dict[str, str]:
    """The partialFingerprints an absent baseline finding carried in the baseline ({} for others)."""
    if finding.baseline_state != BaselineState.absent:
        return {}
    stored = finding.properties.get(BASELINE_PROPERTY)
    if not isinstance(stored, dict):
        return {}
    prints = stored.get("partialFingerprints")
    return {str(k): str(v) for k, v in prints.items()} if isinstance(prints, dict) else {}
