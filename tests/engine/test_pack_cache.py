"""The compiled pack cache keeps working as the pack's types change: a second load of the same rules comes
from the user cache (no rule is compiled again), with its typed steps and `model:` facts' options, and it
scans like the freshly compiled one. The loader only lets unpickling build the classes rules/compiled.py
lists (pack_classes), so a class missing from that list would silently turn every load into a compile."""

from __future__ import annotations

from pathlib import Path

import pytest

import gleak_sarif.rules.compiler as compiler
from gleak_sarif.rules.compiled import ModelStep, RulePack, rule_nodes, rule_roots
from gleak_sarif.rules.loader import load_pack


def test_a_cached_pack_loads_without_compiling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GLEAK_NO_PACK_CACHE", raising=False)
    first = load_pack([], select=["ALL"])
    assert list((tmp_path / "cache").rglob("*.pickle")), "the first load stores the compiled pack"

    def no_compiling(*args: object, **kwargs: object) -> object:
        raise AssertionError("the second load compiled a rule instead of reading the cached pack")

    monkeypatch.setattr(compiler, "compile_rule", no_compiling)
    second = load_pack([], select=["ALL"])
    assert isinstance(second, RulePack) and second is not first
    assert [r.meta.id for r in second.rules] == [r.meta.id for r in first.rules]
    steps = [step for rule in second.rules for node in rule_nodes(*rule_roots(rule)) for step in node.steps]
    models = [step.query for step in steps if isinstance(step, ModelStep)]
    assert models and all(key and spec is not None for query in models for key, spec in query)
    assert second.fingerprint == first.fingerprint
