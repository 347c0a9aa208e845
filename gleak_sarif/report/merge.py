"""Merge SARIF logs of sharded gleak-sarif runs into one run (`gleak-sarif merge a.sarif b.sarif -o all.sarif`).

GitHub rejects a delivery with two runs of one tool and category, so a monorepo scanned in parallel jobs
must upload one merged run. Merging requires the same tool (name and version), the same category
(`automationDetails.id`) and the same source root (`originalUriBaseIds.SRCROOT`): results of different
versions, categories or roots are different analyses and must stay apart. Rules are deduplicated by id,
artifacts by URI, results by (ruleId, fingerprint, location); `ruleIndex` and artifact indices are
renumbered (artifacts in the order the SARIF writer gives them, so that the shards of `scan --shard K/N`
merge into the log one unsharded scan writes); notifications are concatenated; the invocation spans the earliest start to the latest end.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

from gleak_sarif.errors import ConfigError
from gleak_sarif.report.fingerprint import GLEAK_FINGERPRINT_KEY, LINE_HASH_KEY
from gleak_sarif.report.sarif import (
    GITHUB_LIMITS,
    SARIF_VERSION,
    SCHEMA_URI,
    SRCROOT,
    SarifLimits,
    format_utc,
    parse_time,
)
from gleak_sarif.report.sarif_input import check_log, load_log

_LEVEL_RANK = {"error": 3, "warning": 2, "note": 1, "none": 0}


def _load(path: str) -> dict[str, Any]:
    """The log at ``path``, every field merge reads checked (exit 2 with the JSON path of a bad one; a
    result URI that leaves the source root is refused)."""
    data = load_log(path, "merge")
    if isinstance(data, dict) and not isinstance(data.get("runs"), list):
        raise ConfigError("merge: not a SARIF log (no `runs` array)", path=path)
    check_log(data, path, "merge", source_root=None, root_only=False)
    assert data.get("version") == SARIF_VERSION
    return data


def _one(values: dict[str, str], what: str, hint: str) -> str | None:
    """The single value shared by all inputs (None when none has one); ConfigError when they differ."""
    distinct = sorted(set(values.values()))
    if len(distinct) > 1:
        listing = "; ".join(f"{p}: {v}" for p, v in values.items())
        raise ConfigError(f"merge: the logs have different {what} ({listing})", hint=hint)
    return distinct[0] if distinct else None


def _reindex_artifacts(node: Any, mapping: dict[int, int]) -> None:
    """Renumber every `artifactLocation.index` below ``node`` in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "artifactLocation" and isinstance(value, dict) and isinstance(value.get("index"), int):
                old = value["index"]
                if old in mapping:
                    value["index"] = mapping[old]
                else:
                    del value["index"]  # dangling in the input: the uri still says where
            else:
                _reindex_artifacts(value, mapping)
    elif isinstance(node, list):
        for item in node:
            _reindex_artifacts(item, mapping)


def _result_key(res: dict[str, Any]) -> str:
    prints = res.get("partialFingerprints") or {}
    fp = prints.get(GLEAK_FINGERPRINT_KEY) or prints.get(LINE_HASH_KEY) or ""
    loc = ((res.get("locations") or [{}])[0]).get("physicalLocation") or {}
    art = loc.get("artifactLocation") or {}
    reg = loc.get("region") or {}
    return json.dumps(
        [
            res.get("ruleId"),
            fp,
            art.get("uri"),
            art.get("uriBaseId"),
            reg.get("startLine"),
            reg.get("startColumn"),
        ]
    )


def _artifact_refs(node: Any, out: list[int]) -> None:
    """`artifactLocation.index` values below ``node``, depth first in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "artifactLocation" and isinstance(value, dict) and isinstance(value.get("index"), int):
                out.append(value["index"])
            else:
                _artifact_refs(value, out)
    elif isinstance(node, list):
        for item in node:
            _artifact_refs(item, out)


def _number_as_written(artifacts: list[dict[str, Any]], results: list[dict[str, Any]],
                       notifications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Renumber the artifacts as the SARIF writer numbers them: in the order the sorted results first
    name them (each result's location, then its related locations, fixes and code flows), the rest after.
    Shards merged then give the same log as one scan of everything (tests/sarif/test_shard_merge.py)."""
    order: list[int] = []
    for res in results:
        for key in ("locations", "relatedLocations", "fixes", "codeFlows"):
            _artifact_refs(res.get(key), order)
    mapping: dict[int, int] = {}
    for old in [*order, *range(len(artifacts))]:
        if 0 <= old < len(artifacts) and old not in mapping:
            mapping[old] = len(mapping)
    for item in [*results, *notifications]:
        _reindex_artifacts(item, mapping)
    renumbered: list[dict[str, Any]] = [{} for _ in artifacts]
    for old, new in mapping.items():
        renumbered[new] = artifacts[old]
    return renumbered


def _sort_key(res: dict[str, Any]) -> tuple[str, int, int, str]:
    loc = ((res.get("locations") or [{}])[0]).get("physicalLocation") or {}
    reg = loc.get("region") or {}
    return (
        str((loc.get("artifactLocation") or {}).get("uri", "")),
        int(reg.get("startLine", 0)),
        int(reg.get("startColumn", 0)),
        str(res.get("ruleId", "")),
    )


def merge_sarif(paths: list[str], *, limits: SarifLimits = GITHUB_LIMITS) -> dict[str, Any]:
    """Merge the runs of several gleak-sarif SARIF logs into a log with exactly one run."""
    if not paths:
        raise ConfigError("merge: no input files", hint="gleak-sarif merge a.sarif b.sarif -o all.sarif")
    runs: list[tuple[str, dict[str, Any]]] = []
    for path in paths:
        for run in _load(path)["runs"]:
            if not isinstance(run, dict):
                raise ConfigError("merge: a run is not an object", path=path)
            runs.append((path, run))
    if not runs:
        raise ConfigError(
            "merge: the inputs contain no run", hint="pass SARIF files written by gleak-sarif scan"
        )

    drivers = {f"{p}#{i}": (r.get("tool") or {}).get("driver") or {} for i, (p, r) in enumerate(runs)}
    name = _one(
        {k: str(d.get("name")) for k, d in drivers.items()}, "tools", "merge only logs of gleak-sarif"
    )
    version = _one(
        {k: str(d.get("semanticVersion") or d.get("version")) for k, d in drivers.items()},
        "tool versions",
        "scan all shards with the same gleak-sarif version",
    )
    category = _one(
        {
            f"{p}#{i}": str(r["automationDetails"]["id"])
            for i, (p, r) in enumerate(runs)
            if isinstance(r.get("automationDetails"), dict) and r["automationDetails"].get("id")
        },
        "categories (automationDetails.id)",
        "shards of one analysis use one --category; upload different categories separately",
    )
    srcroot = _one(
        {
            f"{p}#{i}": str(r["originalUriBaseIds"][SRCROOT].get("uri"))
            for i, (p, r) in enumerate(runs)
            if isinstance((r.get("originalUriBaseIds") or {}).get(SRCROOT), dict)
        },
        "source roots (originalUriBaseIds.SRCROOT)",
        "scan every shard with the same --source-root (the repository root)",
    )
    column_kind = _one(
        {f"{p}#{i}": str(r["columnKind"]) for i, (p, r) in enumerate(runs) if r.get("columnKind")},
        "column kinds",
        "merge only logs of gleak-sarif",
    )

    base_driver = copy.deepcopy(next(iter(drivers.values())))
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    artifacts: list[dict[str, Any]] = []
    artifact_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    seen_results: set[str] = set()
    notifications: list[dict[str, Any]] = []
    seen_notes: set[str] = set()
    starts: list[datetime] = []
    ends: list[datetime] = []
    success = True
    invocation_props: dict[str, Any] = {}

    for path, run in runs:
        driver = (run.get("tool") or {}).get("driver") or {}
        old_rules = driver.get("rules") or []
        for rule in old_rules:
            rid = rule.get("id")
            if isinstance(rid, str) and rid not in rule_index:
                rule_index[rid] = len(rules)
                rules.append(copy.deepcopy(rule))
        mapping: dict[int, int] = {}
        for i, art in enumerate(run.get("artifacts") or []):
            loc = art.get("location") or {}
            key = json.dumps([loc.get("uri"), loc.get("uriBaseId")])
            if key not in artifact_index:
                artifact_index[key] = len(artifacts)
                artifacts.append(copy.deepcopy(art))
            mapping[i] = artifact_index[key]
        for res in run.get("results") or []:
            res = copy.deepcopy(res)
            rid = res.get("ruleId")
            if not isinstance(rid, str):
                idx = res.get("ruleIndex")
                if not (isinstance(idx, int) and 0 <= idx < len(old_rules)):
                    raise ConfigError("merge: a result has neither ruleId nor a valid ruleIndex", path=path)
                rid = res["ruleId"] = old_rules[idx]["id"]
            if rid in rule_index:
                res["ruleIndex"] = rule_index[rid]
            else:
                res.pop("ruleIndex", None)
            _reindex_artifacts(res, mapping)
            key = _result_key(res)
            if key not in seen_results:
                seen_results.add(key)
                results.append(res)
        for inv in run.get("invocations") or []:
            success = success and inv.get("executionSuccessful", True) is not False
            for t, bucket in ((inv.get("startTimeUtc"), starts), (inv.get("endTimeUtc"), ends)):
                parsed = parse_time(t)
                if parsed is not None:
                    bucket.append(parsed)
            for note in inv.get("toolExecutionNotifications") or []:
                note = copy.deepcopy(note)
                _reindex_artifacts(note, mapping)
                key = json.dumps(note, sort_keys=True)
                if key not in seen_notes:
                    seen_notes.add(key)
                    notifications.append(note)
            for k, v in (inv.get("properties") or {}).items():
                if isinstance(v, int) and isinstance(invocation_props.get(k, 0), int):
                    invocation_props[k] = invocation_props.get(k, 0) + v  # file counts add up
                else:
                    invocation_props.setdefault(k, v)

    results.sort(key=_sort_key)
    if len(results) > limits.results:
        ranked = sorted(
            range(len(results)),
            key=lambda i: (
                bool(results[i].get("suppressions")),
                -_LEVEL_RANK.get(results[i].get("level", "warning"), 2),
                i,
            ),
        )
        keep = sorted(ranked[: limits.results])
        notifications.append(
            {
                "descriptor": {"id": "limit"},
                "level": "error",
                "message": {
                    "text": f"{len(results) - len(keep)} of {len(results)} merged results were left out: GitHub code "
                    f"scanning rejects runs with more than {limits.results} results. The most severe "
                    "unsuppressed results were kept."
                },
            }
        )
        results = [results[i] for i in keep]

    artifacts = _number_as_written(artifacts, results, notifications)
    base_driver["rules"] = rules
    base_driver["name"] = name
    if version and "semanticVersion" in base_driver:
        base_driver["semanticVersion"] = version
    invocation: dict[str, Any] = {"executionSuccessful": success}
    if starts:
        invocation["startTimeUtc"] = format_utc(min(starts))
    if ends:
        invocation["endTimeUtc"] = format_utc(max(ends))
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    if invocation_props:
        invocation["properties"] = invocation_props
    merged: dict[str, Any] = {
        "tool": {"driver": base_driver},
        "invocations": [invocation],
        "results": results,
    }
    if category:
        merged["automationDetails"] = {"id": category}
    if srcroot:
        merged["originalUriBaseIds"] = {SRCROOT: {"uri": srcroot}}
    if artifacts:
        merged["artifacts"] = artifacts
    if column_kind:
        merged["columnKind"] = column_kind
    return {"$schema": SCHEMA_URI, "version": SARIF_VERSION, "runs": [merged]}
