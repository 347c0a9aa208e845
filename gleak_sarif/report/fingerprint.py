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
from collections.abc import Iterable, Iterator, Sequence
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
_FIRST_MOD = pow(_MOD, _BLOCK, 1 << 64)
_EOF = 65535
_TAB, _SPACE, _LF, _CR = 9, 32, 10, 13


def _utf16_units(text: str) -> Iterator[int]:
    """JavaScript `charCodeAt` over ``text``: UTF-16 code units, surrogate pairs split."""
    for ch in text:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            yield 0xD800 + (cp >> 10)
            yield 0xDC00 + (cp & 0x3FF)
        else:
            yield cp


def line_hashes(text: str) -> list[str]:
    """GitHub's rolling line hash for every line of ``text``; element i is for line i + 1."""
    window = [0] * _BLOCK
    line_numbers = [-1] * _BLOCK
    out: dict[int, str] = {}
    counts: dict[int, int] = {}
    hash_raw = 0
    index = 0
    line_number = 0
    line_start = True
    prev_cr = False

    def output() -> None:
        value = hash_raw
        n = counts.get(value, 0) + 1
        counts[value] = n
        out[line_numbers[index]] = f"{value:x}:{n}"
        line_numbers[index] = -1

    def process(current: int) -> None:
        nonlocal hash_raw, index, line_number, line_start, prev_cr
        if current in (_SPACE, _TAB) or (prev_cr and current == _LF):
            prev_cr = False
            return
        if current == _CR:
            current = _LF
            prev_cr = True
        else:
            prev_cr = False
        if line_numbers[index] != -1:
            output()
        if line_start:
            line_start = False
            line_number += 1
            line_numbers[index] = line_number
        if current == _LF:
            line_start = True
        begin = window[index]
        window[index] = current
        hash_raw = (_MOD * hash_raw + current - _FIRST_MOD * begin) & _MASK
        index = (index + 1) % _BLOCK

    for unit in _utf16_units(text):
        process(unit)
    process(_EOF)
    for _ in range(_BLOCK):
        if line_numbers[index] != -1:
            output()
        begin = window[index]
        window[index] = 0
        hash_raw = (_MOD * hash_raw - _FIRST_MOD * begin) & _MASK
        index = (index + 1) % _BLOCK
    return [out[i] for i in range(1, line_number + 1)]


def primary_location_line_hash(source: SourceFile, line: int) -> str | None:
    """The `primaryLocationLineHash` of 1-based ``line`` in ``source`` (None when out of range)."""
    hashes = line_hashes(source.text)
    if 1 <= line <= len(hashes):
        return hashes[line - 1]
    return None


class LineHashCache:
    """Hashes each file once, whatever the number of findings in it."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[SourceFile, list[str]]] = {}

    def get(self, source: SourceFile, line: int) -> str | None:
        entry = self._by_id.get(id(source))
        if entry is None or entry[0] is not source:
            entry = (source, line_hashes(source.text))
            self._by_id[id(source)] = entry
        hashes = entry[1]
        return hashes[line - 1] if 1 <= line <= len(hashes) else None


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
    differs between runs would close and reopen every alert.
    """
    real = _realpath(path)
    try:
        rel = os.path.relpath(real, root)
    except ValueError:  # another drive on Windows
        return None
    if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


def path_uri(path: str, root: str) -> tuple[str, bool]:
    """(URI, is_relative) for a file: a percent-encoded relative URI, or an absolute ``file://`` URI."""
    rel = relative_path(path, root)
    if rel is not None:
        return quote(rel, safe="/"), True
    real = _realpath(path).replace(os.sep, "/")
    if not real.startswith("/"):
        real = "/" + real
    return "file://" + quote(real, safe="/"), False


def root_uri(root: str) -> str:
    """``file:///abs/root/`` (SARIF requires originalUriBaseIds entries to end with a slash)."""
    p = root.replace(os.sep, "/")
    if not p.startswith("/"):
        p = "/" + p
    if not p.endswith("/"):
        p += "/"
    return "file://" + quote(p, safe="/")


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


def enclosing_declaration(source: SourceFile, line: int) -> str:
    """Header of the top-level declaration that contains 1-based ``line`` ('' when there is none)."""
    for no in range(min(line, source.line_count), 0, -1):
        raw = source.line(no)
        if raw[:1].isalpha():
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
