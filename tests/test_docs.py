"""Docs come from one source: each rule's docs block. The committed docs/rules.md must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gleak_sarif.cli import _all_metas
from gleak_sarif.docs import explain_markdown, rules_markdown, with_facts_table

REPO = Path(__file__).resolve().parent.parent


def test_every_rule_has_what_why_and_an_example() -> None:
    for meta in _all_metas([]):
        assert meta.what.strip(), meta.id
        assert meta.why.strip(), meta.id
        assert meta.example.strip(), meta.id
        assert meta.summary.strip(), meta.id


def test_docs_rules_md_is_current() -> None:
    committed = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == rules_markdown(_all_metas([])), (
        "docs/rules.md is stale: run `gleak-sarif rules list --format markdown > docs/rules.md`")


def test_rule_language_facts_table_is_current() -> None:
    """The `model:` facts table is made from the facts' own modules (gleak_sarif/facts/)."""
    committed = (REPO / "docs" / "rule-language.md").read_text(encoding="utf-8")
    assert committed == with_facts_table(committed), (
        "the facts table of docs/rule-language.md is stale: run `python -m gleak_sarif.docs`")


def test_explain_renders_the_same_docs() -> None:
    done = subprocess.run([sys.executable, "-m", "gleak_sarif", "explain", "GL201"], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0
    assert "send-abandoned-by-select" in done.stdout
    assert "Use instead" in done.stdout
    meta = next(m for m in _all_metas([]) if m.id == "GL201")
    assert "Why is this a problem?" in explain_markdown(meta)


def test_explain_unknown_rule_is_exit_2() -> None:
    done = subprocess.run([sys.executable, "-m", "gleak_sarif", "explain", "GL999"], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2
    assert "no rule 'GL999'" in done.stderr
