"""`gleak-sarif inventory`: every goroutine launch site as a table, JSON or CSV.

The launch sites are GL101's findings, so the rule language decides what a launch is (`go` statements,
errgroup/WaitGroup `Go` calls). GL101 also binds, when present, the evidence this report shows:

- ``FUNC`` / ``RECV`` / ``OUTER`` / ``LITERAL_SCOPE``: the enclosing function, method or func literal;
- ``RUNS``: what the goroutine runs;
- ``STOP``: a stop signal in the goroutine (ctx.Done, a done/quit receive, a returning select, a range
  over a channel, a context passed on), else ``NO_STOP``;
- ``WAIT``: a wait handle (wg.Done, a send or close on a channel, an errgroup/WaitGroup `Go`, a
  `wg.Add` right before the launch), else ``NO_WAIT``.

This module only formats those bindings; it does not look at Go source itself.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass

from gleak_sarif.config import ScanOptions
from gleak_sarif.model import Finding, Notification, ScanResult
from gleak_sarif.report.printable import shown_path

FORMATS = ("table", "json", "csv")
LAUNCH_RULE = "GL101"
COLUMNS = ("file", "line", "column", "function", "runs", "stop_signal", "wait_handle", "stop_evidence",
           "wait_evidence")

# "(s *Server[K, V])" -> "*Server"
_RECEIVER = re.compile(r"^\(\s*(?:[A-Za-z_]\w*\s+)?(\*?\s*[A-Za-z_][\w.]*)")


@dataclass(frozen=True)
class LaunchSite:
    file: str
    line: int
    column: int
    function: str  # "(*Server).Start", "main", "func literal in (*Server).Start"
    runs: str  # "s.loop", "worker", "func literal"
    stop_signal: bool
    wait_handle: bool
    stop_evidence: str  # the code that counts as the stop signal ("" when none)
    wait_evidence: str


def _receiver_type(text: str) -> str:
    match = _RECEIVER.match(text)
    if match is None:
        return text.strip("() ")
    return match.group(1).replace(" ", "")


def _function_name(name: str, receiver: str | None) -> str:
    if receiver is None:
        return name
    kind = _receiver_type(receiver)
    return f"({kind}).{name}" if kind.startswith("*") else f"{kind}.{name}"


def enclosing_function(bindings: dict[str, str]) -> str:
    """The enclosing function's display name from GL101's bindings."""
    receiver = bindings.get("RECV")
    if "FUNC" in bindings:
        return _function_name(bindings["FUNC"], receiver)
    if "OUTER" in bindings:
        return "func literal in " + _function_name(bindings["OUTER"], receiver)
    if "LITERAL_SCOPE" in bindings:
        return "func literal (package level)"
    return "?"


def runs_text(bindings: dict[str, str]) -> str:
    runs = bindings.get("RUNS", "?")
    # a func literal (`func() { ... }`) or a parenthesised one; GL101 truncates long texts
    if re.match(r"^\(?\s*func\s*[(\[]", runs):
        return "func literal"
    return runs


def site_of(finding: Finding) -> LaunchSite:
    bindings = finding.metavariables
    return LaunchSite(
        file=finding.primary.path,
        line=finding.primary.start_line,
        column=finding.primary.start_column,
        function=enclosing_function(bindings),
        runs=runs_text(bindings),
        stop_signal="STOP" in bindings,
        wait_handle="WAIT" in bindings,
        stop_evidence=bindings.get("STOP", ""),
        wait_evidence=bindings.get("WAIT", ""),
    )


def collect(paths: list[str], options: ScanOptions | None = None) -> tuple[list[LaunchSite], ScanResult]:
    """Scan ``paths`` with GL101 only and turn its findings into launch sites (in file/line order)."""
    from gleak_sarif.engine import Engine

    base = options or ScanOptions()
    engine = Engine(base.model_copy(update={"select": [LAUNCH_RULE], "ignore": []}))
    result = engine.scan(paths)
    sites = [site_of(f) for f in result.findings if f.rule_id == LAUNCH_RULE]
    return sites, result


def to_json(sites: list[LaunchSite], result: ScanResult) -> str:
    payload = {
        "launch_sites": [asdict(site) for site in sites],
        "summary": summary(sites),
        "files_scanned": result.files_scanned,
        "notifications": [_notification(n) for n in result.notifications],
    }
    from gleak_sarif.report.printable import escape_lone_surrogates

    return escape_lone_surrogates(json.dumps(payload, indent=2, ensure_ascii=False)) + "\n"


def _notification(note: Notification) -> dict[str, object]:
    return {"kind": note.kind.value, "level": note.level.value, "message": note.message,
            "path": note.path, "line": note.line}


def to_csv(sites: list[LaunchSite]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for site in sites:
        row = asdict(site)
        row["file"] = shown_path(site.file)
        writer.writerow(["yes" if row[c] is True else "no" if row[c] is False else row[c] for c in COLUMNS])
    return out.getvalue()


def summary(sites: list[LaunchSite]) -> dict[str, int]:
    return {
        "launch_sites": len(sites),
        "with_stop_signal": sum(s.stop_signal for s in sites),
        "with_wait_handle": sum(s.wait_handle for s in sites),
        "with_neither": sum(not s.stop_signal and not s.wait_handle for s in sites),
    }


def to_table(sites: list[LaunchSite], result: ScanResult, *, width: int | None = None,
             color: bool = False) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Goroutine launch sites", show_lines=False)
    table.add_column("file:line", overflow="fold")
    table.add_column("function", overflow="fold")
    table.add_column("runs", overflow="fold")
    table.add_column("stop signal", overflow="fold")
    table.add_column("wait handle", overflow="fold")
    for site in sites:
        table.add_row(
            f"{shown_path(site.file)}:{site.line}",
            site.function,
            site.runs,
            _cell(site.stop_signal, site.stop_evidence, color),
            _cell(site.wait_handle, site.wait_evidence, color),
        )
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 160, force_terminal=color, no_color=not color,
                      highlight=False)
    console.print(table)
    counts = summary(sites)
    console.print(
        f"{counts['launch_sites']} launch site{'' if counts['launch_sites'] == 1 else 's'} in "
        f"{result.files_scanned} file{'' if result.files_scanned == 1 else 's'}: "
        f"{counts['with_stop_signal']} with a stop signal, {counts['with_wait_handle']} with a wait handle, "
        f"{counts['with_neither']} with neither."
    )
    return buffer.getvalue()


def _cell(present: bool, evidence: str, color: bool) -> str:
    from rich.markup import escape

    if not present:
        return "[red]no[/red]" if color else "no"
    text = escape(" ".join(evidence.split()))
    return f"[green]yes[/green] {text}" if color else f"yes {text}"


def render(sites: list[LaunchSite], result: ScanResult, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return to_json(sites, result)
    if fmt == "csv":
        return to_csv(sites)
    if fmt == "table":
        return to_table(sites, result, color=color)
    raise ValueError(f"unknown inventory format {fmt!r} (use {', '.join(FORMATS)})")


def render_inventory(paths: list[str], fmt: str, output: str | None, options: ScanOptions | None = None) -> None:
    """The `inventory` command: print (or write to ``output``) every launch site of ``paths``, with the
    files chosen by ``options`` (from the option resolver)."""
    import sys

    from gleak_sarif.errors import ConfigError

    if fmt not in FORMATS:
        raise ConfigError(f"unknown inventory format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    sites, result = collect(paths, options)
    if output is not None:
        from gleak_sarif.report import write_output

        write_output(render(sites, result, fmt), output)
        return
    color = fmt == "table" and sys.stdout.isatty()
    sys.stdout.write(render(sites, result, fmt, color=color))
