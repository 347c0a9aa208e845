"""``gleak-sarif runtime``: diff / analyze goroutine dumps and watch a live pprof endpoint.

Exit codes follow ``scan``: 0 no finding, 1 findings (unless ``--exit-zero``), 2 usage error.
"""

from __future__ import annotations

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


def _emit(result: ScanResult, fmt: RuntimeFormat, output: str | None, *, title: str, limit: int,
          exit_zero: bool) -> None:
    from gleak_sarif.report import render, write_output
    from gleak_sarif.runtime.output import growth_table, relative_to_root, sarif_view

    if fmt is RuntimeFormat.text:
        text = growth_table(result, title=title, limit=limit)
        static = [f for f in result.findings if f.rule_id != "GLR001"]
        if static:
            confirmed = sum(1 for f in static if f.properties.get("runtime-confirmed"))
            text += f"\nStatic findings ({confirmed} runtime-confirmed):\n"
            text += render(result.model_copy(update={"findings": static, "notifications": []}), "text")
    elif fmt is RuntimeFormat.json:
        text = render(relative_to_root(result, result.source_root), "json")
    else:
        # GitHub shows locations as repository files: nothing outside the source root becomes one.
        text = render(sarif_view(result, result.source_root), fmt.value, source_root=result.source_root)
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
