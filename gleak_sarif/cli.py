"""Command line: a thin typer layer over the engine, reporters, bridge and runtime analysis.

Exit codes (docs/exit-codes.md): 0 no finding at or above the fail level, 1 findings that fail,
2 usage or configuration error, 3 internal error.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import sys
from enum import Enum
from typing import Annotated, Any, NoReturn

import typer

from gleak_sarif import __version__, interrupts

EXIT_OK, EXIT_FINDINGS, EXIT_CONFIG, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process SIGTERM killed


class Terminated(BaseException):
    """SIGTERM arrived (raised by the handler `main` installs)."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated

app = typer.Typer(
    name="gleak-sarif",
    help="Find goroutine leaks in Go code and goroutine dumps; report them as text, JSON or SARIF.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
rules_app = typer.Typer(help="List, explain and test rules.", no_args_is_help=True)
cache_app = typer.Typer(help="Manage the scan cache.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(cache_app, name="cache")


def _flags_take_no_value() -> None:
    """typer's help shows a `<bool>` type after every flag (its own --help too), as if it took a value:
    show nothing there for flags."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return "" if self.is_flag and not self.count else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class FailLevel(str, Enum):
    error = "error"
    warning = "warning"
    note = "note"
    none = "none"


class FailOn(str, Enum):
    findings = "findings"  # any unsuppressed finding at or above --fail-level
    new = "new"  # only findings that are new against --baseline


class ColorMode(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"gleak-sarif {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """gleak-sarif: goroutine-leak linter for Go."""


def _resolve(paths: list[str], **flags: Any) -> Any:
    """The command's options from `.gleak.yml` (found upward from the first path) and its flags: one
    resolver for every command (gleak_sarif/options.py)."""
    from gleak_sarif.options import Flags, resolve

    return resolve(Flags(**flags), search_from=paths[0] if paths else ".")


# Options that several commands take, declared once so that they read and mean the same everywhere.
ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="Project config (default: .gleak.yml found upward).")
]
NoConfigOpt = Annotated[bool, typer.Option("--no-config", help="Ignore .gleak.yml files.")]
RulesOpt = Annotated[list[str] | None, typer.Option("--rules", help="Extra rule file or folder (repeatable).")]
NoBuiltinOpt = Annotated[bool, typer.Option("--no-builtin-rules", help="Use only --rules.")]
SelectOpt = Annotated[
    list[str] | None, typer.Option("--select", help="Rule IDs or prefixes (GL2); ALL for every rule.")
]
IgnoreOpt = Annotated[list[str] | None, typer.Option("--ignore", help="Rule IDs or prefixes to skip.")]
ExcludeOpt = Annotated[
    list[str] | None, typer.Option("--exclude", help="Glob of paths to skip (repeatable).")
]
IncludeVendorOpt = Annotated[bool, typer.Option("--include-vendor", help="Scan vendor/ folders.")]
IncludeTestdataOpt = Annotated[bool, typer.Option("--include-testdata", help="Scan testdata/ folders.")]
IncludeGeneratedOpt = Annotated[
    bool, typer.Option("--include-generated", help="Scan files marked `Code generated ... DO NOT EDIT.`")
]
IncludeHiddenOpt = Annotated[bool, typer.Option("--include-hidden", help="Scan hidden (dot) files and folders.")]
TestsOpt = Annotated[
    bool | None,
    typer.Option("--tests/--no-tests", help="Scan `_test.go` files (default: yes, or `tests:` in .gleak.yml)."),
]
StrictTestsOpt = Annotated[
    bool | None,
    typer.Option("--strict-tests/--no-strict-tests",
                 help="Report findings in `_test.go` files at the rule's own level, not at its lower "
                      "`severity-in-tests` level (default: no, or `strict-tests:` in .gleak.yml)."),
]
GitignoreOpt = Annotated[
    bool,
    typer.Option("--respect-gitignore/--no-respect-gitignore",
                 help="In a git work tree, skip the files and folders git ignores."),
]
FollowSymlinksOpt = Annotated[
    bool, typer.Option("--follow-symlinks", help="Scan .go links that point outside the scanned tree.")
]


@app.command()
def scan(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Go files or folders (`./...` works); `-` reads one file from standard input. "
                            "Default: ."),
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.text,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write the report here (atomically).")
    ] = None,
    sarif_output: Annotated[
        str | None, typer.Option("--sarif-output", help="Also write SARIF to this file.")
    ] = None,
    rules: RulesOpt = None,
    no_builtin_rules: NoBuiltinOpt = False,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0: one per CPU).")] = 0,
    shard: Annotated[
        str | None,
        typer.Option("--shard", metavar="K/N",
                     help="Scan only part K of N of the packages (a fixed split by folder, for a CI matrix; "
                          "join the parts' SARIF with `gleak-sarif merge`)."),
    ] = None,
    fail_level: Annotated[
        FailLevel | None,
        typer.Option("--fail-level", help="Lowest severity that fails (exit 1). Default: .gleak.yml's, else warning."),
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on", help="findings: any finding fails; new: only findings new against --baseline."
        ),
    ] = FailOn.findings,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", help="Earlier SARIF from gleak-sarif: mark results new/unchanged/updated/absent."
        ),
    ] = None,
    show_unchanged: Annotated[
        bool, typer.Option("--show-unchanged", help="With --fail-on new: also list findings already in the baseline.")
    ] = False,
    new_from_rev: Annotated[
        str | None,
        typer.Option("--new-from-rev", metavar="REV",
                     help="Report only findings on lines changed since the git revision REV."),
    ] = None,
    new_from_merge_base: Annotated[
        str | None,
        typer.Option("--new-from-merge-base", metavar="REV",
                     help="Report only findings on lines changed since the merge base of REV and HEAD."),
    ] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the available fixes in place; report what is left.")] = False,
    diff: Annotated[
        bool, typer.Option("--diff", help="Print the fixes as a unified diff, change nothing (exit 1 if any).")
    ] = False,
    statistics: Annotated[
        bool, typer.Option("--statistics", help="Print one line per rule with its count, most frequent first.")
    ] = False,
    stdin_filename: Annotated[
        str | None,
        typer.Option("--stdin-filename", metavar="PATH",
                     help="With `-`: the path of the file read from standard input (siblings are read "
                          "from its folder)."),
    ] = None,
    show_suppressed: Annotated[
        bool, typer.Option("--show-suppressed", help="Show suppressed findings in text output.")
    ] = False,
    category: Annotated[
        str | None, typer.Option("--category", help="SARIF automationDetails category.")
    ] = None,
    source_root: Annotated[
        str | None,
        typer.Option(
            "--source-root", help="Folder SARIF URIs are relative to (default: the repository root)."
        ),
    ] = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    exclude: ExcludeOpt = None,
    respect_gitignore: GitignoreOpt = True,
    tests: TestsOpt = None,
    strict_tests: StrictTestsOpt = None,
    include_vendor: IncludeVendorOpt = False,
    include_testdata: IncludeTestdataOpt = False,
    include_generated: IncludeGeneratedOpt = False,
    include_hidden: IncludeHiddenOpt = False,
    follow_symlinks: FollowSymlinksOpt = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read or write the scan cache.")
    ] = False,
    max_file_size: Annotated[
        int, typer.Option("--max-file-size", help="Skip files larger than this (MiB).")
    ] = 20,
    file_timeout: Annotated[
        float,
        typer.Option("--file-timeout", min=0.1,
                     help="CPU seconds of parsing and rule evaluation per file (time spent waiting for a core "
                          "on a loaded machine does not count); a file that takes longer is reported (warning) "
                          "with the rules it missed."),
    ] = 60.0,
    color: Annotated[
        ColorMode, typer.Option("--color", help="Colour in text output (auto: on a terminal, or FORCE_COLOR).")
    ] = ColorMode.auto,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Scan Go source for goroutine leaks."""
    from gleak_sarif.engine.discover import display_path
    from gleak_sarif.errors import UsageError
    from gleak_sarif.model import BaselineState, NotificationKind, Severity
    from gleak_sarif.report import check_output_paths, render, write_output

    paths = paths or ["."]
    from_stdin = paths == ["-"]
    if "-" in paths and not from_stdin:
        raise UsageError("`-` (standard input) must be the only path")
    if from_stdin and not stdin_filename:
        raise UsageError("reading standard input needs --stdin-filename PATH", hint="the path names the file "
                         "in findings and says which folder its package siblings are in")
    if stdin_filename and not from_stdin:
        raise UsageError("--stdin-filename goes with the path `-` (standard input)")
    if new_from_rev and new_from_merge_base:
        raise UsageError("give --new-from-rev or --new-from-merge-base, not both")
    if statistics and fmt not in (OutputFormat.text, OutputFormat.json):
        raise UsageError("--statistics prints text or json", hint="use --format text or --format json")
    if fail_on is FailOn.new and not baseline:
        raise UsageError("--fail-on new needs --baseline", hint="pass the SARIF of an earlier scan")
    if shard is not None and from_stdin:
        raise UsageError("--shard splits the scanned folders; it does not apply to standard input")
    from gleak_sarif.engine.shard import parse_shard

    shard_spec = parse_shard(shard) if shard is not None else None
    assert stdin_filename is not None or not from_stdin
    where = [stdin_filename] if from_stdin and stdin_filename else paths
    options = _resolve(
        where,
        rules=rules or [],
        builtin_rules=not no_builtin_rules,
        select=_split(select),
        ignore=_split(ignore),
        jobs=jobs,
        config=config,
        no_config=no_config,
        exclude=exclude or [],
        include_vendor=include_vendor,
        include_testdata=include_testdata,
        include_generated=include_generated,
        include_hidden=include_hidden,
        follow_symlinks=follow_symlinks,
        fail_level=fail_level.value if fail_level else None,
        use_cache=not no_cache,
        max_file_size_mib=max_file_size,
        tests=tests,
        strict_tests=strict_tests,
        respect_gitignore=respect_gitignore,
        file_timeout_seconds=file_timeout,
        shard=shard_spec,
    )
    check_output_paths([output, sarif_output], paths)  # before the work: refuse to clobber inputs
    rev = new_from_rev or new_from_merge_base

    def changed_lines() -> Any:
        if not rev:
            return None
        from gleak_sarif.gitdiff import changed_since

        return changed_since(rev, merge_base=bool(new_from_merge_base), near=where[0])

    stdin_source = sys.stdin.buffer.read() if from_stdin else b""
    engine_box: list[Any] = []  # the Engine, once one was needed (a cache-only scan needs none)

    def run_scan(changed: Any) -> Any:
        if from_stdin:
            assert stdin_filename is not None
            if not engine_box:
                from gleak_sarif.engine.scan import Engine

                engine_box.append(Engine(options))
                _end_of_start_up()
            result = engine_box[0].scan_source(stdin_filename, stdin_source)
        else:
            result = _scan(options, paths, engine_box, quiet)
        if changed is not None:
            result.findings = [f for f in result.findings if changed.covers(f)]
        if source_root:
            result.source_root = os.path.abspath(source_root)
        return result

    changed = changed_lines()
    result = run_scan(changed)
    # reports show standard input's text, not the file of that name on disk
    texts = {display_path(stdin_filename): stdin_source} if from_stdin and stdin_filename else None

    if diff or (fix and from_stdin):
        changes = _print_fixes(result, from_stdin=from_stdin, stdin_source=stdin_source, as_diff=diff)
        if diff:
            raise typer.Exit(EXIT_FINDINGS if changes else EXIT_OK)
    if fix and not from_stdin:
        result = _fix_in_place(result, lambda: run_scan(changed_lines()))
    if baseline:
        from gleak_sarif.baseline import apply_baseline

        result.findings.extend(apply_baseline(result, baseline))

    only_new = fail_on is FailOn.new and not show_unchanged
    use_color = False
    if statistics:
        from gleak_sarif.report.text import render_statistics

        listed = [f for f in result.findings if f.suppression is None
                  and f.baseline_state is not BaselineState.absent
                  and (not only_new or f.baseline_state in (None, BaselineState.new))]
        text = render_statistics(listed, fmt.value)
    else:
        use_color = fmt is OutputFormat.text and (color is ColorMode.always or (
            color is ColorMode.auto and output is None and _color_wanted(sys.stdout)))
        text = render(
            result,
            fmt.value,
            color=use_color,
            show_suppressed=show_suppressed,
            category=category,
            source_root=result.source_root,
            only_new=only_new,
            texts=texts,
        )
    out = sys.stderr if fix and from_stdin else None  # the fixed source went to stdout
    if output:
        write_output(text, output)
    elif text:
        typer.echo(text, err=out is not None, color=use_color)  # (click strips colour off a pipe otherwise)
    if sarif_output:
        write_output(render(result, "sarif", category=category, source_root=result.source_root, texts=texts),
                     sarif_output)

    if options.fail_level == "none":
        raise typer.Exit(EXIT_OK)
    threshold = Severity(options.fail_level).rank
    failing = [
        f
        for f in result.findings
        if f.suppression is None
        and f.severity.rank >= threshold
        and f.baseline_state is not BaselineState.absent
        and (fail_on is FailOn.findings or f.baseline_state is BaselineState.new)
    ]
    # A file that timed out or crashed a worker was not (fully) checked: its findings are unknown, so the
    # run fails like a finding of the notification's level would (a timeout is a warning).
    incomplete = [n for n in result.notifications
                  if n.kind in (NotificationKind.timeout, NotificationKind.worker_crash)
                  and n.level.rank >= threshold]
    if incomplete:
        typer.echo(f"gleak-sarif: {len(incomplete)} file{'s' if len(incomplete) != 1 else ''} not fully checked "
                   f"({', '.join(sorted({n.kind.value for n in incomplete}))}); failing at --fail-level "
                   f"{options.fail_level}", err=True)
    raise typer.Exit(EXIT_FINDINGS if failing or incomplete else EXIT_OK)


def _color_wanted(stream: Any) -> bool:
    """`--color auto`: FORCE_COLOR (set, not empty or 0) turns colour on, NO_COLOR off, else a terminal."""
    force = os.environ.get("FORCE_COLOR")
    if force is not None and force not in ("", "0"):
        return True
    if os.environ.get("NO_COLOR"):
        return False
    return bool(stream.isatty())


def _scan(options: Any, paths: list[str], engine_box: list[Any], quiet: bool) -> Any:
    from gleak_sarif.engine.scan import Engine, ScanMemo, scan_from_cache

    # Every file unchanged since a scan with the same rules and options: no rule is loaded or compiled.
    memo = ScanMemo(list(paths))
    result = scan_from_cache(options, paths, memo)
    if result is None:
        if not engine_box:
            engine_box.append(Engine(options))
            _end_of_start_up()
        result = _scan_with_progress(engine_box[0], paths, memo, show=not quiet and sys.stderr.isatty())
    _end_of_start_up()
    return result


def _print_fixes(result: Any, *, from_stdin: bool, stdin_source: bytes, as_diff: bool) -> bool:
    """`--diff`: the unified diff of every fix on stdout (nothing written). `--fix` on standard input:
    the fixed source on stdout (what editors replace the buffer with). Whether anything would change."""
    from gleak_sarif.fix import FixPlan, apply_to_source, fixable, plan_fixes, unified_diff

    if from_stdin:
        found = fixable(result.findings)  # computed on these very bytes: no file to compare with
        plan = FixPlan(files=[apply_to_source(found[0].primary.path, stdin_source, found)] if found else [])
    else:
        plan = plan_fixes(result.findings)
    for path, why in plan.refused:
        typer.echo(f"gleak-sarif: {path}: {why}", err=True)
    files = sum(1 for p in plan.files if p.changed)
    if as_diff:
        sys.stdout.write(unified_diff(plan))
        sys.stdout.flush()
        typer.echo(f"Would fix {_count(plan.applied, 'finding')} in {_count(files, 'file')}.", err=True)
    else:
        sys.stdout.buffer.write(plan.files[0].fixed if plan.files else stdin_source)
        sys.stdout.flush()
        if plan.applied:
            typer.echo(f"Fixed {_count(plan.applied, 'finding')}.", err=True)
    return files > 0


MAX_FIX_ROUNDS = 8


def _fix_in_place(result: Any, rescan: Any) -> Any:
    """Apply fixes, scan again, repeat while fixes were left out for overlapping others (at most
    MAX_FIX_ROUNDS times); return the last scan: what is left."""
    from gleak_sarif.fix import plan_fixes, write_plan

    fixed = 0
    files: set[str] = set()
    for _ in range(MAX_FIX_ROUNDS):
        plan = plan_fixes(result.findings)
        write_plan(plan)
        for path, why in plan.refused:
            typer.echo(f"gleak-sarif: {path}: {why}", err=True)
        changed = [p for p in plan.files if p.changed]
        if not changed:
            break
        fixed += sum(len(p.applied) for p in changed)
        files.update(p.path for p in changed)
        result = rescan()
        if not plan.overlapping:
            break
    if fixed:
        typer.echo(f"Fixed {_count(fixed, 'finding')} in {_count(len(files), 'file')}.", err=True)
    return result


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _end_of_start_up() -> None:
    """Collect garbage again (see `main`); what start-up built lives as long as the process, so freeze it:
    later collections skip it and forked workers leave its pages shared."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _scan_with_progress(engine: Any, paths: list[str], memo: Any, *, show: bool) -> Any:
    if not show:
        return engine.scan(paths, memo=memo)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        console=_stderr_console(),
    ) as bar:
        task = bar.add_task("scanning", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return engine.scan(paths, progress=update, memo=memo)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@rules_app.command("list")
def rules_list(
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, markdown or json.")] = "table",
    rules: Annotated[list[str] | None, typer.Option("--rules", help="Extra rule file or folder.")] = None,
) -> None:
    """Print every rule, one line each: ID, name, severity, precision, default on/off, fix, summary."""
    from gleak_sarif.docs import rules_json, rules_lines, rules_markdown

    metas = _all_metas(rules or [])
    if fmt == "markdown":
        typer.echo(rules_markdown(metas), nl=False)
    elif fmt == "json":
        typer.echo(rules_json(metas))
    elif fmt == "table":
        # on a terminal, summaries are cut at its width (one line per rule); piped, they are whole
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        typer.echo(rules_lines(metas, width))
    else:
        from gleak_sarif.errors import UsageError

        raise UsageError(f"unknown format {fmt!r}", hint="use table, markdown or json")


def _all_metas(extra: list[str]) -> Any:
    from gleak_sarif.engine.scan import all_rule_metas

    metas = all_rule_metas(extra)
    try:
        from gleak_sarif.runtime.rule import RUNTIME_RULES
    except ImportError:
        return metas
    return metas + list(RUNTIME_RULES)


def _stdout_console() -> Any:
    from rich.console import Console

    return Console()


@rules_app.command("test")
def rules_test(
    fixtures: Annotated[
        str, typer.Argument(help="Fixtures folder: one sub-folder per rule ID.")
    ] = "fixtures",
    rules: Annotated[
        list[str] | None,
        typer.Option("--rules", help="Rule file or folder to test (default: built-in rules)."),
    ] = None,
    no_builtin_rules: Annotated[bool, typer.Option("--no-builtin-rules")] = False,
    update_fixes: Annotated[
        bool, typer.Option("--update-fixes", help="Write each fixture's `.go.fixed` golden from the current fixes.")
    ] = False,
) -> None:
    """Run rule fixtures: lines marked `// want "GLxxx"` must be reported (with a message matching the regex
    that may follow the ID), nothing else may be, and fixes must give the `.go.fixed` goldens."""
    from gleak_sarif.rule_tests import format_report, run_fixtures

    report = run_fixtures(fixtures, rules or [], builtin=not no_builtin_rules, update_fixes=update_fixes)
    typer.echo(format_report(report))
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FINDINGS)


@rules_app.command("fingerprint")
def rules_fingerprint(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Where scans start (.gleak.yml is found upward). Default: .")
    ] = None,
    rules: RulesOpt = None,
    no_builtin_rules: NoBuiltinOpt = False,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    include_generated: IncludeGeneratedOpt = False,
) -> None:
    """Print a hash of what can change a scan's results: engine version, rules, config (severity,
    resources, ...) and the rule selection. Same options and config search as `scan`."""
    from gleak_sarif.engine import Engine

    paths = paths or ["."]
    options = _resolve(
        paths,
        rules=rules or [],
        builtin_rules=not no_builtin_rules,
        select=_split(select),
        ignore=_split(ignore),
        config=config,
        no_config=no_config,
        include_generated=include_generated,
        use_cache=False,
    )
    typer.echo(Engine(options).fingerprint)


@app.command()
def explain(
    rule_id: Annotated[str, typer.Argument(help="Rule ID (GL201) or name (send-abandoned-by-select).")],
    rules: Annotated[list[str] | None, typer.Option("--rules")] = None,
) -> None:
    """Show a rule's documentation: what it finds, why it matters, an example, what to do instead."""
    from gleak_sarif.docs import explain_markdown

    for meta in _all_metas(rules or []):
        if rule_id.upper() == meta.id or rule_id == meta.name:
            from rich.markdown import Markdown

            _stdout_console().print(Markdown(explain_markdown(meta)))
            return
    from gleak_sarif.errors import UsageError

    raise UsageError(f"no rule {rule_id!r}", hint="run `gleak-sarif rules list`")


@app.command()
def merge(
    inputs: Annotated[list[str], typer.Argument(help="SARIF files from sharded gleak-sarif runs.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Merged SARIF file.")],
) -> None:
    """Merge SARIF logs of sharded runs into one run (deduplicated rules and results)."""
    from gleak_sarif.report import write_output
    from gleak_sarif.report.merge import merge_sarif
    from gleak_sarif.report.sarif import dumps

    write_output(dumps(merge_sarif(inputs)), output)


@app.command()
def serve(
    stdio: Annotated[
        bool, typer.Option("--stdio", help="Speak the engine protocol on stdin/stdout.")
    ] = False,
) -> None:
    """Run the engine server for the golangci-lint plugin (docs/engine-protocol.md)."""
    if not stdio:
        from gleak_sarif.errors import UsageError

        raise UsageError("only --stdio is supported")
    from gleak_sarif.bridge.server import serve_stdio

    raise typer.Exit(serve_stdio())


@app.command()
def inventory(
    paths: Annotated[list[str] | None, typer.Argument(help="Go files or folders.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    output: Annotated[str | None, typer.Option("--output", "-o")] = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    exclude: ExcludeOpt = None,
    include_vendor: IncludeVendorOpt = False,
    include_testdata: IncludeTestdataOpt = False,
    include_generated: IncludeGeneratedOpt = False,
    include_hidden: IncludeHiddenOpt = False,
    tests: TestsOpt = None,
    respect_gitignore: GitignoreOpt = True,
    follow_symlinks: FollowSymlinksOpt = False,
) -> None:
    """List every goroutine launch site: where, in which function, what it runs, how it stops.
    Files are chosen as `scan` chooses them (.gleak.yml `exclude`, `include-*` and `tests` apply)."""
    from gleak_sarif.inventory import render_inventory

    paths = paths or ["."]
    options = _resolve(
        paths,
        config=config,
        no_config=no_config,
        exclude=exclude or [],
        include_vendor=include_vendor,
        include_testdata=include_testdata,
        include_generated=include_generated,
        include_hidden=include_hidden,
        tests=tests,
        respect_gitignore=respect_gitignore,
        follow_symlinks=follow_symlinks,
    )
    if output:
        from gleak_sarif.report import check_output_paths

        check_output_paths([output], paths)
    render_inventory(paths, fmt, output, options)


@cache_app.command("clean")
def cache_clean(
    path: Annotated[str, typer.Argument(help="Project folder whose cache to remove.")] = ".",
) -> None:
    """Delete the scan cache."""
    from gleak_sarif.engine.cache import clean_cache

    typer.echo(clean_cache(path))


def _mount_runtime() -> None:
    try:
        from gleak_sarif.runtime.cli import app as runtime_app
    except ImportError:
        return
    app.add_typer(runtime_app, name="runtime", help="Analyse goroutine dumps from running programs.")


def main() -> None:
    from gleak_sarif.errors import ConfigError, GleakError

    # The runtime commands import their own stack: mount them only when they can be used or listed,
    # so `scan` on a few files (pre-commit) does not pay for them.
    if len(sys.argv) < 2 or sys.argv[1] in ("runtime", "--help", "-h"):
        _mount_runtime()
    # A pre-commit scan of a few files is mostly start-up: importing typer, pydantic and the engine makes
    # ~10^5 long-lived objects, and the cyclic GC traversing them costs ~10% of it. `scan` turns it back
    # on once its imports are done (`_end_of_start_up`); the `finally` covers errors before that.
    paused = len(sys.argv) > 1 and sys.argv[1] == "scan" and gc.isenabled()
    if paused:
        gc.disable()
    # SIGTERM (CI cancelling a job, `timeout`) unwinds like Ctrl-C: worker processes are stopped, a
    # report being written is left as it was, and the exit status says so (143).
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        interrupts.watch()  # Ctrl-C was held while console_script imported this (one that came: raised here)
        code = app(standalone_mode=False)
    except ConfigError as err:
        text = str(err)
        if not err.hint and err.path:  # every file error says where to look, even without a specific hint
            docs = "docs/configuration.md" if os.path.basename(err.path).startswith(".gleak") else (
                "docs/rule-language.md")
            text += f"\n  hint: see {docs} for the keys and the values they take"
        typer.echo(f"gleak-sarif: error: {text}", err=True)
        sys.exit(EXIT_CONFIG)
    except GleakError as err:
        typer.echo(f"gleak-sarif: error: {err}", err=True)
        sys.exit(err.exit_code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Terminated:
        typer.echo("gleak-sarif: terminated", err=True)
        sys.exit(EXIT_TERMINATED)
    except (KeyboardInterrupt, typer.Abort):  # click turns Ctrl-C inside a command into Abort
        _interrupted()
    except Exception as err:
        if interrupts.interrupted():  # a library turned the KeyboardInterrupt into its own error
            _interrupted()
        # typer ships its own copy of click: recognise its usage errors by shape, not by import
        show = getattr(err, "show", None)
        if callable(show) and isinstance(getattr(err, "exit_code", None), int):
            show()
            sys.exit(EXIT_CONFIG)
        if os.environ.get("GLEAK_DEBUG"):
            import traceback

            traceback.print_exc()  # and still exit 3: a debug run must not change the exit code
        typer.echo(
            f"gleak-sarif: internal error: {type(err).__name__}: {err}\n"
            "  Please report this with the command you ran (set GLEAK_DEBUG=1 for a traceback).",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    finally:
        signal.signal(signal.SIGTERM, previous)
        interrupts.unwatch()
        if paused:
            gc.enable()
    if code == 130:  # typer turns Ctrl-C inside a command into the return value 130
        _interrupted()
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _interrupted() -> NoReturn:
    typer.echo("gleak-sarif: interrupted", err=True)
    interrupts.handled()
    sys.exit(130)
