"""Python API of the runtime side (what the CLI calls; usable from tests and other tools).

result = diff_dumps("before.txt", "after.txt", source_root=".")
result = analyze_dump("leak.txt", source_root=".", min_minutes=10)
confirm_with_static(result, source_root=".")  # marks static findings at the same go statement
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from gleak_sarif.model import Finding, Notification, NotificationKind, ScanResult, Severity
from gleak_sarif.runtime.cluster import ClusterDelta, diff, select_single
from gleak_sarif.runtime.findings import build_result, evidence_for
from gleak_sarif.runtime.mapping import SourceMap
from gleak_sarif.runtime.models import Dump, DumpFormat
from gleak_sarif.runtime.parse import parse_dump_file


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def diff_parsed(
    before: Dump, after: Dump, smap: SourceMap, *, min_growth: int = 1, persistent: bool = False,
    min_minutes: int = 0,
) -> tuple[list[ClusterDelta], ScanResult]:
    start = _now()
    deltas = diff(before, after, user_modules=smap.module_paths, min_growth=min_growth, persistent=persistent,
                  min_minutes=min_minutes)
    result = build_result(deltas, evidence="diff", dumps=[before, after], smap=smap, start_time=start)
    for dump in (before, after):
        _note_if_empty(dump, result)
    return deltas, result


def _note_if_empty(dump: Dump, result: ScanResult) -> None:
    if dump.format is DumpFormat.empty:
        result.notifications.append(
            Notification(
                kind=NotificationKind.runtime_input,
                level=Severity.error,
                message="no goroutines found in this input",
                path=dump.path,
            )
        )


def diff_dumps(
    before: str | Path,
    after: str | Path,
    *,
    source_root: str | Path | None = None,
    min_growth: int = 1,
    persistent: bool = False,
) -> ScanResult:
    smap = SourceMap(source_root)
    return diff_parsed(
        parse_dump_file(before), parse_dump_file(after), smap, min_growth=min_growth, persistent=persistent
    )[1]


def analyze_parsed(
    dump: Dump, smap: SourceMap, *, min_minutes: int = 1
) -> tuple[list[ClusterDelta], ScanResult]:
    start = _now()
    deltas = select_single(dump, min_minutes=min_minutes, user_modules=smap.module_paths)
    result = build_result(deltas, evidence=evidence_for(dump), dumps=[dump], smap=smap, start_time=start)
    if dump.format in (DumpFormat.debug1, DumpFormat.debug0):
        level = "debug=1" if dump.format is DumpFormat.debug1 else "debug=0"
        result.notifications.append(
            Notification(
                kind=NotificationKind.runtime_input,
                level=Severity.note,
                path=dump.path,
                message=f"a {level} goroutine profile has no states or wait times: compare two of them with "
                "'runtime diff', or use debug=2 or the goroutineleak profile",
            )
        )
    _note_if_empty(dump, result)
    return deltas, result


def analyze_dump(
    path: str | Path, *, source_root: str | Path | None = None, min_minutes: int = 1
) -> ScanResult:
    return analyze_parsed(parse_dump_file(path), SourceMap(source_root), min_minutes=min_minutes)[1]


def _key(path: str, line: int) -> tuple[str, int]:
    return os.path.realpath(path), line


def confirm_with_static(result: ScanResult, static: ScanResult) -> int:
    """Merge ``static`` into ``result``; static findings whose primary line is a GLR001 go statement get
    ``runtime-confirmed: true`` and a message suffix, and are listed first. Returns how many."""
    runtime_sites: dict[tuple[str, int], Finding] = {}
    for f in result.findings:
        if f.primary.end_byte > 0:  # mapped to a real file
            runtime_sites.setdefault(_key(f.primary.path, f.primary.start_line), f)
    confirmed: list[Finding] = []
    others: list[Finding] = []
    for f in static.findings:
        rt = runtime_sites.get(_key(f.primary.path, f.primary.start_line))
        if rt is None:
            others.append(f)
            continue
        n = rt.properties.get("goroutines", 0)
        f.properties["runtime-confirmed"] = True
        f.properties["runtime-goroutines"] = n
        f.properties["runtime-state"] = rt.properties.get("state", "")
        sep = " " if f.message.rstrip().endswith((".", "!", "?")) else ". "
        f.message = (
            f"{f.message.rstrip()}{sep}Runtime-confirmed: {n} goroutine(s) from this go statement leaked "
            f"({rt.rule_id})."
        )
        rt.properties.setdefault("confirms", []).append(f.rule_id)
        confirmed.append(f)
    result.findings = result.findings + confirmed + others
    known = {r.id for r in result.rules}
    result.rules = result.rules + [r for r in static.rules if r.id not in known]
    result.notifications = result.notifications + list(static.notifications)
    result.files_scanned += static.files_scanned
    return len(confirmed)


def run_static(source_root: str | Path) -> ScanResult:
    """`scan SOURCE_ROOT` as the CLI runs it: the option resolver applies the `.gleak.yml` found upward
    from the source root (select, ignore, severity, resources, exclude), so `--with-static` reports
    what `scan` reports there."""
    from gleak_sarif.engine import Engine
    from gleak_sarif.options import Flags, resolve

    return Engine(resolve(Flags(), search_from=str(source_root))).scan([str(source_root)])


def load_dumps(paths: Sequence[str | Path]) -> list[Dump]:
    return [parse_dump_file(p) for p in paths]
