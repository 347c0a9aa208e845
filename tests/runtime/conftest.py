"""Fixtures for tests/runtime: real goroutine dumps made at test time by real Go programs (see rtkit)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from rtkit import LEAKPROG, TESTDATA, VALIDATOR_DEFAULT, Dumps, Validation, need, run


@pytest.fixture(scope="session")
def go() -> str:
    return need("go")


@pytest.fixture(scope="session")
def dumps(go: str, tmp_path_factory: pytest.TempPathFactory) -> Dumps:
    d = tmp_path_factory.mktemp("dumps")
    bins = d / "bin"
    plain, trim, fake = bins / "leakprog", bins / "leakprog-trim", bins / "leakprog-fake"
    leak = bins / "leakprog-leakprofile"
    run([go, "build", "-o", str(plain), "."], cwd=LEAKPROG)
    run([go, "build", "-trimpath", "-o", str(trim), "."], cwd=LEAKPROG)
    run([go, "build", "-trimpath", "-tags", "faketime", "-o", str(fake), "."], cwd=LEAKPROG)
    run([go, "build", "-trimpath", "-o", str(leak), "."], cwd=LEAKPROG,
        env={"GOEXPERIMENT": "goroutineleakprofile"})

    def out(name: str, cmd: list[str], env: dict[str, str] | None = None, stderr: bool = False) -> Path:
        p = d / name
        proc = run(cmd, env=env, check=not stderr)
        p.write_text(proc.stderr if stderr else proc.stdout)
        return p

    fake_out = d / "minutes-trimpath.txt"
    run([str(fake), "-wait", "3m", "-o", str(fake_out)])
    return Dumps(
        dir=d,
        debug2=out("debug2.txt", [str(plain)], env={"GODEBUG": "tracebacklabels=1,tracebackancestors=2"}),
        debug1=out("debug1.txt", [str(plain), "-debug", "1"]),
        debug1_trimpath=out("debug1-trimpath.txt", [str(trim), "-debug", "1"]),
        leak_debug1=out("leak-debug1.txt", [str(leak), "-profile", "goroutineleak", "-debug", "1"]),
        leak_debug2=out("leak-debug2.txt", [str(leak), "-profile", "goroutineleak", "-debug", "2"]),
        minutes_trimpath=fake_out,
        panic_system=out("panic-system.txt", [str(plain), "-panic"], env={"GOTRACEBACK": "system"}, stderr=True),
        many_before=out("many-before.txt", [str(plain), "-many", "5"]),
        many_after=out("many-after.txt", [str(plain), "-many", "45"]),
        many_before_debug1=out("many-before-debug1.txt", [str(trim), "-many", "5", "-debug", "1"]),
        many_after_debug1=out("many-after-debug1.txt", [str(trim), "-many", "45", "-debug", "1"]),
    )


@pytest.fixture(scope="session")
def errgroup_dump(go: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """debug=2 dump of testdata/errgroupprog: a goroutine started by golang.org/x/sync/errgroup, whose
    frames carry real module-cache paths."""
    d = tmp_path_factory.mktemp("errgroup")
    binary = d / "errgroupprog"
    run([go, "build", "-o", str(binary), "."], cwd=TESTDATA / "errgroupprog")
    out = d / "errgroup-debug2.txt"
    out.write_text(run([str(binary)]).stdout)
    return out


@pytest.fixture(scope="session")
def goleak_outputs(go: str) -> dict[str, str]:
    """``go test`` output of goleak's VerifyNone and VerifyTestMain failures, new (v1.3.0) and old (v1.2.1).

    Only the test binaries' output is kept: ``go test`` (package list mode) prints it on stdout, while the go
    command's own messages ("go: downloading go.uber.org/goleak v1.2.1" on a fresh module cache) go to
    stderr. The modules are downloaded first so that a cold cache cannot change what the test sees."""
    outs: dict[str, str] = {}
    for mod in ("goleaknew", "goleakold"):
        run([go, "mod", "download"], cwd=TESTDATA / mod)
        for pkg in ("verifynone", "testmain"):
            proc = run([go, "test", "-count=1", f"./{pkg}"], cwd=TESTDATA / mod, check=False)
            assert proc.returncode == 1, f"{mod}/{pkg} should fail:\n{proc.stdout}\n{proc.stderr}"
            outs[f"{mod}/{pkg}"] = proc.stdout
    return outs


# --------------------------------------------------------------------------------- SARIF validator


@pytest.fixture(scope="session")
def validate_sarif() -> Callable[[Path], Validation]:
    env_path = os.environ.get("SARIF_MULTITOOL")
    tool = Path(env_path) if env_path else VALIDATOR_DEFAULT
    if not (tool.is_file() and os.access(tool, os.X_OK)):
        msg = "SARIF Multitool not installed: run scripts/install-sarif-validator (or set SARIF_MULTITOOL)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)

    def check(path: Path) -> Validation:
        out = path.with_suffix(".validation.sarif")
        env = dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1", DOTNET_CLI_TELEMETRY_OPTOUT="1")
        subprocess.run([str(tool), "validate", "--rule-kind", "Gh;Sarif", "--level", "Error;Warning", "-o",
                        str(out), str(path)], capture_output=True, text=True, timeout=300, env=env)
        log = json.loads(out.read_text(encoding="utf-8-sig"))
        v = Validation(errors=[], warnings=[])
        for res in log["runs"][0].get("results", []):
            text = f"{res.get('ruleId')}: {(res.get('message') or {}).get('arguments')}"
            (v.errors if res.get("level") == "error" else v.warnings).append(text)
        for inv in log["runs"][0].get("invocations", []):
            for note in inv.get("toolExecutionNotifications", []) or []:
                if note.get("level", "warning") == "error":
                    v.errors.append(f"tool: {(note.get('message') or {}).get('text')}")
        return v

    return check
