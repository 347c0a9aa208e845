"""Baselines: compare a scan with an earlier SARIF log of gleak-sarif (`scan --baseline old.sarif`).

Results are matched by `partialFingerprints["gleakFingerprint/v1"]` (see report/fingerprint.py), which
survives lines inserted above a finding. Each current finding gets a SARIF `baselineState`:

- ``new``: no baseline result has its fingerprint;
- ``unchanged``: one has, at the same place (start line and columns) with the same message;
- ``updated``: one has, but the finding moved or its message changed;

and every baseline result that matches no current finding comes back as an ``absent`` finding, rebuilt
from the baseline log, for the caller to add to the output. Such findings keep their baseline fingerprints
and UTF-16 columns in ``properties["gleak.baseline"]``; the SARIF writer uses those instead of reading the
(changed or deleted) file.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote, urlparse

from gleak_sarif.errors import ConfigError
from gleak_sarif.model import BaselineState, Finding, RelatedLocation, ScanResult, Severity, Span
from gleak_sarif.report.fingerprint import BASELINE_PROPERTY, GLEAK_FINGERPRINT_KEY, gleak_fingerprints
from gleak_sarif.report.sarif import TOOL_NAME, sarif_message, sarif_region
from gleak_sarif.report.sarif_input import check_log, load_log
from gleak_sarif.report.sources import SourceCache

_SEVERITY = {
    "error": Severity.error,
    "warning": Severity.warning,
    "note": Severity.note,
    "none": Severity.note,
}


def _fail(path: str, message: str, hint: str = "") -> ConfigError:
    return ConfigError(
        f"baseline: {message}",
        path=path,
        hint=hint or "pass a SARIF file written by `gleak-sarif scan --format sarif`",
    )


def load_baseline(path: str, source_root: str | None = None) -> list[dict[str, Any]]:
    """The gleak-sarif runs of a baseline SARIF file; ConfigError when it is not one, when a field the
    baseline reads has the wrong type (the message names its JSON path), or when a location lies outside
    ``source_root`` (absent results are shown with code frames read from the disk: a committed baseline
    must not make the scan print `/etc/passwd`)."""
    if not os.path.exists(path):
        raise _fail(path, "file not found", "check the --baseline path")
    data = load_log(path, "baseline")
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise _fail(path, "not a SARIF log (no `runs` array)")
    if data.get("version") != "2.1.0":
        raise _fail(path, f"SARIF version {data.get('version')!r} is not supported (need 2.1.0)")
    check_log(data, path, "baseline", source_root=source_root, root_only=True)
    runs = []
    for run in data["runs"]:
        name = (
            (((run or {}).get("tool") or {}).get("driver") or {}).get("name")
            if isinstance(run, dict)
            else None
        )
        if name == TOOL_NAME:
            runs.append(run)
    if data["runs"] and not runs:
        raise _fail(path, f"it has no run of {TOOL_NAME} (a baseline must come from the same tool)")
    for run in runs:
        if not isinstance(run.get("results", []), list):
            raise _fail(path, "`results` is not an array")
        for i, res in enumerate(run.get("results", [])):
            prints = res.get("partialFingerprints") if isinstance(res, dict) else None
            if not isinstance(prints, dict) or not isinstance(prints.get(GLEAK_FINGERPRINT_KEY), str):
                raise _fail(
                    path,
                    f"result {i} has no partialFingerprints.{GLEAK_FINGERPRINT_KEY}",
                    "regenerate the baseline with this version of gleak-sarif",
                )
    return runs


def _region(loc: dict[str, Any]) -> tuple[str, int, int, int, int]:
    phys = loc.get("physicalLocation") or {}
    art = phys.get("artifactLocation") or {}
    reg = phys.get("region") or {}
    start_line = int(reg.get("startLine", 1))
    start_col = int(reg.get("startColumn", 1))
    return (
        str(art.get("uri", "")),
        start_line,
        start_col,
        int(reg.get("endLine", start_line)),
        int(reg.get("endColumn", start_col)),
    )


def _uri_to_path(uri: str, source_root: str) -> str:
    if uri.startswith("file://"):
        return unquote(urlparse(uri).path)
    return os.path.join(source_root, *unquote(uri).split("/"))


def _kebab(name: str) -> str:
    """`TickerNotStopped` -> `ticker-not-stopped` (SARIF rule names are the rule names in PascalCase)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def _finding_from_result(
    res: dict[str, Any], run: dict[str, Any], source_root: str, path: str, names: dict[str, str]
) -> Finding:
    rules = ((run.get("tool") or {}).get("driver") or {}).get("rules") or []
    rule_id = str(res.get("ruleId") or "")
    idx = res.get("ruleIndex")
    rule: dict[str, Any] = {}
    if isinstance(idx, int) and 0 <= idx < len(rules):
        rule = rules[idx]
    else:
        rule = next((r for r in rules if r.get("id") == rule_id), {})
    rule_id = rule_id or str(rule.get("id") or "")
    if not rule_id:
        raise _fail(path, "a result has neither ruleId nor a valid ruleIndex")
    level = res.get("level") or (rule.get("defaultConfiguration") or {}).get("level") or "warning"

    def span(loc: dict[str, Any]) -> Span:
        uri, sl, sc, el, ec = _region(loc)
        return Span(
            path=_uri_to_path(uri, source_root),
            start_byte=0,
            end_byte=0,
            start_line=sl,
            start_column=sc,
            end_line=el,
            end_column=ec,
        )

    locations = res.get("locations") or []
    if not locations:
        raise _fail(path, f"a {rule_id} result has no location")
    related = [
        RelatedLocation(span=span(loc), message=str((loc.get("message") or {}).get("text", "")))
        for loc in res.get("relatedLocations") or []
        if (loc.get("physicalLocation") or {}).get("artifactLocation")
    ]
    props = dict(res.get("properties") or {})
    region = (locations[0].get("physicalLocation") or {}).get("region") or {}
    props[BASELINE_PROPERTY] = {
        "partialFingerprints": dict(res.get("partialFingerprints") or {}),
        "columnKind": run.get("columnKind", "utf16CodeUnits"),
        "snippet": str((region.get("snippet") or {}).get("text", "")),
    }
    return Finding(
        rule_id=rule_id,
        rule_name=names.get(rule_id) or _kebab(str(rule.get("name") or "")) or rule_id,
        severity=_SEVERITY.get(str(level), Severity.warning),
        message=str((res.get("message") or {}).get("text", "")),
        primary=span(locations[0]),
        related=related,
        baseline_state=BaselineState.absent,
        properties=props,
    )


def apply_baseline(result: ScanResult, baseline_sarif_path: str) -> list[Finding]:
    """Set ``baseline_state`` on every finding of ``result``; return the baseline's absent findings.

    Paths are compared relative to ``result.source_root`` (the working directory when unset), so the
    baseline must have been written with the same source root (the default: the repository root).
    """
    source_root = os.path.realpath(result.source_root or os.getcwd())
    runs = load_baseline(baseline_sarif_path, source_root)
    sources = SourceCache()

    # fingerprint -> (baseline result, its run); a fingerprint is unique within a log by construction.
    baseline: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for run in runs:
        for res in run.get("results") or []:
            if res.get("baselineState") == BaselineState.absent.value:
                continue  # it was already gone when that log was written
            baseline.setdefault(res["partialFingerprints"][GLEAK_FINGERPRINT_KEY], (res, run))

    prints = gleak_fingerprints(result.findings, source_root, sources)
    matched: set[str] = set()
    for finding, fp in zip(result.findings, prints, strict=True):
        hit = baseline.get(fp)
        if hit is None or hit[0].get("ruleId", finding.rule_id) != finding.rule_id:
            finding.baseline_state = BaselineState.new
            continue
        matched.add(fp)
        res, _run = hit
        old_region = _region((res.get("locations") or [{}])[0])[1:]
        new_region = sarif_region(finding.primary, sources, one_line=True)
        old_message = str((res.get("message") or {}).get("text", ""))
        same = old_region == new_region and old_message == sarif_message(finding.message)
        finding.baseline_state = BaselineState.unchanged if same else BaselineState.updated

    names = {meta.id: meta.name for meta in result.rules}
    absent = []
    for fp, (res, run) in baseline.items():
        if fp not in matched:
            absent.append(_finding_from_result(res, run, source_root, baseline_sarif_path, names))
    absent.sort(key=Finding.sort_key)
    return absent
