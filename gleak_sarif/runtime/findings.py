"""Turn clusters of leaked goroutines into GLR001 findings at the creating ``go`` statement."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gleak_sarif.model import Finding, Notification, RelatedLocation, ScanResult, Severity, Span
from gleak_sarif.runtime.cluster import Cluster, ClusterDelta, FrameKey, is_std_func
from gleak_sarif.runtime.library import cause_of, short_names
from gleak_sarif.runtime.mapping import SourceMap
from gleak_sarif.runtime.models import Dump, DumpFormat, Frame, Goroutine
from gleak_sarif.runtime.rule import GLR001, RULE_ID, RULE_NAME

# Ambiguous starts are reported at the first of at most this many candidate statements.
MAX_CANDIDATES = 5


@dataclass(slots=True)
class _Site:
    span: Span
    kind: str  # go / wrapper-call / entry-function / inferred / candidates / ancestor / unmapped
    text: str
    others: list[Span] = field(default_factory=list)  # the other candidate statements ("candidates")


def _short(func: str) -> str:
    """``net/http.(*Client).Get`` -> ``Get``."""
    return func.rsplit(".", 1)[-1]


def library_name(cl: Cluster) -> str:
    """A library cluster by its start functions: ``net/http.(*persistConn).readLoop + writeLoop``."""
    return short_names(sorted(cl.entries))


def _frame_text(func: str, file: str, line: int) -> str:
    return f"{func} ({file}:{line})" if file else func


def _unmapped_span(file: str, line: int) -> Span:
    # No local file: keep the dump's own path so the location is said, not dropped.
    return Span(
        path=file or "<unknown>",
        start_byte=0,
        end_byte=0,
        start_line=max(line, 1),
        start_column=1,
        end_line=max(line, 1),
        end_column=1,
    )


class FindingBuilder:
    def __init__(self, smap: SourceMap) -> None:
        self.smap = smap
        self.unmapped: list[str] = []

    def _local(self, file: str) -> tuple[str | None, str]:
        m = self.smap.map_path(file)
        return m.path, m.how

    def _site(self, d: ClusterDelta) -> _Site:
        cl = d.cluster
        g = cl.representative
        if cl.site_kind == "go" and cl.creator is not None:
            c = cl.creator
            local, how = self._local(c.file)
            if local:
                span = self.smap.go_statement(local, c.line)
                if span is not None:
                    return _Site(span, "go", f"go statement in {c.func}")
                line = self.smap.line_span(local, c.line)
                if line is not None:
                    self.unmapped.append(f"{c.location}: no go statement at this line (source changed?)")
                    return _Site(line, "go-line", f"created by {c.func} (no go statement found at this line)")
            self.unmapped.append(f"{c.location} ({how})")
            return _Site(
                _unmapped_span(c.file, c.line), "unmapped", f"created by {c.func} (not mapped: {how})"
            )
        entry = cl.entry_frame
        if entry is not None:
            func, file, eline = entry
            local, how = self._local(file)
            if local:
                start_line = next((f.start_line for f in g.frames if (f.func, f.file, f.line) == entry), 0)
                # Started by a library wrapper (time.AfterFunc, errgroup: the function was handed over as a
                # value), or a profile without creators (a go statement or a hand-over).
                hit = self.smap.entry_site(local, func, eline, start_line=start_line,
                                           started_by="wrapper" if cl.site_kind == "wrapper" else "unknown")
                if hit is not None and hit.span is not None:
                    return _Site(hit.span, hit.kind, hit.text)
                anc = self._ancestor_site(g)
                if anc is not None:
                    return anc
                if hit is not None and 2 <= len(hit.candidates) <= MAX_CANDIDATES:
                    # The profile cannot tell which of a few statements started these goroutines (two
                    # `go s.worker()` in a row): report at the first, name the others.
                    where = ", ".join(f"{self._shown(c.path)}:{c.start_line}" for c in hit.candidates)
                    return _Site(hit.candidates[0], "candidates",
                                 f"one of {len(hit.candidates)} statements that start {func} ({where}); "
                                 "the dump does not say which", others=hit.candidates[1:])
                espan = self.smap.line_span(local, eline)
                if espan is not None:
                    if hit is not None and hit.candidates:
                        self.unmapped.append(f"{func}: {len(hit.candidates)} statements could start it")
                    return _Site(espan, "entry-function", f"entry function {func} (creation site unknown)")
            self.unmapped.append(f"{file}:{eline} ({how})")
            return _Site(
                _unmapped_span(file, eline), "unmapped", f"entry function {func} (not mapped: {how})"
            )
        # Only standard-library frames (library goroutines): the user call that led to them, when the dump has
        # GODEBUG=tracebackancestors; else where the runtime says they started (outside the source root).
        name = library_name(cl)
        for i, block in enumerate(g.ancestors):
            for f in block.frames:
                if not is_std_func(f.func, self.smap.module_paths):
                    local, _ = self._local(f.file)
                    # The library functions it called (inlined ones may print on either side of it).
                    callees = {_short(x.func) for x in block.frames if is_std_func(x.func, self.smap.module_paths)}
                    span = self.smap.line_span(local, self.smap.call_line(local, f.line, callees)) if local \
                        else None
                    if span is not None:
                        return _Site(span, "ancestor", f"the call in {f.func} that led to {name} (from "
                                     f"GODEBUG=tracebackancestors, {i + 1} goroutine(s) up)")
        last = cl.creator or next((f for f in reversed(g.frames) if f.func != "runtime.goexit"), None)
        if last is not None:
            self.unmapped.append(f"{last.location} (standard library only)")
            how = f"started by {cl.creator.func}" if cl.creator is not None else "the dump has no creators"
            return _Site(_unmapped_span(last.file, last.line), "library", f"{name}: {how}")
        return _Site(_unmapped_span("", 1), "unmapped", "no frames")

    def _shown(self, file: str) -> str:
        """A frame's file as the reader knows it: relative to the source root when mapped."""
        local, _ = self._local(file)
        if local and self.smap.root is not None:
            try:
                return os.path.relpath(local, self.smap.root)
            except ValueError:
                return local
        return file

    def _ancestor_site(self, g: Goroutine) -> _Site | None:
        """GODEBUG=tracebackancestors: the creator's first user frame. Its line is a return address (often
        the line after the call), so it is used only when the func literal cannot be found."""
        mods = self.smap.module_paths
        for anc in g.ancestors[:1]:
            for f in anc.frames:
                if not is_std_func(f.func, mods):
                    local, _ = self._local(f.file)
                    span = self.smap.line_span(local, f.line) if local else None
                    if span is not None:
                        return _Site(span, "ancestor", f"near the call in {f.func} that started the goroutine "
                                     "(from tracebackancestors; the line may be the one after the call)")
                    return None
        return None

    def _related(self, frame: FrameKey | None, state: str) -> list[RelatedLocation]:
        if frame is None:
            return []
        func, file, line = frame
        local, how = self._local(file)
        span = self.smap.line_span(local, line) if local else None
        if span is None:
            self.unmapped.append(f"{file}:{line} ({how})")
            return []
        return [RelatedLocation(span=span, message=f"blocked here ({state or 'unknown state'}) in {func}")]

    def _flow(self, d: ClusterDelta, site: _Site) -> list[tuple[Span | None, str]]:
        g = d.cluster.representative
        mods = self.smap.module_paths
        flow: list[tuple[Span | None, str]] = [(site.span, site.text)]
        frames: list[Frame] = list(reversed(g.frames))  # execution order: entry first, blocking frame last
        for i, f in enumerate(frames):
            span: Span | None = None
            if not is_std_func(f.func, mods):
                local, _ = self._local(f.file)
                span = self.smap.line_span(local, f.line) if local else None
            flow.append((span, _frame_text(f.func, f.file, f.line)))
            if g.elided and i == 0 and len(frames) > 1:
                n = "some" if g.elided < 0 else str(g.elided)
                flow.append((None, f"... {n} frames elided ..."))
        return flow

    def build(self, d: ClusterDelta, evidence: str, dump_format: DumpFormat) -> Finding:
        self.unmapped = []
        cl = d.cluster
        site = self._site(d)
        state = cl.main_state
        related = self._related(cl.blocking_frame, state)
        related += [RelatedLocation(span=o, message="or started here (same function, same profile record)")
                    for o in site.others]
        flow = self._flow(d, site)
        labels = cl.label_dict()
        in_state = f"in '{state}'" if state not in ("", "unknown") else "(the profile records no state)"
        n = cl.count
        noun = "goroutine" if n == 1 else "goroutines"
        if evidence == "diff":
            head = (
                f"{n} {noun} started here {'is' if n == 1 else 'are'} blocked {in_state} and grew by "
                f"{d.growth} between snapshots ({d.before} -> {d.after}"
                + (f"; {d.existing} of them existed before in another state" if d.existing else "") + ")."
            )
        elif evidence in ("leak-profile", "goroutineleak"):
            head = f"{n} {noun} started here leaked: blocked {in_state} with nothing left to unblock them."
        elif evidence == "goleak":
            head = f"{n} {noun} started here outlived the test (goleak): blocked {in_state}."
        elif cl.max_minutes:
            head = (
                f"{n} {noun} started here {'has' if n == 1 else 'have'} been blocked {in_state} for "
                f"{cl.min_minutes if cl.min_minutes is not None else cl.max_minutes}+ minutes."
            )
        else:
            head = f"{n} {noun} started here {'is' if n == 1 else 'are'} blocked {in_state}."
        parts = [head]
        if cl.blocking_frame is not None:
            bf = cl.blocking_frame
            parts.append(f"Blocked at {bf[0]} ({self._shown(bf[1])}:{bf[2]}).")
        if cl.min_minutes is not None and cl.max_minutes:
            parts.append(f"Wait: {cl.min_minutes}-{cl.max_minutes} minutes.")
        if labels:
            parts.append("Labels: " + "; ".join(f"{k}={', '.join(v)}" for k, v in labels.items()) + ".")
        cause = cause_of(*cl.entries, cl.creator.func if cl.creator is not None else "") \
            if cl.site_kind == "library" else None
        if cl.site_kind == "library":
            entries = ", ".join(f"{e} ({n})" for e, n in sorted(cl.entries.items()))
            parts.append(f"Standard-library goroutines: {entries}"
                         + (f", started by {cl.creator.func}." if cl.creator is not None else "."))
            if cause is not None:
                parts.append(f"Likely cause: {cause.cause}; {cause.rule} ({cause.rule_name}) finds it in the "
                             "source.")
        if site.kind not in ("go", "ancestor"):
            parts.append(f"Location: {site.text}.")
        elif site.kind == "ancestor" and cl.site_kind == "library":
            parts.append(f"Reported at {site.text}.")
        if self.unmapped:
            parts.append("Unmapped: " + "; ".join(dict.fromkeys(self.unmapped)) + ".")
        severity = Severity.error if evidence in ("leak-profile", "goleak") else Severity.warning
        key_text = repr(cl.key)
        props: dict[str, Any] = {
            "evidence": evidence,
            "dump-format": dump_format.value,
            "goroutines": n,
            "goroutines-before": d.before,
            "growth": d.growth,
            "persisted": d.persisted,
            "leaked": cl.leaked,
            "state": state,
            "states": dict(cl.states),
            "wait-minutes-min": cl.min_minutes,
            "wait-minutes-max": cl.max_minutes,
            "labels": labels,
            "creation-site-kind": site.kind,
            "creator": cl.creator.func if cl.creator else None,
            "cluster-name": library_name(cl) if cl.site_kind == "library" else (
                f"{cl.blocking_frame[0]} ({self._shown(cl.blocking_frame[1])}:{cl.blocking_frame[2]})"
                if cl.blocking_frame else "-"),
            "start-functions": dict(sorted(cl.entries.items())),
            "cause-rule": cause.rule if cause is not None else None,
            "other-candidates": [f"{self._shown(o.path)}:{o.start_line}" for o in site.others],
            "cluster-id": hashlib.sha1(key_text.encode()).hexdigest()[:12],
            "unmapped": list(dict.fromkeys(self.unmapped)),
        }
        return Finding(
            rule_id=RULE_ID,
            rule_name=RULE_NAME,
            severity=severity,
            message=" ".join(parts),
            primary=site.span,
            related=related,
            properties=props,
            code_flow=flow,
            metavariables={"STATE": state},
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_result(
    deltas: Sequence[ClusterDelta],
    *,
    evidence: str,
    dumps: Sequence[Dump],
    smap: SourceMap,
    start_time: str | None = None,
) -> ScanResult:
    builder = FindingBuilder(smap)
    fmt = dumps[-1].format if dumps else DumpFormat.empty
    findings = [builder.build(d, evidence, fmt) for d in deltas]
    notes: list[Notification] = [n for dump in dumps for n in dump.notifications]
    return ScanResult(
        findings=findings,
        notifications=notes,
        rules=[GLR001],
        files_scanned=len(dumps),
        start_time=start_time or _now(),
        end_time=_now(),
        source_root=str(smap.root) if smap.root else os.getcwd(),
    )


def evidence_for(dump: Dump) -> str:
    if dump.format is DumpFormat.goleak:
        return "goleak"
    if dump.is_leak_report:
        return "leak-profile"
    return "blocked-minutes"
