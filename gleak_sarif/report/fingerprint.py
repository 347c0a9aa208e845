"""Fingerprints: gleak's own `gleakFingerprint/v1` (GitHub's `primaryLocationLineHash`: gleak_sarif/linehash.py).

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
from collections.abc import Iterable, Sequence

from gleak_sarif.model import BaselineState, Finding
from gleak_sarif.report.paths import path_uri, resolve_root
from gleak_sarif.report.sources import SourceCache, SourceFile

GLEAK_FINGERPRINT_KEY = "gleakFingerprint/v1"
# Reserved key in Finding.properties: what `baseline.py` keeps of an absent result's original SARIF
# (partialFingerprints, columnKind). The SARIF writer consumes it and never writes it to result.properties.
BASELINE_PROPERTY = "gleak.baseline"
LINE_HASH_KEY = "primaryLocationLineHash"  # in partialFingerprints (gleak_sarif/linehash.py)


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
