"""A scan of a few files compiles only the anchors whose tokens occur in them (rules/query.py prepare_pack):
it must find exactly what the full combined query finds."""

from __future__ import annotations

from pathlib import Path

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.rules.query import prepare_pack

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _found(results: list) -> set[tuple[str, str, int]]:  # type: ignore[type-arg]
    return {(f.rule_id, f.primary.path, f.primary.start_line) for r in results for f in r.findings}


def test_few_file_scans_find_what_the_full_query_finds() -> None:
    engine = Engine(ScanOptions(select=["ALL"], use_cache=False, jobs=1))
    files = sorted(str(p) for p in FIXTURES.glob("GL*/*.go"))
    assert len(files) > 100

    one_by_one: list = []  # type: ignore[type-arg]
    for path in files:  # each scan compiles the anchors that can match in this one file
        one_by_one.extend(engine.scan_files([path]))
    assert engine.pack.query is not None
    some = len(engine.pack.root_atoms)

    from gleak_sarif.engine import worker
    from gleak_sarif.engine.context import ScanContext

    prepare_pack(engine.pack)  # every anchor, as a scan of many files does
    assert len(engine.pack.root_atoms) > some
    context = ScanContext(engine.pack, engine.options)
    whole = [worker.scan_path(context, path) for path in files]

    assert _found(one_by_one) == _found(whole)
    assert len(_found(whole)) > 100
