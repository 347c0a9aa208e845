"""GitHub Actions workflow commands: `::error file=...,line=...,col=...,title=...::message`.

GitHub places an annotation by `file` relative to the repository root, so paths are written relative to
the scan's source root (the repository root unless --source-root says otherwise), not to the working
directory: a scan run from a sub-folder still annotates the right file.
"""

from __future__ import annotations

import os

from gleak_sarif.model import BaselineState, ScanResult, Severity
from gleak_sarif.report.printable import shown_path

_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.note: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation_path(path: str, source_root: str | None) -> str:
    path = shown_path(path)  # a name that is not UTF-8, or holds a control character, in one printable line
    if not source_root:
        return path
    absolute = os.path.abspath(path)
    root = os.path.abspath(source_root)
    if absolute != root and absolute.startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, root).replace(os.sep, "/")
    return path  # outside the root: GitHub cannot place it anyway, keep what the user sees


def render_github(result: ScanResult) -> str:
    out = []
    for finding in result.findings:
        if finding.suppression is not None or finding.baseline_state is BaselineState.absent:
            continue  # suppressed, or fixed since the baseline: nothing to point at
        title = f"{finding.rule_id} {finding.rule_name}"
        if finding.baseline_state in (BaselineState.unchanged, BaselineState.updated):
            title += " (in baseline)"  # with --fail-on new these do not fail the run
        span = finding.primary
        props = ",".join(
            [
                f"file={_escape_property(_annotation_path(span.path, result.source_root))}",
                f"line={span.start_line}",
                f"endLine={span.end_line}",
                f"col={span.start_column}",
                f"endColumn={span.end_column}",
                f"title={_escape_property(title)}",
            ]
        )
        out.append(f"::{_LEVEL[finding.severity]} {props}::{_escape_data(finding.message)}")
    for note in result.notifications:
        props = ""
        if note.path:
            props = f" file={_escape_property(_annotation_path(note.path, result.source_root))}"
            if note.line:
                props += f",line={note.line}"
        out.append(f"::warning{props}::{_escape_data(note.message)}")
    return "\n".join(out)
