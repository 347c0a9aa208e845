"""Issue 18 item 2: a fix must remove the leak, or not be offered.

For every rule that offers a fix: copy its fixtures into a module, run its leak drivers
(`drivers/<ID>_test.go`: one `TestLeak_<Func>` per leaking fixture function, counting goroutines with
`runtime.NumGoroutine` and a settle loop) under `go test -race` to see the leaks, apply the fixes with the
real `gleak-sarif scan --fix`, re-scan (every fixed finding is gone, the ones without a fix stay), check
the fixed code builds and is gofmt-clean, and run the drivers again: no goroutine may be left.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.kit import REPO, run_cli, scan_json
from tests.helpers import require_tool

DRIVERS = Path(__file__).parent / "drivers"
_FUNC = re.compile(r"^func (?:\([^)]*\) )?([A-Za-z_][A-Za-z0-9_]*)")
_LEFT = re.compile(r"GOROUTINES-LEFT TestLeak_(\w+) (-?\d+)")


def _fixable_rules() -> list[str]:
    from gleak_sarif.engine.scan import all_rule_metas

    return sorted(meta.id for meta in all_rule_metas() if meta.has_fix)


def _function_of(path: Path, line: int) -> str:
    """The Go function declared around ``line`` (the nearest `func Name` above it)."""
    lines = path.read_text(encoding="utf-8").splitlines()[:line]
    for text in reversed(lines):
        found = _FUNC.match(text)
        if found:
            return found.group(1)
    raise AssertionError(f"no function around {path}:{line}")


def _leaks(package: Path, rule_id: str) -> dict[str, int]:
    """Run the rule's drivers in ``package``: function -> goroutines left."""
    driver = package / f"zz_{rule_id.lower()}_leak_test.go"
    shutil.copy(DRIVERS / f"{rule_id}_test.go", driver)
    try:
        done = subprocess.run(["go", "test", "-race", "-count=1", "-v", "-run", "^TestLeak_", "."],
                              cwd=package, capture_output=True, text=True, timeout=600)
    finally:
        driver.unlink()
    left = {name: int(n) for name, n in _LEFT.findall(done.stdout)}
    assert left, f"the drivers reported nothing:\n{done.stdout}\n{done.stderr}"
    # a failing driver is expected on leaking code; a build failure is not
    assert "[build failed]" not in done.stdout and "[setup failed]" not in done.stdout, done.stdout + done.stderr
    return left


@pytest.mark.parametrize("rule_id", _fixable_rules())
def test_fix_removes_the_leak(rule_id: str, tmp_path: Path) -> None:
    require_tool("go")
    gofmt = require_tool("gofmt")
    assert (DRIVERS / f"{rule_id}_test.go").is_file(), f"{rule_id} offers a fix: give it leak drivers"
    (tmp_path / "go.mod").write_text("module example.com/fixrun\n\ngo 1.24\n", encoding="utf-8")
    package = tmp_path / rule_id
    shutil.copytree(REPO / "fixtures" / rule_id, package)

    before = scan_json(str(package), "--select", rule_id)
    fixed = {(f["primary"]["path"], f["primary"]["start_line"]) for f in before if f["fix"]}
    unfixed = [f for f in before if not f["fix"]]
    assert fixed, f"{rule_id}: no fixture gets a fix"
    functions = {_function_of(Path(path), line) for path, line in fixed}

    leaked = _leaks(package, rule_id)
    missing = functions - set(leaked)
    assert not missing, f"{rule_id}: no TestLeak_ driver for the fixed functions {sorted(missing)}"
    assert all(leaked[name] > 0 for name in functions), f"the drivers must see every leak first: {leaked}"

    done = run_cli("scan", str(package), "--select", rule_id, "--fix", "--no-cache")
    assert "Fixed" in done.stderr, done.stdout + done.stderr
    after = scan_json(str(package), "--select", rule_id)
    assert not any(f["fix"] for f in after), after
    assert len(after) == len(unfixed), "a finding without a fix must stay reported"
    assert subprocess.run([gofmt, "-l", str(package)], capture_output=True, text=True).stdout == ""
    built = subprocess.run(["go", "vet", "."], cwd=package, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr

    left = _leaks(package, rule_id)
    report = ", ".join(f"{name} {leaked[name]}->{left[name]}" for name in sorted(functions))
    print(f"{rule_id} goroutines left (5 runs, before->after the fix): {report}")
    assert all(left[name] == 0 for name in functions), f"{rule_id}: goroutines left after the fix: {left}"


def test_a_buffer_of_one_leaves_loop_senders_blocked(tmp_path: Path) -> None:
    """The fix GL202 offered before (a buffer of one for goroutines started in a loop) is what the drivers
    catch: 8 of SumAll's 9 senders stay blocked on each run. The check above can fail."""
    require_tool("go")
    (tmp_path / "go.mod").write_text("module example.com/fixrun\n\ngo 1.24\n", encoding="utf-8")
    package = tmp_path / "GL202"
    shutil.copytree(REPO / "fixtures" / "GL202", package)
    load = package / "load.go"
    text = load.read_text(encoding="utf-8")
    assert text.count("results := make(chan int)\n") == 1
    load.write_text(text.replace("results := make(chan int)\n", "results := make(chan int, 1)\n"), encoding="utf-8")
    assert _leaks(package, "GL202")["SumAll"] == 8 * 5
