"""The scan context (engine/context.py) goes to another process as its rules and options: pickled, a
prepared context arrives with the same combined query and empty caches, and scans every file as the
original does (what a worker pool that does not fork needs: issue 20)."""

from __future__ import annotations

import pickle
from pathlib import Path

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.engine.context import ScanContext
from gleak_sarif.engine.worker import scan_path
from gleak_sarif.rules.query import prepare_pack

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _found(context: ScanContext, files: list[str]) -> list[tuple[str, str, int, str]]:
    return sorted((f.rule_id, f.primary.path, f.primary.start_line, f.message)
                  for path in files for f in scan_path(context, path).findings)


def test_a_pickled_context_scans_like_the_original() -> None:
    # rules that read the file only, the package (calls:, model:) and fixes
    rules = ["GL201", "GL207", "GL408", "GL409", "GL411"]
    engine = Engine(ScanOptions(select=rules, use_cache=False, jobs=1))
    prepare_pack(engine.pack)
    files = sorted(str(p) for rule in rules for p in (FIXTURES / rule).glob("*.go"))
    context = ScanContext(engine.pack, engine.options)
    here = _found(context, files)
    assert len({rule for rule, *_ in here}) >= 5, "the fixtures exercise every kind of rule"
    assert context.models._models and context.callees._packages, "the scan filled the context's caches"

    copy = pickle.loads(pickle.dumps(context))
    assert engine.pack.query is not None and copy.pack.query is not None
    assert copy.pack.query.pattern_count == engine.pack.query.pattern_count
    assert not copy.models._models and not copy.callees._packages, "caches do not travel"
    assert copy.options == context.options
    assert _found(copy, files) == here
