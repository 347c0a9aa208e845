"""SARIF 2.1.0 for GitHub code scanning, built on sarif-om and checked by the SARIF Multitool in tests.

What GitHub reads, and why each field is what it is (facts in research/golangci-sarif.md section 4):

- exactly one run (a delivery with two runs of one tool and category is rejected);
- every rule with short/full description, help text + markdown, default level, tags, precision and
  `problem.severity` (never `security-severity`: that would make goroutine leaks security alerts);
- one-line primary regions in UTF-16 columns (`columnKind: utf16CodeUnits`), converted from byte columns;
- repository-relative, percent-encoded URIs with `uriBaseId: SRCROOT`; `originalUriBaseIds.SRCROOT` is the
  source root's `file://` URI ending in `/`;
- `partialFingerprints.primaryLocationLineHash` as GitHub's upload action computes it, plus
  `gleakFingerprint/v1`, which survives line shifts (baselines, merge);
- GitHub's per-run limits: anything over a limit is cut *and* reported as a tool execution notification.

sarif-om objects are serialised with `jschema_to_python.to_json`, which drops every property equal to its
schema default (`level: "warning"` among them); `_restore_defaults` puts back the ones GitHub and readers
rely on, and the result is re-dumped through `json` for stable output.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import attr
import sarif_om as om

from gleak_sarif.docs import rule_doc_anchor, rule_help_markdown, rule_help_text
from gleak_sarif.linehash import LineHashCache
from gleak_sarif.model import (
    BaselineState,
    Finding,
    Notification,
    NotificationKind,
    Precision,
    RuleMeta,
    ScanResult,
    Severity,
    Span,
)
from gleak_sarif.report.fingerprint import (
    BASELINE_PROPERTY,
    GLEAK_FINGERPRINT_KEY,
    LINE_HASH_KEY,
    gleak_fingerprints,
    stored_fingerprints,
)
from gleak_sarif.report.paths import path_uri, resolve_root, root_uri
from gleak_sarif.report.sources import SourceCache, SourceFile

TOOL_NAME = "gleak-sarif"
INFORMATION_URI = "https://github.com/gleak-sarif/gleak-sarif"
SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "SRCROOT"

_MAX_DESCRIPTION = 1024  # GitHub: shortDescription/fullDescription text
_MAX_NAME = 255


@dataclass(frozen=True)
class SarifLimits:
    """GitHub code scanning's upload limits per run (uploads over them are rejected)."""

    results: int = 25_000
    locations_per_result: int = 1_000
    thread_flow_locations: int = 10_000
    tags_per_rule: int = 20


GITHUB_LIMITS = SarifLimits()

_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.note: "note"}
_PROBLEM_SEVERITY = {Severity.error: "error", Severity.warning: "warning", Severity.note: "recommendation"}


_FIELDS: dict[type, list[tuple[str, str, Any]] | None] = {}


def _fields_of(cls: type) -> list[tuple[str, str, Any]] | None:
    """(python name, schema name, default) of an attrs class's fields; None for other types. Cached."""
    if cls not in _FIELDS:
        if attr.has(cls):
            fields = []
            for field in attr.fields(cls):
                default = field.default
                if isinstance(default, attr.Factory):  # type: ignore[arg-type]
                    default = default.factory()
                fields.append((field.name, field.metadata.get("schema_property_name", field.name), default))
            _FIELDS[cls] = fields
        else:
            _FIELDS[cls] = None
    return _FIELDS[cls]


def to_plain(obj: Any) -> Any:
    """sarif-om objects to plain JSON data, exactly as `jschema_to_python.to_json` maps them.

    Same rules: properties equal to their attrs default are dropped, Python names become the schema's
    camelCase names, other values go through as they are (what `json` cannot encode is `str()`-ed, like
    to_json's fallback). to_json deep-copies every object's whole subtree before converting it, which costs
    (size x depth): 40 s for 5,000 results. This walk is linear; a test checks that both give the same JSON.
    """
    fields = _fields_of(type(obj))
    if fields is not None:
        out: dict[str, Any] = {}
        for name, json_name, default in fields:
            value = getattr(obj, name)
            if value != default:
                out[json_name] = to_plain(value)
        return out
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    return str(obj)


def _om(cls: Any, **kwargs: Any) -> Any:
    """Build a sarif-om object, leaving out None values.

    An explicit None would be serialised as `null` when the attrs default is not None (`index=-1`, `id=-1`).
    """
    return cls(**{k: v for k, v in kwargs.items() if v is not None})


def problem_severity(severity: Severity) -> str:
    """GitHub's `properties.problem.severity` for a non-security rule."""
    return _PROBLEM_SEVERITY[severity]


def sarif_message(text: str) -> str:
    """A message as SARIF wants it: trimmed, one sentence or more, ending with punctuation (SARIF2001)."""
    text = text.strip()
    if not text:
        return "(no message)."
    if text[-1] not in ".!?":
        text += "."
    return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def rule_friendly_name(meta: RuleMeta) -> str:
    """SARIF `name`: the rule name in PascalCase (`send-abandoned-by-select` -> `SendAbandonedBySelect`).

    SARIF wants a Pascal-case identifier that differs from the opaque `id` (validator SARIF1001, SARIF2012).
    """
    words = [w for w in meta.name.replace("_", "-").split("-") if w]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return name if name != meta.id else ""


def rule_help_uri(meta: RuleMeta) -> str:
    """SARIF `helpUri`: the rule's section of the generated docs/rules.md in the project repository."""
    return f"{INFORMATION_URI}/blob/main/docs/rules.md#{rule_doc_anchor(meta)}"


def _rule_descriptor(meta: RuleMeta, limits: SarifLimits, notes: list[Notification]) -> Any:
    tags = list(dict.fromkeys(meta.tags))
    if len(tags) > limits.tags_per_rule:
        notes.append(
            Notification(
                kind=NotificationKind.limit,
                message=f"Rule {meta.id} has {len(tags)} tags; GitHub accepts at most {limits.tags_per_rule}, "
                f"so only the first {limits.tags_per_rule} were written.",
            )
        )
        tags = tags[: limits.tags_per_rule]
    return _om(
        om.ReportingDescriptor,
        id=meta.id,
        name=_clip(rule_friendly_name(meta), _MAX_NAME) or None,
        help_uri=rule_help_uri(meta),
        short_description=_om(
            om.MultiformatMessageString, text=_clip(sarif_message(meta.summary), _MAX_DESCRIPTION)
        ),
        full_description=_om(
            om.MultiformatMessageString, text=_clip(sarif_message(meta.what), _MAX_DESCRIPTION)
        ),
        help=_om(om.MultiformatMessageString, text=rule_help_text(meta), markdown=rule_help_markdown(meta)),
        default_configuration=_om(om.ReportingConfiguration, level=_LEVEL[meta.severity]),
        properties={
            "tags": tags,
            "precision": meta.precision.value,
            "problem.severity": problem_severity(meta.severity),
            # `severity-in-tests`: the level its results in `_test.go` files get (they say so themselves too)
            **({"severityInTests": meta.severity_in_tests.value} if meta.severity_in_tests else {}),
        },
    )


def _stand_in_meta(finding: Finding) -> RuleMeta:
    """Rule metadata for a finding whose rule is not in the run's rules (e.g. absent baseline results)."""
    text = f"Rule {finding.rule_id} ({finding.rule_name})"
    return RuleMeta(
        id=finding.rule_id,
        name=finding.rule_name,
        severity=finding.severity,
        precision=Precision.medium,
        summary=f"{text}.",
        what=f"{text} is not enabled in this run; its results come from another run or a baseline.",
        why="See the rule's documentation (gleak-sarif explain).",
    )


# ----------------------------------------------------------------------------------------- locations


def sarif_region(span: Span, sources: SourceCache | None, *, one_line: bool) -> tuple[int, int, int, int]:
    """(startLine, startColumn, endLine, endColumn) of a span in SARIF terms: UTF-16 columns, at least 1.

    ``sources`` None means the span's columns are already UTF-16 (absent baseline findings). ``one_line``
    (primary locations) cuts a multi-line span at the end of its first line, since GitHub shows an alert in a
    pull request only if all of its lines changed, and widens an empty span to its line's code.
    """
    src = sources.get(span.path) if sources is not None else None
    start_line = max(1, span.start_line)
    end_line = max(start_line, span.end_line)
    if src is None:
        start_col = max(1, span.start_column)
        end_col = max(1, span.end_column)
    else:
        start_col = src.utf16_column(start_line, max(1, span.start_column))
        end_col = src.utf16_column(end_line, max(1, span.end_column))
    if one_line and end_line != start_line:
        end_line = start_line
        end_col = src.line_end_utf16(start_line) if src is not None else start_col
    if end_line == start_line and end_col < start_col:
        end_col = start_col
    if one_line and end_col == start_col and src is not None:
        # An empty primary region (a runtime frame has a line, no column) would highlight nothing: take
        # the line's code, from its first non-blank character to its end.
        line = src.line(start_line)
        indent = len(line) - len(line.lstrip(b" \t"))
        if indent < len(line):
            start_col = src.utf16_column(start_line, indent + 1)
            end_col = src.line_end_utf16(start_line)
    return start_line, start_col, end_line, end_col


class _Locator:
    """Maps spans to SARIF locations: relative URIs, artifacts, UTF-16 regions."""

    def __init__(self, root: str, sources: SourceCache) -> None:
        self.root = root
        self.sources = sources
        self.artifact_index: dict[str, int] = {}
        self.artifacts: list[Any] = []
        self._uri_cache: dict[str, tuple[str, bool]] = {}

    def uri(self, path: str) -> tuple[str, bool]:
        hit = self._uri_cache.get(path)
        if hit is None:
            hit = self._uri_cache[path] = path_uri(path, self.root)
        return hit

    def artifact_location(self, path: str, *, register: bool = True) -> Any:
        uri, relative = self.uri(path)
        index = None
        if register:
            index = self.artifact_index.get(uri)
            if index is None:
                index = self.artifact_index[uri] = len(self.artifacts)
                self.artifacts.append(self._artifact(path, uri, relative))
        return _om(om.ArtifactLocation, uri=uri, uri_base_id=SRCROOT if relative else None, index=index)

    def _artifact(self, path: str, uri: str, relative: bool) -> Any:
        # Length, language and hash make `artifacts` worth its bytes (SARIF2004) and let a reader check
        # that the file it opens is the one that was scanned.
        src = self.sources.get(path)
        return _om(
            om.Artifact,
            location=_om(om.ArtifactLocation, uri=uri, uri_base_id=SRCROOT if relative else None),
            length=len(src.data) if src is not None else None,
            source_language="go" if path.endswith(".go") else None,
            hashes={"sha-256": hashlib.sha256(src.data).hexdigest()} if src is not None else None,
        )

    def region(
        self,
        span: Span,
        *,
        one_line: bool,
        utf16_already: bool = False,
        snippet: bool = False,
        snippet_text: str | None = None,
    ) -> Any:
        sl, sc, el, ec = sarif_region(span, None if utf16_already else self.sources, one_line=one_line)
        text = snippet_text
        if snippet and text is None and not utf16_already and sl == el:
            # The flagged code itself, for readers of the log without a checkout (validator SARIF2010).
            src = self.sources.get(span.path)
            if src is not None:
                units = (
                    src.line(sl).decode("utf-8", errors="replace").encode("utf-16-le", errors="surrogatepass")
                )
                text = units[2 * (sc - 1) : 2 * (ec - 1)].decode("utf-16-le", errors="replace")
        return _om(
            om.Region,
            start_line=sl,
            start_column=sc,
            end_line=el,
            end_column=ec,
            snippet=_om(om.ArtifactContent, text=text) if text else None,
        )

    def location(
        self,
        span: Span,
        *,
        one_line: bool = False,
        message: str | None = None,
        loc_id: int | None = None,
        utf16_already: bool = False,
        snippet_text: str | None = None,
    ) -> Any:
        return _om(
            om.Location,
            id=loc_id,
            physical_location=_om(
                om.PhysicalLocation,
                artifact_location=self.artifact_location(span.path),
                region=self.region(
                    span,
                    one_line=one_line,
                    utf16_already=utf16_already,
                    snippet=one_line,
                    snippet_text=snippet_text,
                ),
            ),
            message=_om(om.Message, text=sarif_message(message)) if message is not None else None,
        )


# --------------------------------------------------------------------------------------------- limits


def _apply_result_limit(findings: list[Finding], limits: SarifLimits, notes: list[Notification]) -> list[int]:
    """Indices (in order) of the findings to write: all of them, or the most important within the limit."""
    if len(findings) <= limits.results:
        return list(range(len(findings)))
    # Keep what matters most: unsuppressed, then by severity (GitHub also shows the top results by severity).
    ranked = sorted(
        range(len(findings)),
        key=lambda i: (findings[i].suppression is not None, -findings[i].severity.rank, i),
    )
    keep = sorted(ranked[: limits.results])
    dropped = len(findings) - len(keep)
    notes.append(
        Notification(
            kind=NotificationKind.limit,
            level=Severity.error,
            message=f"{dropped} of {len(findings)} results were left out of this SARIF file: GitHub code scanning "
            f"rejects runs with more than {limits.results} results. The most severe unsuppressed results were "
            "kept. Baseline or fix the most frequent findings, or scan parts of the repository under separate "
            "categories.",
        )
    )
    return keep


# ------------------------------------------------------------------------------------------------ run


def format_utc(dt: datetime) -> str:
    """SARIF's date-time form: UTC with milliseconds and a `Z` (naive times are taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time (`Z` accepted); None when empty or unparsable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso_utc(value: str) -> str | None:
    dt = parse_time(value)
    return format_utc(dt) if dt is not None else None


def automation_id(category: str | None) -> str | None:
    """`automationDetails.id` for a category: GitHub reads the text up to the last `/` as the category."""
    if category is None or not category.strip():
        return None
    category = category.strip()
    return category if category.endswith("/") else category + "/"


def _notification(note: Notification, locator: _Locator) -> Any:
    locations = None
    if note.path:
        region = _om(om.Region, start_line=note.line) if note.line and note.line >= 1 else None
        locations = [
            _om(
                om.Location,
                physical_location=_om(
                    om.PhysicalLocation,
                    artifact_location=locator.artifact_location(note.path, register=False),
                    region=region,
                ),
            )
        ]
    return _om(
        om.Notification,
        message=_om(om.Message, text=sarif_message(note.message)),
        level=_LEVEL[note.level],
        descriptor=_om(om.ReportingDescriptorReference, id=note.kind.value),
        locations=locations,
    )


def _fixes(finding: Finding, locator: _Locator) -> list[Any] | None:
    if finding.fix is None or not finding.fix.edits:
        return None
    by_path: dict[str, list[Any]] = {}
    for edit in sorted(finding.fix.edits, key=lambda e: (e.path, e.start_byte)):
        src = locator.sources.get(edit.path)
        # SARIF forbids negative offsets and lengths: a reversed or negative edit becomes an insertion
        start = max(0, edit.start_byte)
        length = max(0, edit.end_byte - start)
        if src is not None:
            sl, sc = src.offset_to_position(start)
            el, ec = src.offset_to_position(start + length)
            region = _om(
                om.Region,
                start_line=sl,
                start_column=sc,
                end_line=el,
                end_column=ec,
                byte_offset=start,
                byte_length=length,
            )
        else:
            region = _om(om.Region, byte_offset=start, byte_length=length)
        by_path.setdefault(edit.path, []).append(
            _om(
                om.Replacement,
                deleted_region=region,
                inserted_content=_om(om.ArtifactContent, text=edit.new_text),
            )
        )
    changes = [
        _om(om.ArtifactChange, artifact_location=locator.artifact_location(path), replacements=reps)
        for path, reps in by_path.items()
    ]
    return [
        _om(
            om.Fix,
            description=_om(om.Message, text=sarif_message(finding.fix.description)),
            artifact_changes=changes,
        )
    ]


def _code_flows(
    finding: Finding, locator: _Locator, limits: SarifLimits, truncated: list[str]
) -> list[Any] | None:
    if not finding.code_flow:
        return None
    frames = finding.code_flow
    if len(frames) > limits.thread_flow_locations:
        truncated.append(finding.rule_id)
        frames = frames[: limits.thread_flow_locations]
    tfl = []
    for span, text in frames:
        if span is not None:
            loc = locator.location(span, message=text)
        else:
            loc = _om(om.Location, message=_om(om.Message, text=sarif_message(text)))
        tfl.append(_om(om.ThreadFlowLocation, location=loc))
    return [_om(om.CodeFlow, thread_flows=[_om(om.ThreadFlow, locations=tfl)])]


def build_sarif(
    result: ScanResult,
    *,
    category: str | None,
    source_root: str | None,
    tool_version: str,
    limits: SarifLimits = GITHUB_LIMITS,
    sources: SourceCache | None = None,
    include_absent: bool = True,
) -> dict[str, Any]:
    """The SARIF log (as plain JSON data) for one scan.

    ``source_root`` (else ``result.source_root``, else the working directory) is what URIs are relative to;
    files outside it get absolute `file://` URIs. ``sources`` lets callers share already-read files.
    ``include_absent=False`` leaves out findings whose baseline state is `absent`: GitHub code scanning
    ignores `baselineState` and would show them as open alerts (it closes fixed alerts by itself).
    """
    root = resolve_root(source_root or result.source_root)
    sources = sources or SourceCache()
    locator = _Locator(root, sources)
    notes: list[Notification] = []
    line_hashes = LineHashCache()

    ordered = sorted(result.findings, key=Finding.sort_key)
    if not include_absent:
        ordered = [f for f in ordered if f.baseline_state != BaselineState.absent]
    # Fingerprints before any cut, so occurrence numbers do not depend on which results fit.
    all_prints = gleak_fingerprints(ordered, root, sources)
    keep = _apply_result_limit(ordered, limits, notes)
    findings = [ordered[i] for i in keep]
    fingerprints = [all_prints[i] for i in keep]

    metas: dict[str, RuleMeta] = {}
    for meta in result.rules:
        metas.setdefault(meta.id, meta)
    for f in findings:
        if f.rule_id not in metas:
            metas[f.rule_id] = _stand_in_meta(f)
    rule_ids = list(metas)
    rule_index = {rid: i for i, rid in enumerate(rule_ids)}
    rules = [_rule_descriptor(metas[rid], limits, notes) for rid in rule_ids]

    too_many_related: list[str] = []
    too_long_flows: list[str] = []
    results = []
    for f, gleak_print in zip(findings, fingerprints, strict=True):
        stored = stored_fingerprints(f)
        absent = bool(stored) or f.baseline_state == BaselineState.absent
        old = f.properties.get(BASELINE_PROPERTY)
        old_snippet = old.get("snippet") if absent and isinstance(old, dict) else None
        primary = locator.location(
            f.primary, one_line=True, utf16_already=absent, snippet_text=old_snippet if old_snippet else None
        )
        prints: dict[str, str] = {}
        if stored:
            prints.update(stored)
        else:
            line_hash = f.line_hash
            if line_hash is None:
                src: SourceFile | None = sources.get(f.primary.path)
                line_hash = line_hashes.get(src, f.primary.start_line) if src is not None else None
            if line_hash is not None:
                prints[LINE_HASH_KEY] = line_hash
            prints[GLEAK_FINGERPRINT_KEY] = gleak_print
        related = f.related
        if len(related) > limits.locations_per_result:
            too_many_related.append(f.rule_id)
            related = related[: limits.locations_per_result]
        props = {k: v for k, v in f.properties.items() if k != BASELINE_PROPERTY}
        results.append(
            _om(
                om.Result,
                rule_id=f.rule_id,
                rule_index=rule_index[f.rule_id],
                level=_LEVEL[f.severity],
                message=_om(om.Message, text=sarif_message(f.message)),
                locations=[primary],
                related_locations=[
                    locator.location(r.span, message=r.message, loc_id=i, utf16_already=absent)
                    for i, r in enumerate(related, start=1)
                ]
                or None,
                partial_fingerprints=prints,
                fixes=_fixes(f, locator) if not absent else None,
                suppressions=[
                    _om(
                        om.Suppression,
                        kind=f.suppression.kind,
                        justification=f.suppression.justification or None,
                        properties={"directive": f.suppression.directive},
                    )
                ]
                if f.suppression is not None
                else None,
                baseline_state=f.baseline_state.value if f.baseline_state is not None else None,
                code_flows=_code_flows(f, locator, limits, too_long_flows),
                properties=props or None,
            )
        )
    if too_many_related:
        notes.append(
            Notification(
                kind=NotificationKind.limit,
                message=f"{len(too_many_related)} results had more than {limits.locations_per_result} related "
                f"locations (rules {', '.join(sorted(set(too_many_related)))}); only the first "
                f"{limits.locations_per_result} were written, as GitHub accepts no more.",
            )
        )
    if too_long_flows:
        notes.append(
            Notification(
                kind=NotificationKind.limit,
                message=f"{len(too_long_flows)} results had more than {limits.thread_flow_locations} code flow "
                f"locations (rules {', '.join(sorted(set(too_long_flows)))}); the flows were cut there, as "
                "GitHub accepts no more.",
            )
        )

    all_notes = [*result.notifications, *notes]
    invocation = _om(
        om.Invocation,
        execution_successful=not any(
            n.level == Severity.error and n.kind != NotificationKind.limit for n in all_notes
        ),
        start_time_utc=_iso_utc(result.start_time),
        end_time_utc=_iso_utc(result.end_time),
        tool_execution_notifications=[_notification(n, locator) for n in all_notes] or None,
        properties={"filesScanned": result.files_scanned, "filesSkipped": result.files_skipped},
    )
    auto_id = automation_id(category)
    run = _om(
        om.Run,
        tool=_om(
            om.Tool,
            driver=_om(
                om.ToolComponent,
                name=TOOL_NAME,
                semantic_version=tool_version,
                information_uri=INFORMATION_URI,
                rules=rules,
            ),
        ),
        automation_details=_om(om.RunAutomationDetails, id=auto_id) if auto_id else None,
        original_uri_base_ids={SRCROOT: _om(om.ArtifactLocation, uri=root_uri(root))},
        artifacts=locator.artifacts or None,
        invocations=[invocation],
        results=results,
        column_kind="utf16CodeUnits",
    )
    log = _om(om.SarifLog, version=SARIF_VERSION, schema_uri=SCHEMA_URI, runs=[run])
    data: dict[str, Any] = to_plain(log)
    _restore_defaults(data, findings, rule_ids, metas, all_notes)
    return data


def _restore_defaults(
    data: dict[str, Any],
    findings: list[Finding],
    rule_ids: list[str],
    metas: dict[str, RuleMeta],
    notes: list[Notification],
) -> None:
    """Put back what `to_json` dropped for equalling the schema default, but readers rely on."""
    run = data["runs"][0]
    for rule, rid in zip(run["tool"]["driver"].get("rules", []), rule_ids, strict=True):
        rule.setdefault("defaultConfiguration", {})["level"] = _LEVEL[metas[rid].severity]
    results = run.setdefault("results", [])
    for res, f in zip(results, findings, strict=True):
        res["level"] = _LEVEL[f.severity]
    invocation = run["invocations"][0]
    for sarif_note, note in zip(invocation.get("toolExecutionNotifications", []), notes, strict=True):
        sarif_note["level"] = _LEVEL[note.level]


def render_sarif(
    result: ScanResult,
    *,
    category: str | None,
    source_root: str | None,
    tool_version: str,
    limits: SarifLimits = GITHUB_LIMITS,
    include_absent: bool = True,
    sources: SourceCache | None = None,
) -> str:
    """`build_sarif` as text: two-space indented, keys sorted, non-ASCII kept, newline at the end."""
    data = build_sarif(
        result,
        category=category,
        source_root=source_root,
        tool_version=tool_version,
        limits=limits,
        include_absent=include_absent,
        sources=sources,
    )
    return dumps(data)


def dumps(data: dict[str, Any]) -> str:
    """The one way gleak-sarif writes SARIF text (render, merge), so outputs diff cleanly."""
    from gleak_sarif.report.printable import escape_lone_surrogates

    return escape_lone_surrogates(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)) + "\n"
