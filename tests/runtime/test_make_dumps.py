"""Every dump that scripts/make-dumps writes (fixtures/runtime: leaky, service, goleakfail) parses
without unparsable lines, and the findings land exactly on the ``// LEAK:`` lines of leaks.tsv."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rtkit import REPO, Validation, need, run

from gleak_sarif.model import Finding
from gleak_sarif.runtime.api import analyze_parsed, diff_parsed
from gleak_sarif.runtime.mapping import SourceMap
from gleak_sarif.runtime.models import DumpFormat
from gleak_sarif.runtime.parse import parse_dump_file

# What Go 1.26.8's leak detector reports for fixtures/runtime/leaky (MANIFEST.txt): not the chan-send
# closures in a loop, not the mutex waiters, not the goroutines parked on a global channel.
LEAK_PROFILE_KINDS = {"chan-receive", "select-no-cases", "select", "waitgroup", "cond", "nil-chan-send",
                      "nil-chan-receive", "afterfunc", "waitgroup-go", "nested"}
ALL_LEAKY_KINDS = LEAK_PROFILE_KINDS | {"chan-send", "mutex"}


@pytest.fixture(scope="module")
def made(go: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("curl")
    out = tmp_path_factory.mktemp("made")
    # make-dumps caches its binaries in .cache/make-dumps: one run at a time across pytest-xdist workers.
    lock_path = REPO / ".cache" / "make-dumps.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            run([str(REPO / "scripts" / "make-dumps"), str(out)], cwd=REPO, timeout=600)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return out


@pytest.fixture(scope="module")
def kinds(made: Path) -> dict[tuple[str, int], str]:
    rows = [line.split("\t") for line in (made / "leaks.tsv").read_text().splitlines()[1:]]
    return {(str((REPO / r[0]).resolve()), int(r[1])): r[2] for r in rows}


def kinds_of(findings: list[Finding], kinds: dict[tuple[str, int], str]) -> list[str]:
    return sorted(kinds.get((str(Path(f.primary.path).resolve()), f.primary.start_line),
                            f"?{f.primary.path}:{f.primary.start_line}") for f in findings)


def test_every_dump_parses_cleanly(made: Path) -> None:
    files = sorted(p for p in made.glob("*.txt") if p.name != "MANIFEST.txt")
    assert len(files) >= 17
    for p in files:
        d = parse_dump_file(p)
        assert d.goroutines, p.name
        assert [n for n in d.notifications if n.line] == [], (p.name, d.notifications[:3])


@pytest.mark.parametrize("name", ["leakprofile-debug2.txt", "leakprofile-labels-debug2.txt",
                                  "leakprofile-debug1.txt"])
def test_leak_profile_findings(made: Path, kinds: dict[tuple[str, int], str], name: str) -> None:
    d = parse_dump_file(made / name)
    assert d.format in (DumpFormat.leak_debug1, DumpFormat.leak_debug2)
    _, result = analyze_parsed(d, SourceMap(REPO))
    got = kinds_of(result.findings, kinds)
    assert got == sorted(LEAK_PROFILE_KINDS)
    assert all(f.severity.value == "error" for f in result.findings)


@pytest.mark.parametrize("name", ["debug2.txt", "labels-debug2.txt", "trimpath-debug2.txt", "crash-all.txt",
                                  "crash-system.txt", "ancestors-debug2.txt"])
def test_debug2_all_blocked_sites(made: Path, kinds: dict[tuple[str, int], str], name: str) -> None:
    _, result = analyze_parsed(parse_dump_file(made / name), SourceMap(REPO), min_minutes=0)
    got = kinds_of(result.findings, kinds)
    # Every leak kind at its go statement (wrappers at the statement handing over the literal), plus the
    # parked goroutines (blocked for ever on a global channel: a single dump cannot tell them apart).
    known = [k for k in got if not k.startswith("?")]
    assert sorted(known) == sorted(ALL_LEAKY_KINDS)
    assert len(got) - len(known) == 1  # the parked pair, one cluster


@pytest.mark.parametrize("name,expected", [
    ("goleak-verifynone.txt", ["goleak-chan-receive", "goleak-chan-send"]),
    ("goleak-v1.2.1-verifynone.txt", ["goleak-chan-receive", "goleak-chan-send"]),
    ("goleak-verifytestmain.txt", ["goleak-testmain-chan-receive"]),
    ("goleak-v1.2.1-verifytestmain.txt", ["goleak-testmain-chan-receive"]),
])
def test_goleak_findings(made: Path, kinds: dict[tuple[str, int], str], name: str, expected: list[str]) -> None:
    d = parse_dump_file(made / name)
    assert d.format is DumpFormat.goleak
    _, result = analyze_parsed(d, SourceMap(REPO))
    assert kinds_of(result.findings, kinds) == expected


def test_service_snapshots(made: Path, kinds: dict[tuple[str, int], str]) -> None:
    before = parse_dump_file(made / "service-before-debug2.txt")
    after = parse_dump_file(made / "service-after-debug2.txt")
    _, result = diff_parsed(before, after, SourceMap(REPO))
    (f,) = result.findings
    assert kinds_of([f], kinds) == ["this go statement leaks"]
    assert f.properties["goroutines"] == 3 and f.properties["labels"]["http.route"] == ["GET /leak"]


def test_sarif_with_unmapped_and_std_only_sites(made: Path, tmp_path: Path,
                                                validate_sarif: Callable[[Path], Validation]) -> None:
    """Findings whose go statement is not in the source root (std-only stacks, another checkout) still
    produce valid SARIF: the dump's own path, said to be unmapped."""
    from gleak_sarif.report import render

    _, result = analyze_parsed(parse_dump_file(made / "service-after-debug2.txt"), SourceMap(REPO),
                               min_minutes=0)
    _, foreign = analyze_parsed(parse_dump_file(made / "leakprofile-debug2.txt"), SourceMap(tmp_path))
    result.findings += foreign.findings
    unmapped = [f for f in result.findings if f.properties["creation-site-kind"] == "unmapped"]
    assert len(unmapped) >= 2
    assert all(f.properties["unmapped"] and "Unmapped:" in f.message for f in unmapped)
    out = tmp_path / "unmapped.sarif"
    out.write_text(render(result, "sarif", source_root=str(REPO)))
    log = json.loads(out.read_text())
    assert len(log["runs"][0]["results"]) == len(result.findings)
    v = validate_sarif(out)
    assert v.errors == [] and v.warnings == [], (v.errors, v.warnings)
