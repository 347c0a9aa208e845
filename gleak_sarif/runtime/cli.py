"""``gleak-sarif runtime``: diff / analyze goroutine dumps and watch a live pprof endpoint.

Exit codes follow ``scan``: 0 no finding, 1 findings (unless ``--exit-zero``), 2 usage error.
"""

from __future__ import annotations

import io
import os
import sys
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gleak_sarif.errors import UsageError
from gleak_sarif.model import ScanResult
from gleak_sarif.runtime.cluster import ClusterDelta

app = typer.Typer(
    help="Analyse goroutine dumps (pprof debug=1/2, runtime.Stack, goleak output, Go 1.26 goroutineleak "
    "profile) and report leaked goroutines (GLR001) at the go statement that started them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class RuntimeFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


SourceRootOpt = Annotated[
    str | None,
    typer.Option("--source-root", help="Repository the dump's program was built from (maps stack paths to "
                 "files; go.mod module paths are read from it). Default: current folder."),
]
FormatOpt = Annotated[RuntimeFormat, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", help="Write the report here (atomically).")]
WithStaticOpt = Annotated[bool, typer.Option("--with-static", help="Also run the static scan (with the "
                                             ".gleak.yml of the source root) on the files the leaked groups map "
                                             "to; static findings on a leaking go statement or blocked line are "
                                             "marked runtime-confirmed.")]
ExitZeroOpt = Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when leaks are found.")]
LimitOpt = Annotated[int, typer.Option("--limit", help="Rows in the text table (0: all).")]


def _check_file(path: str) -> None:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"dump file does not exist: {path}")


def _root(source_root: str | None) -> str:
    root = source_root or "."
    if not Path(root).is_dir():
        raise UsageError(f"--source-root is not a folder: {root}")
    return root


def _display_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def growth_table(result: ScanResult, *, title: str, limit: int = 30, width: int = 200) -> str:
    """The short rich table (one row per cluster, sorted by growth) as plain text."""
    from rich.console import Console
    from rich.table import Table

    rows = [f for f in result.findings if f.rule_id == "GLR001"]
    table = Table(title=title, show_lines=False)
    for col in ("#", "cluster (blocked in)", "before", "after", "growth", "state", "wait (min)", "labels",
                "go statement"):
        table.add_column(col, overflow="fold", no_wrap=col in ("go statement", "state", "labels"),
                         justify="right" if col in ("#", "before", "after", "growth") else "left")
    shown = rows if limit <= 0 else rows[:limit]
    for i, f in enumerate(shown, 1):
        p = f.properties
        related = f.related[0].message.rsplit(" in ", 1)[-1] if f.related else "-"
        lo, hi = p.get("wait-minutes-min"), p.get("wait-minutes-max", 0)
        wait = "-" if lo is None else (f"{lo}" if lo == hi else f"{lo}-{hi}")
        labels = "; ".join(f"{k}={','.join(v)}" for k, v in (p.get("labels") or {}).items()) or "-"
        where = f"{_display_path(f.primary.path)}:{f.primary.start_line}"
        if p.get("unmapped") and f.primary.end_byte == 0:
            where += " (unmapped)"
        is_diff = p.get("evidence") == "diff"
        table.add_row(str(i), related, str(p.get("goroutines-before", 0)) if is_diff else "-",
                      str(p.get("goroutines", 0)), f"{p.get('growth', 0):+d}" if is_diff else "-",
                      str(p.get("state", "")), wait, labels, where)
    buf = io.StringIO()
    Console(file=buf, width=width, no_color=True, highlight=False).print(table)
    text = buf.getvalue()
    if limit > 0 and len(rows) > limit:
        text += f"... {len(rows) - limit} more clusters (use --limit 0)\n"
    if not rows:
        text += "No leaking goroutine clusters.\n"
    for n in result.notifications:
        where = f"{n.path}:{n.line}: " if n.path and n.line else (f"{n.path}: " if n.path else "")
        text += f"{n.level.value}: {where}{n.message}\n"
    return text


def _emit(result: ScanResult, fmt: RuntimeFormat, output: str | None, *, title: str, limit: int,
          exit_zero: bool) -> None:
    from gleak_sarif.report import render, write_output

    if fmt is RuntimeFormat.text:
        text = growth_table(result, title=title, limit=limit)
        static = [f for f in result.findings if f.rule_id != "GLR001"]
        if static:
            confirmed = sum(1 for f in static if f.properties.get("runtime-confirmed"))
            text += f"\nStatic findings ({confirmed} runtime-confirmed):\n"
            text += render(result.model_copy(update={"findings": static, "notifications": []}), "text")
    else:
        text = render(result, fmt.value, source_root=result.source_root)
    if output:
        write_output(text, output)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if result.findings and not exit_zero:
        raise typer.Exit(1)


def _site_text(d: ClusterDelta) -> str:
    c = d.cluster.creator
    if d.cluster.site_kind == "go" and c is not None:
        return f"go statement {c.location} ({c.func})"
    entry = d.cluster.entry_frame
    return f"{entry[0]} ({entry[1]}:{entry[2]})" if entry else (c.func if c else "?")


def _with_static(result: ScanResult, root: str) -> None:
    from gleak_sarif.runtime.api import with_static

    with_static(result, root)


@app.command("diff")
def diff_cmd(
    before: Annotated[str, typer.Argument(help="Earlier dump (debug=2 preferred; debug=1 works).")],
    after: Annotated[str, typer.Argument(help="Later dump of the same program.")],
    source_root: SourceRootOpt = None,
    fmt: FormatOpt = RuntimeFormat.text,
    output: OutputOpt = None,
    min_minutes: Annotated[int, typer.Option("--min-minutes", help="Count only AFTER goroutines blocked at least this long "
                                             "(debug=2 prints minutes once a goroutine waited 1+ minute).")] = 0,
    min_growth: Annotated[int, typer.Option("--min-growth", help="Report clusters that grew by at least "
                                            "this many goroutines.")] = 1,
    persistent: Annotated[bool, typer.Option("--persistent", help="Also report clusters whose same "
                                             "goroutines stayed blocked without growing (worker pools do "
                                             "this normally).")] = False,
    with_static: WithStaticOpt = False,
    limit: LimitOpt = 30,
    exit_zero: ExitZeroOpt = False,
) -> None:
    """Goroutines that grew between two snapshots in blocking states (chan, select, sync waits)."""
    from gleak_sarif.runtime.api import diff_parsed
    from gleak_sarif.runtime.mapping import SourceMap
    from gleak_sarif.runtime.parse import parse_dump_file

    _check_file(before)
    _check_file(after)
    root = _root(source_root)
    _, result = diff_parsed(parse_dump_file(before), parse_dump_file(after), SourceMap(root),
                            min_growth=min_growth, persistent=persistent, min_minutes=min_minutes)
    if with_static:
        _with_static(result, root)
    _emit(result, fmt, output, title=f"Goroutine growth {before} -> {after}", limit=limit, exit_zero=exit_zero)


@app.command("analyze")
def analyze_cmd(
    dump: Annotated[str, typer.Argument(help="A goroutineleak profile, goleak output, or a debug=2 dump.")],
    source_root: SourceRootOpt = None,
    fmt: FormatOpt = RuntimeFormat.text,
    output: OutputOpt = None,
    min_minutes: Annotated[int, typer.Option("--min-minutes", help="For plain debug=2 dumps: report "
                                             "goroutines blocked at least this long.")] = 1,
    with_static: WithStaticOpt = False,
    limit: LimitOpt = 30,
    exit_zero: ExitZeroOpt = False,
) -> None:
    """What one dump says leaked: leak-profile entries, goleak entries, or long-blocked goroutines."""
    from gleak_sarif.runtime.api import analyze_parsed
    from gleak_sarif.runtime.mapping import SourceMap
    from gleak_sarif.runtime.parse import parse_dump_file

    _check_file(dump)
    root = _root(source_root)
    parsed = parse_dump_file(dump)
    _, result = analyze_parsed(parsed, SourceMap(root), min_minutes=min_minutes)
    if with_static:
        _with_static(result, root)
    _emit(result, fmt, output, title=f"Leaked goroutines in {dump} ({parsed.format.value})", limit=limit,
          exit_zero=exit_zero)


@app.command("watch")
def watch_cmd(
    url: Annotated[str, typer.Argument(help="pprof goroutine endpoint, e.g. "
                                       "http://127.0.0.1:6060/debug/pprof/goroutine?debug=2")],
    interval: Annotated[str, typer.Option("--interval", help="Time between snapshots (500ms, 30s, 1m).")] = "30s",
    count: Annotated[int, typer.Option("--count", help="Number of snapshots (at least 2).")] = 2,
    snapshot_dir: Annotated[str | None, typer.Option("--dir", help="Where to keep the snapshots. Default: "
                                                     "./gleak-snapshots/<UTC time>.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request: a total deadline for connecting, "
                                        "the headers and the whole body.")] = 10.0,
    max_bytes: Annotated[int, typer.Option("--max-bytes", help="Largest dump accepted.")] = 256 * 1024 * 1024,
    source_root: SourceRootOpt = None,
    fmt: FormatOpt = RuntimeFormat.text,
    output: OutputOpt = None,
    min_growth: Annotated[int, typer.Option("--min-growth")] = 1,
    min_minutes: Annotated[int, typer.Option("--min-minutes", help="Count only goroutines blocked at least this long.")] = 0,
    with_static: WithStaticOpt = False,
    limit: LimitOpt = 30,
    exit_zero: ExitZeroOpt = False,
) -> None:
    """Poll a pprof endpoint, keep the snapshots, print growth per cluster, report first -> last."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gleak_sarif.runtime.api import diff_parsed
    from gleak_sarif.runtime.capture import CaptureError, fetch, normalize_url, parse_interval
    from gleak_sarif.runtime.mapping import SourceMap
    from gleak_sarif.runtime.parse import parse_dump_bytes

    if count < 2:
        raise UsageError("--count must be at least 2 (growth needs two snapshots)")
    target = normalize_url(url)
    pause = parse_interval(interval)
    root = _root(source_root)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(snapshot_dir or Path("gleak-snapshots") / stamp)
    out_dir.mkdir(parents=True, exist_ok=True)
    smap = SourceMap(root)
    console = Console(stderr=True)
    dumps = []
    with Progress(TextColumn("[bold]snapshot"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=False) as progress:
        task = progress.add_task("", total=count)
        try:
            for i in range(count):
                if i:
                    time.sleep(pause)
                try:
                    data = fetch(target, timeout=timeout, max_bytes=max_bytes)
                except CaptureError as err:
                    raise UsageError(str(err)) from err
                binary = data[:2] == b"\x1f\x8b"  # the default (debug=0) form: gzipped protobuf
                path = out_dir / f"snapshot-{i + 1:04d}.{'pb.gz' if binary else 'txt'}"
                path.write_bytes(data)
                dump = parse_dump_bytes(data, str(path))
                dumps.append(dump)
                if i:
                    deltas, _ = diff_parsed(dumps[0], dump, smap, min_growth=min_growth, min_minutes=min_minutes)
                    progress.console.print(f"[{i + 1}/{count}] {dump.goroutine_count} goroutines; "
                                           f"{len(deltas)} growing cluster(s) since the first snapshot")
                    for d in deltas[:5]:
                        progress.console.print(f"    {d.growth:+6d}  {d.before} -> {d.after}  "
                                               f"{d.cluster.main_state or '?'}  {_site_text(d)}")
                progress.update(task, advance=1, description=f"{dump.goroutine_count} goroutines -> {path}")
        except KeyboardInterrupt:
            if len(dumps) < 2:
                raise typer.Exit(130) from None
            console.print(f"interrupted: reporting snapshot 1 -> {len(dumps)}")
    _, result = diff_parsed(dumps[0], dumps[-1], smap, min_growth=min_growth, min_minutes=min_minutes)
    if with_static:
        _with_static(result, root)
    _emit(result, fmt, output, title=f"Goroutine growth over {count} snapshots of {target} (kept in {out_dir})",
          limit=limit, exit_zero=exit_zero)
