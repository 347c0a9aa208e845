"""bench/levels.py: the level policy by evidence on made-up counts, and every rule YAML agrees with it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    bench = str(REPO / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)  # levels.py imports precision_report as a sibling
    spec = importlib.util.spec_from_file_location("levels", REPO / "bench" / "levels.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["levels"] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


lv = _load()
C = lv.Counts

# authored level, authored default, other files (tp, fp, fps still reported), test files (same)
# -> level, level in tests, on by default, the test level was higher than can be expressed
TABLE = [
    # no verdict at all: the authored level, whatever it is
    ("error", True, C(), C(), "error", "error", True, False),
    ("note", True, C(), C(), "note", "note", True, False),
    # n >= 3 in other files: error needs 90%, warning 75%
    ("error", True, C(9, 1, 0), C(), "error", "error", True, False),
    ("error", True, C(8, 1, 0), C(), "warning", "warning", True, False),  # 89%
    ("error", True, C(3, 1, 0), C(), "warning", "warning", True, False),  # 75%
    ("error", True, C(2, 1, 0), C(), "note", "note", True, False),  # 67%, no fp still reported: stays on
    # never above the authored level
    ("warning", True, C(10, 0, 0), C(), "warning", "warning", True, False),
    ("note", True, C(10, 0, 0), C(), "note", "note", True, False),
    # fewer than 3 judged: authored, one lower when fp > tp (pooled over both kinds)
    ("error", True, C(1, 1, 1), C(), "error", "error", True, False),
    ("error", True, C(0, 1, 1), C(), "warning", "warning", True, False),
    ("warning", True, C(0, 1, 0), C(0, 1, 0), "note", "note", True, False),  # pooled 0 / 2, nothing left: on
    ("warning", True, C(0, 1, 1), C(), "note", "note", False, False),  # no true finding, fp > tp: off
    # other files too few: the level comes from all the verdicts pooled
    ("error", True, C(2, 0, 0), C(1, 2, 0), "note", "note", True, False),  # pooled 3 / 2 = 60%
    ("error", True, C(1, 0, 0), C(9, 0, 0), "error", "error", True, False),
    # test files with >= 3 judged get their own level when it is lower
    ("warning", True, C(9, 1, 0), C(1, 3, 1), "warning", "note", True, False),
    ("error", True, C(10, 0, 0), C(4, 1, 0), "error", "warning", True, False),  # tests 80%
    # a higher test-file level cannot be expressed: the other-files level everywhere, flagged
    ("warning", True, C(1, 3, 0), C(5, 0, 0), "note", "note", True, True),
    # test files too few: as the other files
    ("error", True, C(10, 0, 0), C(0, 2, 2), "error", "error", True, False),
    # a note is on only when q = tp / (tp + fp still reported) >= 50%, pooled, n >= 3 to turn it off
    ("warning", True, C(1, 3, 3), C(), "note", "note", False, False),  # q 25%
    ("warning", True, C(1, 3, 1), C(), "note", "note", True, False),  # q 50%
    ("note", True, C(1, 1, 0), C(0, 2, 2), "note", "note", False, False),  # pooled n 4, q 33%
    # a warning or error rule stays on whatever its q
    ("error", True, C(3, 1, 1), C(), "warning", "warning", True, False),
    # off by default stays off
    ("note", False, C(10, 0, 0), C(), "note", "note", False, False),
    ("warning", False, C(), C(), "warning", "warning", False, False),
]


@pytest.mark.parametrize(("authored", "on", "other", "test", "level", "in_tests", "on_after", "higher"), TABLE)
def test_policy(authored: str, on: bool, other: object, test: object, level: str, in_tests: str, on_after: bool,
                higher: bool) -> None:
    d = lv.decide("GL1", authored, authored, on, other, test)
    assert (d.level, d.level_in_tests, d.on, d.test_level_higher) == (level, in_tests, on_after, higher)
    assert d.changed == ((level, in_tests, on_after) != (authored, authored, on))


def test_thresholds_are_the_report_bars() -> None:
    """One place for the bars: the policy uses the precision report's, which docs/precision.md prints."""
    assert lv.pr.BARS == {"error": 0.90, "warning": 0.75, "note": 0.50}
    assert lv.MIN_JUDGED == 3


def test_leakbench_cost_counts_groups_no_other_rule_keeps() -> None:
    found = {"GL1": lv.decide("GL1", "warning", "warning", True, C(0, 3, 0), C()),  # note, on
             "GL2": lv.decide("GL2", "warning", "warning", True, C(0, 3, 3), C()),  # note, off
             "GL3": lv.decide("GL3", "warning", "warning", True, C(3, 0, 0), C())}  # unchanged
    result = {"cases": [{"groups": [
        {"hits": [{"rule": "GL1"}], "note_hits": []},
        {"hits": [{"rule": "GL2"}, {"rule": "GL3"}], "note_hits": []},
        {"hits": [{"rule": "GL2"}], "note_hits": []},
        {"hits": [], "note_hits": [{"rule": "GL2"}]},
    ]}]}
    assert lv.leakbench_cost(result, found) == {"GL1": (1, 0), "GL2": (1, 2)}
    assert lv.leakbench_after(result, found) == (4, 3, 4, 1, 2)


def test_rule_yaml_levels_follow_the_policy() -> None:
    """`bench/levels.py --check`: every rule's severity, severity-in-tests and default state are the policy's,
    and bench/triage/corpus/levels-policy.tsv is up to date (a later change of the verdicts or of a level
    cannot drift silently)."""
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "levels.py"), "--check"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
