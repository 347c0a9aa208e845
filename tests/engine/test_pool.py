"""The scan's worker pool (engine/pool.py): results by chunk, a worker over its memory budget replaced by a
fresh fork unless a waiting chunk shares its folder, a dead worker costing only its chunk, and a parallel
scan whose every chunk runs in a fresh worker finding what one with long-lived workers finds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import gleak_sarif.engine.pool as pool_mod
import gleak_sarif.engine.scan as engine_scan
from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.engine.pool import Pool

REPO = Path(__file__).resolve().parents[2]


def _pid_and_chunk(chunk: list[str]) -> tuple[int, list[str]]:
    if "die" in chunk:
        os._exit(3)
    return os.getpid(), chunk


def _chunks(*folders: str) -> list[list[str]]:
    return [[f"{folder}/a.go", f"{folder}/b.go"] for folder in folders]


def test_results_by_chunk_and_workers_kept_under_the_budget() -> None:
    chunks = _chunks("p", "q", "r", "s", "t", "u")
    with Pool(2, _pid_and_chunk, budget=1 << 40) as pool:
        results, died = pool.run(chunks)
    assert died == [] and pool.recycled == 0
    assert [results[i][1] for i in range(len(chunks))] == chunks
    assert len({pid for pid, _ in results.values()}) <= 2


def test_a_worker_over_the_budget_is_replaced() -> None:
    chunks = _chunks("p", "q", "r", "s", "t", "u")
    with Pool(2, _pid_and_chunk, budget=0) as pool:
        results, died = pool.run(chunks)
    assert died == [] and pool.recycled == 4  # every chunk but the first two on a fresh fork
    assert len({pid for pid, _ in results.values()}) == 6
    assert [results[i][1] for i in range(len(chunks))] == chunks


def test_a_worker_over_the_budget_goes_on_with_its_folder() -> None:
    """One folder cut into chunks (nats-server's server/): the worker keeps its package caches for it."""
    chunks = _chunks("big", "big", "big", "big")
    with Pool(1, _pid_and_chunk, budget=0) as pool:
        results, _ = pool.run(chunks)
    assert pool.recycled == 0 and len({pid for pid, _ in results.values()}) == 1
    chunks = _chunks("big", "other", "big")  # out of turn: the folder's chunk first, then a fresh worker
    with Pool(1, _pid_and_chunk, budget=0) as pool:
        results, _ = pool.run(chunks)
    assert results[0][0] == results[2][0] != results[1][0] and pool.recycled == 1


def test_a_dead_worker_costs_its_chunk_only() -> None:
    chunks = [*_chunks("p", "q"), ["die"], *_chunks("r", "s", "t")]
    with Pool(2, _pid_and_chunk) as pool:
        results, died = pool.run(chunks)
    assert died == [2]
    assert sorted(results) == [0, 1, 3, 4, 5]


@pytest.mark.parametrize("budget", [0, 1 << 40])
def test_fresh_workers_find_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    """The fixtures scanned at -j2 with every chunk on a fresh fork (budget 0) and with workers that live the
    whole scan: the same findings as one process."""
    monkeypatch.setattr(pool_mod, "WORKER_MEMORY_BUDGET", budget)
    monkeypatch.setattr(engine_scan, "PARALLEL_MIN_BYTES", 0)  # the fixtures are small: workers all the same
    monkeypatch.setattr(engine_scan, "MIN_CHUNK_BYTES", 1)  # and ~16 chunks
    recycled: list[int] = []
    real = Pool.run

    def run(self: Pool[object], chunks: list[list[str]]) -> object:
        try:
            return real(self, chunks)
        finally:
            recycled.append(self.recycled)

    monkeypatch.setattr(Pool, "run", run)
    monkeypatch.chdir(REPO / "fixtures")
    found = {}
    for jobs in (1, 2):
        result = Engine(ScanOptions(jobs=jobs, use_cache=False, config_path=None, select=["ALL"])).scan(["."])
        found[jobs] = sorted((f.rule_id, f.primary.path, f.primary.start_line) for f in result.findings)
    assert found[2] == found[1] and len(found[1]) > 500
    assert len(recycled) == 1 and (recycled[0] >= 10 if budget == 0 else recycled[0] == 0)
