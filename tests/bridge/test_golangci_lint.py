"""golangci-lint v2 with the gleak module plugin, end to end.

Uses $GLEAK_GOLANGCI_LINT, or builds (or reuses) the custom binary with scripts/build-golangci-lint (Go
module proxy only), then lints a copy of tests/bridge/fixture_module with the real engine. Under CI=true a
missing Go toolchain or a failed build fails these tests; locally they are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "fixture_module"
TEST_RULE = REPO / "goshim" / "testdata" / "rules" / "TST001-unbuffered-make.yml"
BINARY = REPO / ".cache" / "golangci-lint" / "bin" / "golangci-lint"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def golangci_lint() -> Path:
    # scripts/test builds the binary once and passes it on; otherwise build (or reuse the cached) one
    given = os.environ.get("GLEAK_GOLANGCI_LINT")
    if given and os.access(given, os.X_OK):
        return Path(given)
    if shutil.which("go") is None:
        _unavailable("'go' is not installed")
    proc = subprocess.run(
        [str(REPO / "scripts" / "build-golangci-lint"), str(BINARY)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        _unavailable(f"scripts/build-golangci-lint failed:\n{proc.stderr[-4000:]}")
    return BINARY


@pytest.fixture()
def module(tmp_path: Path) -> Path:
    dest = tmp_path / "leaky"
    shutil.copytree(FIXTURE, dest)
    return dest


def _engine() -> list[str]:
    return [sys.executable, "-m", "gleak_sarif"]


def _documented_severity() -> dict[str, Any]:
    """The `severity` section of the `.golangci.yml` docs/golangci-lint.md shows: gleak's severity is in
    each issue's text (a plugin cannot set golangci-lint's severity field) and these rules copy it there.
    Read from the page, so the tested config is the documented one."""
    import re

    import yaml

    page = (REPO / "docs" / "golangci-lint.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if b.startswith('version: "2"'))
    severity = yaml.safe_load(block)["severity"]
    assert isinstance(severity, dict)
    return severity


def _write_config(module: Path, settings: dict[str, Any], *, linters: tuple[str, ...] = ("gleak",),
                  severity: dict[str, Any] | None = None) -> None:
    # JSON is valid YAML: no YAML writer needed, and the layout is exactly the v2 schema's.
    config: dict[str, Any] = {
        "version": "2",
        "linters": {
            "default": "none",
            "enable": list(linters),
            "settings": {
                "custom": {
                    "gleak": {
                        "type": "module",
                        "description": "goroutine leaks (gleak-sarif)",
                        "original-url": "github.com/gleak-sarif/gleak-sarif",
                        "settings": settings,
                    }
                }
            },
        },
        "issues": {"max-issues-per-linter": 0, "max-same-issues": 0},
    }
    if severity is not None:
        config["severity"] = severity
    (module / ".golangci.yml").write_text(json.dumps(config, indent=2) + "\n")


def _run(
    binary: Path, module: Path, cache: Path, *args: str, debug: str = ""
) -> tuple[int, list[dict[str, Any]], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "GOLANGCI_LINT_CACHE": str(cache), "GOFLAGS": "-mod=mod"}
    if debug:
        env["GL_DEBUG"] = debug
    proc = subprocess.run(
        [
            str(binary),
            "run",
            "--allow-parallel-runners",
            "--output.json.path=stdout",
            "--show-stats=false",
            *args,
            "./...",
        ],
        cwd=module,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    issues: list[dict[str, Any]] = []
    if proc.stdout.strip():
        issues = json.loads(proc.stdout.strip().splitlines()[0]).get("Issues") or []
    return proc.returncode, issues, proc.stderr


def _where(issue: dict[str, Any]) -> tuple[str, int, int]:
    pos = issue["Pos"]
    return (Path(pos["Filename"]).name, pos["Line"], pos["Column"])


def _rule(issue: dict[str, Any]) -> str:
    """The rule ID at the start of the text (`GL201 warning: ...`)."""
    return str(issue["Text"]).split(" ", 1)[0]


def _locate(module: Path, needle: str, *, line_has: str = "") -> tuple[str, int, int]:
    """file, 1-based line and byte column of the first `needle` on a line that also has `line_has`."""
    for number, line in enumerate((module / "leaky.go").read_bytes().split(b"\n"), start=1):
        if needle.encode() in line and line_has.encode() in line:
            return ("leaky.go", number, line.index(needle.encode()) + 1)
    raise AssertionError(f"{needle!r} not in the fixture")


# Rules are pinned with select so that rules added later cannot change these tests' expectations.
PINNED = ["GL201", "GL402", "GL506"]


def test_findings_positions_and_nolint(golangci_lint: Path, module: Path, tmp_path: Path) -> None:
    # fail-level note: GL402 is a note since the levels by evidence (bench/levels.py)
    _write_config(module, {"engine": _engine(), "select": PINNED, "fail-level": "note"},
                  linters=("gleak", "nolintlint"))
    code, issues, stderr = _run(golangci_lint, module, tmp_path / "cache")
    assert code == 1, stderr
    got = {(_where(i), _rule(i)) for i in issues}
    # all from gleak: nolintlint finds the //nolint:gleak used (the engine leaves nolint to golangci-lint)
    assert all(i["FromLinter"] == "gleak" for i in issues), issues
    go_stmt = _locate(module, "go func()", line_has="go func() {")
    assert got == {
        (go_stmt, "GL201"),  # the goroutine's go statement
        (_locate(module, "wg.Add(1)"), "GL402"),
        # GL506 on the Launch line is silenced by //nolint:gleak
    }, issues
    gl201 = next(i for i in issues if i["Text"].startswith("GL201 warning: "))
    assert "the send then blocks forever" in gl201["Text"]


def _scan(module: Path, *args: str) -> list[dict[str, Any]]:
    """`gleak-sarif scan` on the module: its unsuppressed findings (what it fails on, given a level)."""
    proc = subprocess.run([*_engine(), "scan", "--no-cache", "-q", "--format", "json", *args, "."], cwd=module,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode in (0, 1), proc.stderr
    return [f for f in json.loads(proc.stdout)["findings"] if f["suppression"] is None]


def _key(f: dict[str, Any]) -> tuple[str, str, int]:
    return (f["rule_id"], Path(f["primary"]["path"]).name, f["primary"]["start_line"])


RANK = {"note": 1, "warning": 2, "error": 3}


def test_same_findings_as_scan_at_the_default_levels(golangci_lint: Path, module: Path, tmp_path: Path) -> None:
    """golangci-lint with gleak (default settings, default rules) reports the (rule, file, line) set
    `scan` fails on at its default fail level, severities included. leaky.go has a line with a GL104 note
    and a GL403 error: a note does not fail `scan`, so golangci-lint must show the error there."""
    _write_config(module, {"engine": _engine()}, severity=_documented_severity())
    code, issues, stderr = _run(golangci_lint, module, tmp_path / "cache")
    assert code == 1, stderr
    failing = [f for f in _scan(module) if RANK[f["severity"]] >= RANK["warning"]]
    got = {(_rule(i), Path(i["Pos"]["Filename"]).name, i["Pos"]["Line"]) for i in issues}
    assert got == {_key(f) for f in failing}, issues
    shared = {f["primary"]["start_line"] for f in _scan(module) if f["rule_id"] == "GL104"} & {
        f["primary"]["start_line"] for f in failing if f["rule_id"] == "GL403"}
    assert shared, "the fixture must keep a GL104 note and a GL403 error on one line"
    assert ("GL403", "leaky.go", shared.pop()) in got
    # golangci-lint's severity field carries gleak's severity (through the documented severity rules)
    severities = {_key(f): f["severity"] for f in failing}
    assert {(_rule(i), Path(i["Pos"]["Filename"]).name, i["Pos"]["Line"]): i["Severity"] for i in issues} == \
        severities


def test_fail_level_note_keeps_the_most_severe_per_line(golangci_lint: Path, module: Path, tmp_path: Path) -> None:
    """fail-level: note reports notes too; golangci-lint keeps one issue per line (uniq-by-line), and it
    is the most severe one: the GL403 error, not the GL104 note, on their shared line."""
    _write_config(module, {"engine": _engine(), "fail-level": "note"}, severity=_documented_severity())
    _, issues, stderr = _run(golangci_lint, module, tmp_path / "cache")
    best: dict[tuple[str, int], dict[str, Any]] = {}
    for f in _scan(module, "--fail-level", "note"):
        where = (Path(f["primary"]["path"]).name, f["primary"]["start_line"])
        if where not in best or RANK[f["severity"]] > RANK[best[where]["severity"]]:
            best[where] = f
    got = {(_rule(i), Path(i["Pos"]["Filename"]).name, i["Pos"]["Line"]) for i in issues}
    assert got == {_key(f) for f in best.values()}, stderr
    assert any(f["rule_id"] == "GL104" for f in best.values()), "a note line of its own is reported"
    # with uniq-by-line off, every finding shows
    _, issues, _ = _run(golangci_lint, module, tmp_path / "cache", "--uniq-by-line=false")
    assert {(_rule(i), Path(i["Pos"]["Filename"]).name, i["Pos"]["Line"]) for i in issues} == {
        _key(f) for f in _scan(module, "--fail-level", "note")}


def test_nolint_is_what_silences_gl506(golangci_lint: Path, module: Path, tmp_path: Path) -> None:
    source = module / "leaky.go"
    source.write_text(source.read_text().replace(" //nolint:gleak // the helper detaches and reaps itself", ""))
    _write_config(module, {"engine": _engine(), "select": PINNED})
    _, issues, stderr = _run(golangci_lint, module, tmp_path / "cache")
    assert (_locate(module, "exec.CommandContext", line_has=".Start()"), "GL506") in {
        (_where(i), _rule(i)) for i in issues
    }, stderr


def test_fix_makes_the_channel_buffered(golangci_lint: Path, module: Path, tmp_path: Path) -> None:
    _write_config(module, {"engine": _engine(), "select": ["GL201"]})
    code, issues, stderr = _run(golangci_lint, module, tmp_path / "cache", "--fix")
    source = (module / "leaky.go").read_text()
    assert "ch := make(chan int, 1)" in source, stderr
    assert "make(chan int)" not in source
    assert issues == [], "golangci-lint drops issues it fixed"
    assert code == 0
    # the fixed module still builds, and the rule no longer fires
    subprocess.run(
        ["go", "build", "./..."], cwd=module, check=True, env={**os.environ, "GOFLAGS": "-mod=mod"}
    )
    code, issues, _ = _run(golangci_lint, module, tmp_path / "cache")
    assert (code, issues) == (0, [])


def test_rule_change_shows_without_cache_clean(golangci_lint: Path, module: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = rules / "TST001.yml"
    rule.write_text(TEST_RULE.read_text())
    _write_config(module, {"engine": _engine(), "rules": [str(rules)], "select": ["TST001"]})
    cache = tmp_path / "cache"
    debug = "goanalysis/issues/cache"

    _, issues, _ = _run(golangci_lint, module, cache, debug=debug)
    assert [i["Text"] for i in issues] == ["TST001 warning: unbuffered channel of int made here"]

    # unchanged: served from golangci-lint's cache (so the next step really tests invalidation)
    _, issues, stderr = _run(golangci_lint, module, cache, debug=debug)
    assert [i["Text"] for i in issues] == ["TST001 warning: unbuffered channel of int made here"]
    assert "issues (1) from cache" in stderr, stderr

    rule.write_text(
        TEST_RULE.read_text().replace("unbuffered channel of $T", "channel of $T without a buffer")
    )
    _, issues, stderr = _run(golangci_lint, module, cache, debug=debug)
    assert [i["Text"] for i in issues] == ["TST001 warning: channel of int without a buffer made here"], stderr
    assert "issues (1) from cache" not in stderr, "the changed rule must invalidate the cached result"


def test_missing_engine_fails_with_a_clear_error(golangci_lint: Path, module: Path, tmp_path: Path) -> None:
    _write_config(module, {"engine": "gleak-sarif-not-installed"})
    code, issues, stderr = _run(golangci_lint, module, tmp_path / "cache")
    assert code == 3, stderr
    assert issues == []
    # golangci-lint logs it with escaped quotes: engine \"gleak-sarif-not-installed\" not found in PATH
    assert "Can't run linter" in stderr and "gleak-sarif-not-installed" in stderr, stderr
    # installs that work today come first; the PyPI name is marked as coming with the first release
    assert "not found in PATH: install gleak-sarif from a checkout" in stderr
    assert "pip install gleak-sarif works after the first release" in stderr


def test_missing_engine_warn_keeps_other_linters(golangci_lint: Path, module: Path, tmp_path: Path) -> None:
    _write_config(
        module, {"engine": "gleak-sarif-not-installed", "on-engine-error": "warn"}, linters=("gleak", "govet")
    )
    code, issues, stderr = _run(golangci_lint, module, tmp_path / "cache")
    assert code == 1, stderr
    texts = [(i["FromLinter"], i["Text"]) for i in issues]
    assert any(linter == "govet" and "Sprintf format %d" in text for linter, text in texts), texts
    assert [t for t in texts if t[0] == "gleak"] == [
        (
            "gleak",
            'gleak: engine failed, package not checked: engine "gleak-sarif-not-installed" '
            "not found in PATH: install gleak-sarif from a checkout (pip install ./gleak-sarif) or from git "
            "(pip install git+https://github.com/gleak-sarif/gleak-sarif), or set "
            "linters.settings.custom.gleak.settings.engine (a list such as [python, -m, gleak_sarif] "
            "for a command with arguments); pip install gleak-sarif works after the first release",
        )
    ]
    assert "WARN [gleak]" in stderr


def test_engine_crash_names_exit_status_and_stderr(golangci_lint: Path, module: Path, tmp_path: Path) -> None:
    crash = "import sys; sys.stderr.write('Traceback: boom\\n'); sys.exit(5)"
    _write_config(module, {"engine": [sys.executable, "-c", crash]})
    code, _, stderr = _run(golangci_lint, module, tmp_path / "cache")
    assert code == 3
    assert "the engine crashed" in stderr and "exit status 5" in stderr and "Traceback: boom" in stderr, (
        stderr
    )
