"""Human output: `path:line:col: GLxxx message [name]`, a code frame, related locations, a summary."""

from __future__ import annotations

from collections import Counter

from gleak_sarif.model import Finding, ScanResult, Severity

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
    prefix = raw[: span.start_column - 1].decode("utf-8", "replace").replace("\t", "    ")
    width = (
        span.end_column - span.start_column
        if span.end_line == span.start_line
        else len(raw) - span.start_column + 1
    )
    marked = raw[span.start_column - 1 : span.start_column - 1 + max(width, 1)].decode("utf-8", "replace")
    gutter = f"{span.start_line:>5} | "
    caret = " " * len(gutter) + " " * len(prefix) + "^" * max(1, len(marked.replace("\t", "    ")))
    if color:
        caret = _COLORS[finding.severity] + caret + _RESET
        gutter = _DIM + gutter + _RESET
    return [gutter + text, caret]


def render_text(result: ScanResult, *, color: bool = False, show_suppressed: bool = False) -> str:
    lines = _Lines()
    out: list[str] = []
    shown = [f for f in result.findings if show_suppressed or f.suppression is None]
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
            f"{span.path}:{span.start_line}:{span.start_column}: {rule} {finding.message} "
            f"[{finding.rule_name}] {severity}{suffix}"
        )
        out.extend(_frame(lines, finding, color))
        for related in finding.related:
            where = f"{related.span.path}:{related.span.start_line}:{related.span.start_column}"
            out.append(
                f"        {_DIM if color else ''}note: {related.message} ({where}){_RESET if color else ''}"
            )
        if finding.fix is not None:
            out.append(f"        fix available: {finding.fix.description}")
        out.append("")
    for note in result.notifications:
        where = note.path or ""
        if note.path and note.line:
            where += f":{note.line}"
        out.append(
            f"{where}: {note.level.value}: {note.message} [{note.kind.value}]"
            if where
            else f"{note.level.value}: {note.message} [{note.kind.value}]"
        )
    counts = Counter(f.rule_id for f in result.findings if f.suppression is None)
    suppressed = sum(1 for f in result.findings if f.suppression is not None)
    total = sum(counts.values())
    summary = f"Found {total} finding{'s' if total != 1 else ''} in {result.files_scanned} files"
    if counts:
        summary += " (" + ", ".join(f"{rule}: {n}" for rule, n in sorted(counts.items())) + ")"
    if suppressed:
        summary += f"; {suppressed} suppressed"
    if result.notifications:
        summary += (
            f"; {len(result.notifications)} notification{'s' if len(result.notifications) != 1 else ''}"
        )
    out.append(summary + ".")
    return "\n".join(out)
