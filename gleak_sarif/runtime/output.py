"""How a runtime result is shown: the text table, JSON paths relative to the source root, and a SARIF log
with no location outside the source root.

- Text: one row per cluster, named by where it blocks (``main.f.func1 (main.go:19)``: rows that differ only in
  the blocked line differ in the table) or, for the standard library's own goroutines, by their start
  functions; no table at all when nothing leaked.
- JSON: every path (runtime and static findings alike) relative to the source root when the file is in it;
  paths outside it (GOROOT, an unmapped build path) stay as they are.
- SARIF: GitHub code scanning shows locations as files of the repository. A finding whose primary location
  is outside the source root (a leak inside the standard library, a frame that could not be mapped) becomes a
  warning notification with the whole message (which names the static rule that finds the cause); related
  locations and code-flow steps outside the root lose their location and keep their text; notification paths
  outside the root move into the message.
"""

from __future__ import annotations

import io
import os

from gleak_sarif.model import Finding, Notification, NotificationKind, ScanResult, Severity, Span
from gleak_sarif.report.paths import relative_path, resolve_root
from gleak_sarif.runtime.rule import RULE_ID


def _display_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def growth_table(result: ScanResult, *, title: str, limit: int = 30, width: int = 200) -> str:
    """The short table (one row per cluster, sorted by growth) as plain text, then the notifications."""
    from rich.console import Console
    from rich.table import Table

    rows = [f for f in result.findings if f.rule_id == RULE_ID]
    text = ""
    if rows:
        table = Table(title=title, show_lines=False)
        for col in ("#", "cluster (blocked at)", "before", "after", "growth", "state", "wait (min)", "labels",
                    "started at"):
            table.add_column(col, overflow="fold", no_wrap=col in ("started at", "state", "labels"),
                             justify="right" if col in ("#", "before", "after", "growth") else "left")
        shown = rows if limit <= 0 else rows[:limit]
        for i, f in enumerate(shown, 1):
            p = f.properties
            lo, hi = p.get("wait-minutes-min"), p.get("wait-minutes-max", 0)
            wait = "-" if lo is None else (f"{lo}" if lo == hi else f"{lo}-{hi}")
            labels = "; ".join(f"{k}={','.join(v)}" for k, v in (p.get("labels") or {}).items()) or "-"
            where = f"{_display_path(f.primary.path)}:{f.primary.start_line}"
            if f.primary.end_byte == 0:
                where += " (outside the source root)" if p.get("creation-site-kind") == "library" else " (unmapped)"
            elif p.get("creation-site-kind") == "candidates":
                where += f" (or {', '.join(p.get('other-candidates', []))})"
            is_diff = p.get("evidence") == "diff"
            table.add_row(str(i), str(p.get("cluster-name", "-")),
                          str(p.get("goroutines-before", 0)) if is_diff else "-", str(p.get("goroutines", 0)),
                          f"{p.get('growth', 0):+d}" if is_diff else "-", str(p.get("state", "")), wait, labels,
                          where)
        buf = io.StringIO()
        Console(file=buf, width=width, no_color=True, highlight=False).print(table)
        text = buf.getvalue()
        if limit > 0 and len(rows) > limit:
            text += f"... {len(rows) - limit} more clusters (use --limit 0)\n"
        for i, f in enumerate(shown, 1):
            rule = f.properties.get("cause-rule")
            if f.properties.get("creation-site-kind") == "library":
                text += (f"#{i}: started by the standard library"
                         + (f"; {rule} finds the usual cause in the source" if rule else "")
                         + "; GODEBUG=tracebackancestors=5 in the program's environment shows the call that led"
                         " to it\n")
    else:
        text = "No leaking goroutine clusters.\n"
    for n in result.notifications:
        where = f"{n.path}:{n.line}: " if n.path and n.line else (f"{n.path}: " if n.path else "")
        text += f"{n.level.value}: {where}{n.message}\n"
    return text


def _relative(span: Span, root: str) -> Span:
    rel = relative_path(span.path, root) if span.end_byte > 0 or os.path.isabs(span.path) else None
    return span.model_copy(update={"path": rel}) if rel is not None else span


def relative_to_root(result: ScanResult, source_root: str | None) -> ScanResult:
    """A copy whose finding paths are relative to the source root wherever the file is inside it."""
    root = resolve_root(source_root)
    findings = []
    for f in result.findings:
        update: dict[str, object] = {
            "primary": _relative(f.primary, root),
            "related": [r.model_copy(update={"span": _relative(r.span, root)}) for r in f.related],
        }
        if f.code_flow:
            update["code_flow"] = [(_relative(s, root) if s is not None else None, t) for s, t in f.code_flow]
        if f.fix is not None:
            edits = [e.model_copy(update={"path": relative_path(e.path, root) or e.path}) for e in f.fix.edits]
            update["fix"] = f.fix.model_copy(update={"edits": edits})
        findings.append(f.model_copy(update=update))
    return result.model_copy(update={"findings": findings, "source_root": root})


def _inside(span: Span, root: str) -> bool:
    return span.end_byte > 0 and relative_path(span.path, root) is not None


def sarif_view(result: ScanResult, source_root: str | None) -> ScanResult:
    """A copy that names no file outside the source root (see the module docstring)."""
    root = resolve_root(source_root)
    findings: list[Finding] = []
    notes: list[Notification] = []
    for f in result.findings:
        if not _inside(f.primary, root):
            where = f"{f.primary.path}:{f.primary.start_line}" if f.primary.path else "no location"
            notes.append(Notification(
                kind=NotificationKind.runtime_input, level=Severity.warning,
                message=f"{f.rule_id} ({f.rule_name}), not in the source root ({where}): {f.message}"))
            continue
        related = [r for r in f.related if _inside(r.span, root)]
        dropped = [r for r in f.related if not _inside(r.span, root)]
        update: dict[str, object] = {"related": related}
        if dropped:
            update["message"] = f.message.rstrip() + " " + " ".join(
                f"(Outside the source root: {r.message}, {r.span.path}:{r.span.start_line}.)" for r in dropped)
        if f.code_flow:
            update["code_flow"] = [(s if s is not None and _inside(s, root) else None, t) for s, t in f.code_flow]
        findings.append(f.model_copy(update=update))
    for n in result.notifications:
        if n.path and relative_path(n.path, root) is None:
            where = f"{n.path}:{n.line}" if n.line else n.path
            notes.append(n.model_copy(update={"path": None, "line": None, "message": f"{where}: {n.message}"}))
        else:
            notes.append(n)
    return result.model_copy(update={"findings": findings, "notifications": notes})
