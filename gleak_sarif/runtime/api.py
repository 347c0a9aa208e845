"""Python API of the runtime side (what the CLI calls; usable from tests and other tools).

result = diff_dumps("before.txt", "after.txt", source_root=".")
result = analyze_dump("leak.txt", source_root=".", min_minutes=10)
with_static(result, source_root=".")  # static findings of those files; confirmed on go or blocked lines
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
from gleak_sarif.runtime.rule import RULE_ID


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


def runtime_files(result: ScanResult) -> list[str]:
    """The files the leaked groups were mapped to (their go statements and blocked lines), in the source."""
    out: dict[str, None] = {}
    for f in result.findings:
        if f.rule_id != RULE_ID:
            continue
        for span in (f.primary, *(r.span for r in f.related)):
            if span.end_byte > 0 and os.path.isfile(span.path):
                out.setdefault(os.path.realpath(span.path))
    return sorted(out)


def _shown(path: str, root: str | None) -> str:
    """``path`` relative to the source root (with ``/``) when it is inside it, as the reports show paths."""
    if root:
        rel = os.path.relpath(path, root)
        if not rel.startswith(".."):
            return rel.replace(os.sep, "/")
    return path


_CONFIRMED_HERE = {"go-statement": "from this go statement leaked", "blocked-line": "leaked blocked on this line",
                   "blocked-stack": "leaked blocked in a call from this line"}
_CONFIRMED_RELATED = {"go-statement": "leaked from the go statement of a related location",
                      "blocked-line": "leaked blocked on a related location",
                      "blocked-stack": "leaked blocked in a call from a related location"}


def confirm_with_static(result: ScanResult, static: ScanResult) -> int:
    """Merge ``static`` into ``result``. A static finding is runtime evidence when its primary or a related
    location is on a line where a leaked group was started (a GLR001 go statement: ``runtime-confirmed-at:
    go-statement``), where it is blocked (GL208 on the nil-channel receive, GL204's second send as a related
    location: ``blocked-line``) or on a line of the blocked stack (GL408 on the call that takes the lock again:
    ``blocked-stack``). Confirmed findings get ``runtime-confirmed: true``, ``runtime-confirmed-at`` (of the
    first location that matched, the primary first), ``runtime-confirmed-groups`` (the go statements of every
    group they touch, ``path:line`` relative to the source root) and a message suffix, and are listed first. Returns how many."""
    go_sites: dict[tuple[str, int], Finding] = {}
    blocked_sites: dict[tuple[str, int], list[tuple[Finding, str]]] = {}
    for f in result.findings:
        if f.rule_id != RULE_ID or f.primary.end_byte <= 0:  # not mapped to a real file
            continue
        go_sites.setdefault(_key(f.primary.path, f.primary.start_line), f)
        for r in f.related:
            if r.message.startswith("blocked here") and r.span.end_byte > 0:
                blocked_sites.setdefault(_key(r.span.path, r.span.start_line), []).append((f, "blocked-line"))
        # The other user frames of the blocked stack (GL408's call that takes the lock again).
        for span, _ in (f.code_flow or [])[1:]:
            if span is not None and span.end_byte > 0:
                blocked_sites.setdefault(_key(span.path, span.start_line), []).append((f, "blocked-stack"))
    confirmed: list[Finding] = []
    others: list[Finding] = []
    for f in static.findings:
        matches: list[tuple[Finding, str]] = []
        on_primary = False
        for i, span in enumerate((f.primary, *(r.span for r in f.related))):
            key = _key(span.path, span.start_line)
            here = ([(go_sites[key], "go-statement")] if key in go_sites else []) + blocked_sites.get(key, [])
            on_primary = on_primary or (i == 0 and bool(here))
            matches.extend(here)
        if not matches:
            others.append(f)
            continue
        rt, at = matches[0]
        groups: dict[str, Finding] = {}
        for g, _ in matches:
            groups.setdefault(f"{_shown(g.primary.path, result.source_root)}:{g.primary.start_line}", g)
        n = sum(g.properties.get("goroutines", 0) for g in groups.values())
        f.properties["runtime-confirmed"] = True
        f.properties["runtime-confirmed-at"] = at
        f.properties["runtime-confirmed-groups"] = list(groups)
        f.properties["runtime-goroutines"] = n
        f.properties["runtime-state"] = rt.properties.get("state", "")
        sep = " " if f.message.rstrip().endswith((".", "!", "?")) else ". "
        what = (_CONFIRMED_HERE if on_primary else _CONFIRMED_RELATED)[at]
        f.message = f"{f.message.rstrip()}{sep}Runtime-confirmed: {n} goroutine(s) {what} ({rt.rule_id})."
        for g in groups.values():
            g.properties.setdefault("confirms", []).append(f.rule_id)
        confirmed.append(f)
    result.findings = result.findings + confirmed + others
    known = {r.id for r in result.rules}
    result.rules = result.rules + [r for r in static.rules if r.id not in known]
    result.notifications = result.notifications + list(static.notifications)
    result.files_scanned += static.files_scanned
    return len(confirmed)


def run_static(source_root: str | Path, files: Sequence[str] | None = None) -> ScanResult:
    """`scan` as the CLI runs it, on ``files`` (default: the whole source root): the option resolver applies
    the `.gleak.yml` found upward from the source root (select, ignore, severity, resources, exclude), so
    `--with-static` reports what `scan` reports for those files."""
    from gleak_sarif.engine import Engine
    from gleak_sarif.options import Flags, resolve

    return Engine(resolve(Flags(), search_from=str(source_root))).scan(
        list(files) if files is not None else [str(source_root)])


def with_static(result: ScanResult, source_root: str | Path) -> int:
    """``--with-static``: the static findings of the files the leaked groups map to, merged and confirmed
    (confirm_with_static). Not the whole tree: a runtime report is about the code that leaked."""
    files = runtime_files(result)
    if not files:
        result.notifications.append(Notification(
            kind=NotificationKind.runtime_input, level=Severity.note,
            message="--with-static: no leaked group maps to a file under the source root, so no static "
                    "finding to confirm"))
        return 0
    return confirm_with_static(result, run_static(source_root, files))
