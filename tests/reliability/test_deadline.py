"""Bounded cost per file (issue 22 items 2 and 15): deeply nested code is scanned in time that grows about
linearly with the depth, and a file that still takes too long stops at the per-file deadline inside the
relation walk, with a warning that names the rule, the other files' findings intact and a failing exit."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from gleak_sarif import clock as file_clock
from gleak_sarif.config import ScanOptions
from gleak_sarif.engine.context import ScanContext
from gleak_sarif.engine.evaluate import FileEvaluator
from gleak_sarif.engine.worker import scan_source
from gleak_sarif.model import NotificationKind
from gleak_sarif.rules.compiled import RulePack
from gleak_sarif.rules.loader import load_pack
from gleak_sarif.rules.query import prepare_pack
from tests.reliability.conftest import REPO, no_traceback, run_cli
from tests.reliability.targets import builtin_pack

HEAD = b'package p\n\nimport "sync"\n\nvar mu sync.Mutex\n\nfunc g() {}\n\n'


def nested(shape: str, depth: int) -> bytes:
    """A function whose interesting statements sit ``depth`` levels deep."""
    if shape == "blocks":  # the file: lock, 3,000 nested blocks around `go` and a return, unlock
        body = b"mu.Lock()\n" + b"{\n" * depth + b"go g()\nreturn\n" + b"}\n" * depth + b"mu.Unlock()\n"
    elif shape == "ifs":  # a goroutine sending on a local channel, under nested ifs
        body = (b"mu.Lock()\nch := make(chan int)\n" + b"if x {\n" * depth + b"go func() { ch <- 1 }()\nreturn\n"
                + b"}\n" * depth + b"mu.Unlock()\n")
    elif shape == "fors":
        body = b"var wg sync.WaitGroup\n" + b"for {\n" * depth + b"wg.Add(1)\ngo func() { g() }()\n" + b"}\n" * depth
        body += b"wg.Wait()\n"
    else:  # nested closures
        body = b"mu.Lock()\n" + b"func() {\n" * depth + b"go g()\nreturn\n" + b"}()\n" * depth + b"mu.Unlock()\n"
    return HEAD + b"func f(x bool) {\n" + body + b"}\n"


def _scan(source: bytes, timeout: float, pack: RulePack | None = None) -> tuple[float, list[str], list[str]]:
    """(CPU seconds of the scan: the per-file limit's clock, gleak_sarif/clock.py; rule ids; timeouts)"""
    options = ScanOptions(jobs=1, use_cache=False, config_path=None, file_timeout_seconds=timeout)
    started = file_clock.now()
    result = scan_source(ScanContext(pack or builtin_pack(), options), "deep.go", source, None)
    return (file_clock.now() - started, [f.rule_id for f in result.findings],
            [n.message for n in result.notifications if n.kind is NotificationKind.timeout])


@pytest.mark.parametrize("shape", ["blocks", "ifs", "fors", "closures"])
def test_deep_nesting_is_scanned_in_time(shape: str) -> None:
    """Before: 600 nested blocks took 38 s and 1,200 took 230 s (cubic: `Node.parent` walks down from the
    root, and relation walks climbed one parent at a time); now each depth takes about a second."""
    _scan(nested(shape, 3), timeout=120)  # first use compiles the rules' queries: not part of the depth cost
    shallow = _scan(nested(shape, 300), timeout=120)[0]
    elapsed, rules, timeouts = _scan(nested(shape, 3000), timeout=120)
    assert timeouts == []
    # 30 s on a quiet machine; on a loaded one, 60x the time of 300 levels (the cubic walk was 1,000x+)
    limit = max(30.0, 60 * shallow)
    assert elapsed < limit, f"{shape}: {elapsed:.1f} s for 3,000 levels, {shallow:.2f} s for 300"
    if shape == "blocks":
        assert "GL406" in rules  # the return leaves mu locked, 3,000 levels down


def test_nested_blocks_findings_match_a_shallow_twin() -> None:
    """Depth does not change what is found: the same rules fire at depth 3 and at depth 3,000."""
    for shape in ("blocks", "ifs", "fors", "closures"):
        assert sorted(_scan(nested(shape, 3), 60)[1]) == sorted(_scan(nested(shape, 3000), 60)[1]), shape


def many_deep(count: int) -> bytes:
    """``count`` goroutines and returns inside ``count`` nested blocks: relation walks cost count * depth,
    far past a small deadline; an init goroutine gives the rule that runs first (GL102) a finding."""
    return (HEAD + b"func init() {\n\tgo g()\n}\n\nfunc f() {\nmu.Lock()\n" + b"{\n" * count
            + b"go g()\nreturn\n" * count + b"}\n" * count + b"mu.Unlock()\n}\n")


def test_deadline_fires_inside_a_relation_walk() -> None:
    """The per-file limit stops the rule that overruns it (it used to be checked only between steps, so a
    long walk never looked at the clock); the warning names the rule and those not run; findings of the
    rules that finished are kept."""
    source = many_deep(1200)
    first = load_pack(select=["GL102"])
    prepare_pack(first)
    # The limit is set from this machine's speed right now: parsing and GL102 alone take `alone` seconds
    # (about 2 s quiet); GL103 needs about ten times that, so three times it stops GL103 and not GL102,
    # however loaded the machine is (a fixed 10 s failed under a load of 13).
    alone = _scan(source, timeout=600.0, pack=first)[0]
    limit = max(1.0, round(3 * alone))
    pack = load_pack(select=["GL102", "GL103", "GL406"])
    prepare_pack(pack)
    elapsed, rules, timeouts = _scan(source, timeout=float(limit), pack=pack)
    assert timeouts == [f"rule GL103 took the file past the per-file limit of {limit} s; findings of GL103 and 1 "
                        "later rules (GL406) are missing for this file"]
    assert "GL102" in rules  # found before the deadline: kept
    assert elapsed < 4 * limit, (elapsed, limit)


def test_time_spent_waiting_for_a_core_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-file limit counts the scanning thread's CPU time (gleak_sarif/clock.py), not wall time: on a
    loaded machine a file waits for a core, and the wall-clock limit dropped ordinary files' findings,
    differently from run to run (session 7: 29 files of nats-server). Here every rule waits 0.3 s (a sleep:
    wall time passes, as it does for a thread without a core) under a 1 s limit: the file keeps every finding
    and no timeout is reported. With the wall clock (`time.monotonic`)
    the same scan stopped after six rules with a timeout."""
    source = (REPO / "fixtures" / "example" / "server.go").read_bytes()
    pack = builtin_pack()
    want = sorted(_scan(source, timeout=600.0, pack=pack)[1])
    assert len(want) >= 4, "the bundled example has four findings"
    real = FileEvaluator.run_rule
    waited: list[float] = []

    def waiting(self: FileEvaluator, rule: Any) -> Any:
        time.sleep(0.3)
        waited.append(0.3)
        return real(self, rule)

    monkeypatch.setattr(FileEvaluator, "run_rule", waiting)
    started = time.monotonic()
    _, rules, timeouts = _scan(source, timeout=1.0, pack=pack)
    assert timeouts == []
    assert sum(waited) > 3.0 and time.monotonic() - started > 3.0  # three times the limit in wall time
    assert sorted(rules) == want


def test_timeout_fails_the_run_under_fail_level(tmp_path: Path) -> None:
    """A file that timed out has findings nobody saw: a warning-level notification in text and SARIF, and
    exit 1 at the default --fail-level (warning); `--fail-level error` or `none` lets it pass."""
    (tmp_path / "slow.go").write_bytes(many_deep(400))
    (tmp_path / ".gleak.yml").write_text("{}\n")
    args = ("scan", ".", "--no-cache", "--select", "GL103", "--file-timeout", "1")
    done = run_cli(*args, "--sarif-output", "out.sarif", cwd=tmp_path, timeout=120)
    no_traceback(done)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "slow.go: warning: rule GL103 took the file past the per-file limit of 1 s" in done.stdout
    assert "not fully checked (timeout)" in done.stderr
    notes = json.loads((tmp_path / "out.sarif").read_text())["runs"][0]["invocations"][0][
        "toolExecutionNotifications"]
    assert [(n["descriptor"]["id"], n["level"]) for n in notes] == [("timeout", "warning")]
    assert run_cli(*args, "--fail-level", "error", cwd=tmp_path, timeout=120).returncode == 0
    assert run_cli(*args, "--fail-level", "none", cwd=tmp_path, timeout=120).returncode == 0
