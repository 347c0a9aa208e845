"""Every rule over its fixtures: `// want` lines must be reported (with their message regexes), nothing else,
and fixes must give the `.go.fixed` goldens (one generic test)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gleak_sarif.engine.scan import all_rule_metas
from gleak_sarif.rule_tests import run_fixtures
from tests.helpers import require_tool

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
RULE_IDS = [m.id for m in all_rule_metas()]


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fixtures(rule_id: str) -> None:
    report = run_fixtures(str(FIXTURES), [], only=[rule_id])
    (outcome,) = report.outcomes
    assert not outcome.no_fixtures, f"{rule_id} has no fixtures/{rule_id}/ folder"
    assert outcome.missing == [], f"{rule_id} missed: {outcome.missing}"
    assert outcome.noisy == [], f"{rule_id} reported unexpected lines: {outcome.noisy}"
    assert outcome.wrong_message == [], f"{rule_id} messages: {outcome.wrong_message}"
    assert outcome.wrong_fix == [], f"{rule_id} fixes (gleak-sarif rules test --update-fixes): {outcome.wrong_fix}"
    assert outcome.expected >= 2, f"{rule_id} needs at least two `// want` cases"
    assert outcome.clean_files >= 1, f"{rule_id} needs a clean twin file"


def go_modules() -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(FIXTURES):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if "go.mod" in filenames:
            found.append(Path(dirpath))
    return sorted(found)


@pytest.mark.parametrize("module", go_modules(), ids=lambda p: str(p.relative_to(FIXTURES)) or ".")
def test_fixtures_compile(module: Path) -> None:
    go = require_tool("go")
    done = subprocess.run([go, "build", "./..."], cwd=module, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "GOFLAGS": "-mod=mod"})
    assert done.returncode == 0, done.stderr
    # `go build` skips _test.go files; vet type-checks them too (only its buildtag check runs: the fixtures
    # hold the bugs the other analyzers report, on purpose)
    vetted = subprocess.run([go, "vet", "-buildtag", "./..."], cwd=module, capture_output=True, text=True,
                            timeout=600, env={**os.environ, "GOFLAGS": "-mod=mod"})
    assert vetted.returncode == 0, vetted.stderr
