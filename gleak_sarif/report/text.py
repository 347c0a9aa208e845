"""Human output: `path:line:col: GLxxx message [name]`, a code frame, related locations, a summary;
and `--statistics` (one line per rule, most frequent first)."""

from __future__ import annotations

import json
from collections import Counter

from gleak_sarif.model import BaselineState, Finding, ScanResult, Severity
from gleak_sarif.report.printable import shown_path

_RESET = "\x1b[0m"
_COLORS = {
    Severity.error: "\x1b[1;31m",
    Severity.warning: "\x1b[1;33m",
    Severity.note: "\x1b[1;36m",
}
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"


class _Lines:
    """Source lines for code frames, read once per file."""

    def __init__(self) -> None:
        self.cache: dict[str, list[bytes]] = {}

    def get(self, path: str, line: int) -> bytes | None:
        if path not in self.cache:
            try:
                with open(path, "rb") as handle:
                    self.cache[path] = handle.read().split(b"\n")
            except (OSError, ValueError):  # ValueError: a NUL byte in a path taken from a dump
                self.cache[path] = []
        lines = self.cache[path]
        return lines[line - 1].rstrip(b"\r") if 0 < line <= len(lines) else None


def _frame(lines: _Lines, finding: Finding, color: bool) -> list[str]:
    span = finding.primary
    raw = lines.get(span.path, span.start_line)
    if raw is None:
        return []
    text = raw.decode("utf-8", "replace").replace("\t", "    ")
    start = min(span.start_column - 1, max(len(raw) - 1, 0))  # a stale position: a caret on the last character
    while 0 < start < len(raw) and raw[start] & 0xC0 == 0x80:
        start -= 1  # the start of that UTF-8 character
    prefix = raw[:start].decode("utf-8", "replace").replace("\t", "    ")
    width = span.end_column - span.start_column if span.end_line == span.start_line else len(raw) - start
    end = min(start + max(width, 1), len(raw))  # never past the line's end (a span over several lines)
    while end < len(raw) and raw[end] & 0xC0 == 0x80:
        end += 1
    marked = raw[start:end].decode("utf-8", "replace")
    gutter = f"{span.start_line:>5} | "
    caret = " " * len(gutter) + " " * len(prefix) + "^" * max(1, len(marked.replace("\t", "    ")))
    if color:
        caret = _COLORS[finding.severity] + caret + _RESET
        gutter = _DIM + gutter + _RESET
    return [gutter + text, caret]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render_text(result: ScanResult, *, color: bool = False, show_suppressed: bool = False,
                only_new: bool = False, texts: dict[str, bytes] | None = None) -> str:
    """``only_new``: with a baseline, list only the findings that are new against it (the others are
    counted in the summary). Findings absent since the baseline are never listed: they are not in the code.
    ``texts``: contents for code frames instead of the files on disk (standard input's text)."""
    lines = _Lines()
    for path, data in (texts or {}).items():
        lines.cache[path] = data.split(b"\n")
    out: list[str] = []
    present = [f for f in result.findings if f.baseline_state is not BaselineState.absent]
    shown = [f for f in present if (show_suppressed or f.suppression is None)
             and (not only_new or f.baseline_state in (None, BaselineState.new))]
    for finding in shown:
        span = finding.primary
        severity = finding.severity.value
        rule = finding.rule_id
        if color:
            severity = _COLORS[finding.severity] + severity + _RESET
            rule = _BOLD + rule + _RESET
        suffix = ""
        if finding.suppression is not None:
            suffix = f" (suppressed by {finding.suppression.directive})"
        if finding.baseline_state is not None:
            suffix += f" [{finding.baseline_state.value}]"
        out.append(
            f"{shown_path(span.path)}:{span.start_line}:{span.start_column}: {rule} {finding.message} "
            f"[{finding.rule_name}] {severity}{suffix}"
        )
        out.extend(_frame(lines, finding, color))
        for related in finding.related:
            where = f"{shown_path(related.span.path)}:{related.span.start_line}:{related.span.start_column}"
            out.append(
                f"        {_DIM if color else ''}note: {related.message} ({where}){_RESET if color else ''}"
            )
        if finding.fix is not None:
            out.append(f"        fix available: {finding.fix.description}")
        out.append("")
    for note in result.notifications:
        where = shown_path(note.path) if note.path else ""
        if note.path and note.line:
            where += f":{note.line}"
        out.append(
            f"{where}: {note.level.value}: {note.message} [{note.kind.value}]"
            if where
            else f"{note.level.value}: {note.message} [{note.kind.value}]"
        )
    reported = [f for f in present if f.suppression is None]
    listed = [f for f in reported if not only_new or f.baseline_state in (None, BaselineState.new)]
    counts = Counter(f.rule_id for f in listed)
    suppressed = sum(1 for f in present if f.suppression is not None)
    word = "new finding" if only_new else "finding"
    summary = f"Found {_plural(len(listed), word)} in {_plural(result.files_scanned, 'file')}"
    if counts:
        summary += " (" + ", ".join(f"{rule}: {n}" for rule, n in sorted(counts.items())) + ")"
    if only_new and len(reported) > len(listed):
        summary += f"; {len(reported) - len(listed)} in the baseline (--show-unchanged lists them)"
    if suppressed:
        summary += f"; {suppressed} suppressed"
    absent = len(result.findings) - len(present)
    if absent:
        summary += f"; {absent} fixed since the baseline"
    if result.notifications:
        summary += f"; {_plural(len(result.notifications), 'notification')}"
    out.append(summary + ".")
    return "\n".join(out)


def statistics(findings: list[Finding]) -> list[tuple[int, str, str, int]]:
    """(count, rule ID, rule name, how many have a fix) per rule, most frequent first (then by ID)."""
    counts: Counter[str] = Counter()
    fixable: Counter[str] = Counter()
    names: dict[str, str] = {}
    for finding in findings:
        counts[finding.rule_id] += 1
        fixable[finding.rule_id] += finding.fix is not None
        names[finding.rule_id] = finding.rule_name
    return sorted(((n, rule, names[rule], fixable[rule]) for rule, n in counts.items()),
                  key=lambda row: (-row[0], row[1]))


def render_statistics(findings: list[Finding], fmt: str = "text") -> str:
    """`--statistics` like ruff's: `count  ID  [*] name`; `[*]` marks rules whose findings can be fixed
    (`--fix`), `[-]` rules where only some can."""
    rows = statistics(findings)
    if fmt == "json":
        return json.dumps([{"code": rule, "name": name, "count": n, "fixable": fixed}
                           for n, rule, name, fixed in rows], indent=2)
    if not rows:
        return ""
    width = len(str(rows[0][0]))
    id_width = max(len(row[1]) for row in rows)
    out = []
    for n, rule, name, fixed in rows:
        mark = "[*]" if fixed == n else "[-]" if fixed else "   "
        out.append(f"{n:>{width}}\t{rule:<{id_width}}\t{mark} {name}")
    return "\n".join(out)
