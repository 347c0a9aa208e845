"""bench/realbugs.py: the bug list's locations, the enclosing function, what counts as a hit and at which level."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "realbugs.py"

# A made-up file (gofmt'd): a function with a leaking goroutine, then another function.
SOURCE = """package p

func leak() error {
	ch := make(chan error)
	go func() {
		ch <- work()
	}()
	return nil
}

func other() {
	println()
}
""".splitlines()


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("realbugs", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["realbugs"] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


rb = _load()


def finding(rule: str, severity: str, path: str, line: int, related: tuple[tuple[str, int], ...] = ()) -> dict[str, Any]:
    return {"rule_id": rule, "severity": severity, "primary": {"path": path, "start_line": line},
            "related": [{"span": {"path": p, "start_line": n}, "message": ""} for p, n in related]}


def bug(go: str = "pkg/a.go:5", block: str = "pkg/a.go:6") -> Any:
    return rb.Bug("x-1", "example.com/m", "v1.0.0", "v1.0.1", "pkg", rb.parse_locations(go),
                  rb.parse_locations(block), "shape", "what", "url", "note")


def functions(b: Any) -> dict[tuple[str, int], tuple[int, int] | None]:
    return {(p, n): rb.enclosing_function(SOURCE, n) for p, n in b.lines}


def test_parse_locations() -> None:
    assert rb.parse_locations("a.go:12;b/c.go:7") == (("a.go", 12), ("b/c.go", 7))
    assert rb.parse_locations("-") == ()
    with pytest.raises(ValueError):
        rb.parse_locations("a.go")


def test_enclosing_function() -> None:
    assert rb.enclosing_function(SOURCE, 6) == (3, 9)
    assert rb.enclosing_function(SOURCE, 12) == (11, 13)
    assert rb.enclosing_function(SOURCE, 10) is None  # between two declarations
    assert rb.enclosing_function(SOURCE, 1) is None


def test_hit_on_a_bug_line_through_the_scanned_folder_prefix() -> None:
    b = bug()
    # scan paths are relative to the scanned package folder "pkg"; a related location on the send counts too
    hits = rb.match(b, [finding("GL201", "warning", "a.go", 4, related=(("a.go", 6),))], {"GL201": True}, "pkg",
                    functions(b))
    assert [(h.rule, h.how, h.level) for h in hits] == [("GL201", "at", "warning")]


def test_same_function_is_near_other_function_and_other_file_are_no_hit() -> None:
    b = bug()
    findings = [finding("GL217", "note", "a.go", 4), finding("GL103", "note", "a.go", 12),
                finding("GL201", "error", "b.go", 6)]
    hits = rb.match(b, findings, {"GL217": True, "GL103": True, "GL201": True}, "pkg", functions(b))
    assert [(h.rule, h.how) for h in hits] == [("GL217", "near")]
    result = rb.Result(b, hits)
    assert (result.level_at, result.level_near) == ("missed", "note")


def test_levels_off_by_default_inventory_and_suppressed() -> None:
    b = bug()
    findings = [finding("GL101", "note", "a.go", 5),  # the inventory never counts
                finding("GL216", "warning", "a.go", 6),  # a rule off by default: level "off"
                {**finding("GL201", "error", "a.go", 6), "suppression": {"kind": "inSource"}}]
    hits = rb.match(b, findings, {"GL101": False, "GL216": False, "GL201": True}, "pkg", functions(b))
    assert [(h.rule, h.level) for h in hits] == [("GL216", "off")]
    assert rb.best_level(hits, ("at",)) == "off"


def test_best_level_and_totals() -> None:
    b = bug()
    hit = rb.Hit
    results = [
        rb.Result(b, [hit("GL201", "warning", True, "at", "pkg/a.go", 6), hit("GL203", "error", True, "at",
                                                                              "pkg/a.go", 5)]),
        rb.Result(b, [hit("GL217", "note", True, "near", "pkg/a.go", 4)]),
        rb.Result(b, [hit("GL216", "warning", False, "at", "pkg/a.go", 6)]),
        rb.Result(b, []),
    ]
    assert [r.level_at for r in results] == ["error", "missed", "off", "missed"]
    assert [r.level_near for r in results] == ["error", "note", "off", "missed"]
    t = rb.totals(results)
    assert t["at"]["error+warning"] == 1 and t["at"]["any rule"] == 2
    assert t["near"]["default (error+warning+note)"] == 2 and t["near"]["any rule"] == 3


def test_the_bug_list_parses_and_names_real_lines() -> None:
    bugs = rb.load_bugs()
    assert len(bugs) >= 14
    assert len({b.id for b in bugs}) == len(bugs)
    for b in bugs:
        assert b.block, b.id  # every bug names the operation that blocks (or the leaked resource)
        assert b.source.startswith("https://github.com/"), b.id
        assert b.version != b.fixed_in, b.id
