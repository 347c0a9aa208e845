"""The precision triage data (bench/triage/) is well formed and docs/precision.md is generated from it."""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
TRIAGE = REPO / "bench" / "triage"
CORPUS = TRIAGE / "corpus"
VERDICT_COLUMNS = ["corpus", "path", "line", "verdict", "reason"]
SAMPLE_COLUMNS = ["rule", "corpus", "path", "line", "severity", "message"]
RULE_FILE = re.compile(r"^GL\d{3}\.tsv$")


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _corpora() -> dict[str, str]:
    _, rows = _rows(REPO / "bench" / "corpus.tsv")
    return {row["name"]: row["set"] for row in rows}


def _set_of(label: str) -> str:
    """The corpus set a scan label belongs to: bench/corpus.py prefixes every set but `precision`."""
    return next((s for s in ("heldout", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8") if label.startswith(f"{s}-")), "precision")


def _labels() -> list[str]:
    return sorted(p.name[: -len(".counts.tsv")] for p in CORPUS.glob("*.counts.tsv"))


def test_corpus_list_is_pinned_and_sized() -> None:
    columns, rows = _rows(REPO / "bench" / "corpus.tsv")
    assert columns == ["name", "set", "module", "version", "style"]
    sets = Counter(row["set"] for row in rows)
    assert sets["precision"] >= 12 and 4 <= sets["heldout"] <= 6 and 10 <= sets["fresh"] <= 14
    assert 12 <= sets["fresh2"] <= 14 and 10 <= sets["fresh3"] <= 12 and sets["fresh4"] == 12
    assert sets["fresh5"] == 12 and sets["fresh6"] == 12 and sets["fresh7"] == 14
    assert sets["fresh8"] == 14
    for row in rows:
        # a release tag, or a pseudo-version (vX.0.0-yyyymmddhhmmss-commit) for a module without tags: both
        # name one exact commit (`+incompatible`: a v2+ release tag of a repository without a /vN module path)
        assert re.fullmatch(r"v\d+\.\d+\.\d+(-[\w.]+)?(\+incompatible)?|v\d+\.0\.0-\d{14}-[0-9a-f]{12}", row["version"]), row
    # none of the four tuning corpora (nats-server, not the nats.go client), none of the projects of the
    # reserved evaluation sets. kubernetes/kubernetes publishes its modules as k8s.io/...; sigs.k8s.io/...
    # (kubernetes-sigs projects such as controller-runtime) is a different code base and allowed.
    banned = ("golang.org/", "google.golang.org/grpc", "go.etcd.io", "nats-io/nats-server", "cockroach", "hugo",
              "istio", "kubernetes", "moby", "docker", "knative", "syncthing")
    for row in rows:
        assert not any(b in row["module"] for b in banned), row["module"]
        assert not row["module"].startswith("k8s.io/"), row["module"]
    _, sizes = _rows(CORPUS / "sizes.tsv")
    assert {row["corpus"] for row in sizes} == {row["name"] for row in rows}


def test_verdict_files_are_well_formed() -> None:
    corpora = _corpora()
    files = [p for p in CORPUS.iterdir() if RULE_FILE.match(p.name)]
    assert files
    for path in files:
        columns, rows = _rows(path)
        assert columns == VERDICT_COLUMNS, path
        seen = set()
        for row in rows:
            where = f"{path.name}: {row}"
            assert row["corpus"] in corpora, where
            assert row["line"].isdigit(), where
            assert row["verdict"] in ("tp", "fp", "unsure"), where
            assert len(row["reason"].strip()) >= 10, where
            key = (row["corpus"], row["path"], row["line"])
            assert key not in seen, f"duplicate verdict {where}"
            seen.add(key)


def test_tuning_corpus_files_are_well_formed() -> None:
    for path in TRIAGE.glob("GL*.tsv"):
        columns, rows = _rows(path)
        if path.name.endswith(".counts.tsv"):
            assert columns == ["corpus", "files", "findings"], path
            continue
        assert columns == VERDICT_COLUMNS, path
        for row in rows:
            assert row["verdict"] in ("tp", "fp", "unsure"), (path.name, row)


@pytest.mark.parametrize("label", _labels())
def test_every_sampled_finding_is_judged(label: str) -> None:
    corpora = _corpora()
    columns, counts = _rows(CORPUS / f"{label}.counts.tsv")
    assert columns == ["rule", "corpus", "findings"]
    wanted_set = _set_of(label)
    for row in counts:
        assert corpora.get(row["corpus"]) == wanted_set, (label, row)
    total = Counter[str]()
    for row in counts:
        total[row["rule"]] += int(row["findings"])
    sample_file = CORPUS / f"{label}.sample.tsv"
    if not sample_file.exists():
        return  # counted, not sampled yet (the held-out baseline is counted only)
    columns, sample = _rows(sample_file)
    assert columns == SAMPLE_COLUMNS
    sampled = Counter(row["rule"] for row in sample)
    # up to 30 per rule (fewer for the notes of a set with a NOTE_SAMPLE), every finding when there are fewer
    notes = {rule for rule in total if all(row["severity"] == "note" for row in sample if row["rule"] == rule)}
    limit = _load("corpus").NOTE_SAMPLE.get(wanted_set, 30)
    assert sampled == Counter({rule: min(limit if rule in notes else 30, n) for rule, n in total.items()}), label
    judged = {}
    for path in CORPUS.iterdir():
        if RULE_FILE.match(path.name):
            for row in _rows(path)[1]:
                judged[(path.stem, row["corpus"], row["path"], row["line"])] = row["verdict"]
    missing = [row for row in sample if (row["rule"], row["corpus"], row["path"], row["line"]) not in judged]
    assert not missing, f"sampled findings of {label} without a verdict: {missing[:3]}"


def test_sample_is_the_lowest_hashes() -> None:
    """The sample is reproducible from the findings: bench/corpus.py's order (rule, corpus, path, line)."""
    corpus = _load("corpus")
    for label in _labels():
        sample_file = CORPUS / f"{label}.sample.tsv"
        if not sample_file.exists():
            continue
        rows = _rows(sample_file)[1]
        findings = [corpus.Finding(r["rule"], r["corpus"], r["path"], int(r["line"]), r["severity"], r["message"])
                    for r in rows]
        assert [f.key for f in corpus.sample(findings, _set_of(label))] == [f.key for f in findings], label


def test_precision_doc_is_generated_from_the_triage() -> None:
    report = _load("precision_report")
    assert (REPO / "docs" / "precision.md").read_text(encoding="utf-8") == report.render(), (
        "docs/precision.md disagrees with bench/triage/: run `.venv/bin/python bench/precision_report.py --write`"
    )


def test_levels_by_file_kind_splits_test_files_and_counts_fixed_shapes() -> None:
    """The per-level tables of the level section: first-seen verdicts of the rules on by default, summed per
    level now, `*_test.go` apart; an fp the last scan no longer reports counts only in the first column. The
    second table puts a finding at its effective level: GL3's `severity-in-tests: note` moves its test-file
    findings (not its other ones) to the note rows."""
    report = _load("precision_report")
    from gleak_sarif.model import Precision, RuleMeta, Severity

    def meta(rule_id: str, severity: Severity, on: bool = True, in_tests: Severity | None = None) -> RuleMeta:
        return RuleMeta(id=rule_id, name="r", severity=severity, precision=Precision.high, summary="s", what="w",
                        why="y", enabled_by_default=on, severity_in_tests=in_tests)

    metas = {"GL1": meta("GL1", Severity.warning), "GL2": meta("GL2", Severity.warning, on=False),
             "GL3": meta("GL3", Severity.warning, in_tests=Severity.note)}
    keys = {
        ("GL1", "c", "a_test.go", 1): "tp", ("GL1", "c", "a_test.go", 2): "fp", ("GL1", "c", "a_test.go", 3): "fp",
        ("GL1", "c", "a.go", 4): "tp", ("GL1", "c", "a.go", 5): "unsure", ("GL2", "c", "b.go", 6): "fp",
        ("GL3", "c", "d_test.go", 7): "fp", ("GL3", "c", "d.go", 8): "tp",
    }
    seen = dict.fromkeys(keys, "scan")
    latest = {("GL1", "c", "a_test.go", 2), ("GL3", "c", "d_test.go", 7)}
    lines = report.levels_by_file_kind(metas, seen, latest, keys)
    own = lines[:lines.index("| level (effective level) | files | first-seen tp / fp / unsure | precision "
                             "| fp still reported | without fixed shapes | bar |")]
    effective = lines[len(own):]
    assert [line for line in own if line.startswith(("| warning", "| note"))] == [
        "| warning | test files | 1 / 3 / 0 | 25% | 2 | 33% | **below** / **below** |",
        "| warning | other files | 2 / 0 / 1 | 100% | 0 | 100% | meets / meets |",
        "| warning | all files | 3 / 3 / 1 | 50% | 2 | 60% | **below** / **below** |",
        "| note | test files | 0 / 0 / 0 | n/a | 0 | n/a | **below** / **below** |",
        "| note | other files | 0 / 0 / 0 | n/a | 0 | n/a | **below** / **below** |",
        "| note | all files | 0 / 0 / 0 | n/a | 0 | n/a | **below** / **below** |",
    ]
    assert [line for line in effective if line.startswith(("| warning", "| note"))] == [
        "| warning | test files | 1 / 2 / 0 | 33% | 1 | 50% | **below** / **below** |",
        "| warning | other files | 2 / 0 / 1 | 100% | 0 | 100% | meets / meets |",
        "| warning | all files | 3 / 2 / 1 | 60% | 1 | 75% | **below** / meets |",
        "| note | test files | 0 / 1 / 0 | 0% | 1 | 0% | **below** / **below** |",
        "| note | other files | 0 / 0 / 0 | n/a | 0 | n/a | **below** / **below** |",
        "| note | all files | 0 / 1 / 0 | 0% | 1 | 0% | **below** / **below** |",
    ]
    rows = [line for line in report.rules_by_file_kind(metas, seen, latest, keys, {"GL3": {"in tests": "note"}})
            if line.startswith("| GL")]
    assert rows == [
        "| GL1 | warning, on | 1 / 2 / 0 | 33% | 1 | 50% | 1 / 0 / 1 | 100% | 0 | 100% |  |",
        "| GL2 | warning, off | 0 / 0 / 0 | n/a | 0 | n/a | 0 / 1 / 0 | 0% | 0 | n/a |  |",
        "| GL3 | warning, on, note in tests | 0 / 1 / 0 | 0% | 1 | 0% | 1 / 0 / 0 | 100% | 0 | 100% | note |",
    ]
