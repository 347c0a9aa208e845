"""Fix goldens: `scan fixtures/<ID> --select <ID> --diff` for every rule with a fix, compared with
tests/cli/goldens/<ID>.diff, so a change to what a fix writes (or where it is offered) shows in review.
After an intended change: `GLEAK_UPDATE_GOLDENS=1 pytest tests/cli/test_fix_goldens.py`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.kit import run_cli
from tests.cli.test_fix_and_run import _fixable_rules

GOLDENS = Path(__file__).parent / "goldens"


def test_every_golden_belongs_to_a_rule_with_a_fix() -> None:
    assert sorted(p.stem for p in GOLDENS.glob("*.diff")) == _fixable_rules()


@pytest.mark.parametrize("rule_id", _fixable_rules())
def test_fix_golden(rule_id: str) -> None:
    done = run_cli("scan", f"fixtures/{rule_id}", "--select", rule_id, "--diff", "--no-cache")
    assert done.returncode == 1, done.stderr
    golden = GOLDENS / f"{rule_id}.diff"
    if os.environ.get("GLEAK_UPDATE_GOLDENS"):
        golden.write_text(done.stdout, encoding="utf-8")
    assert done.stdout == golden.read_text(encoding="utf-8"), f"{rule_id}: the fixes changed; see {golden}"
