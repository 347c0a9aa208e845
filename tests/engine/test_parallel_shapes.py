"""-jN finds what -j1 finds, whatever the package shape (issue 20 item 1): one big package is cut into
chunks that every worker takes (each builds the package model it needs), many small packages stay whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.engine import scan as engine_scan

# a unit with locks, goroutines, channels and calls into another unit (often in another file): the rules
# that read the package (`calls:`, `model:`) need the other files
UNIT = """
type S{n} struct {{
	mu    sync.Mutex
	ch    chan int
	items map[int]int
}}

func (s *S{n}) Get{n}(k int) (int, bool) {{
	s.mu.Lock()
	v, ok := s.items[k]
	if !ok {{
		return 0, false
	}}
	s.mu.Unlock()
	return v, true
}}

func (s *S{n}) Put{n}(k int) {{
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[k] = Helper{m}(k)
}}

func (s *S{n}) Other{n}(o *S{m}) {{
	s.mu.Lock()
	o.Put{m}(1)
	s.mu.Unlock()
}}

func Fetch{n}() int {{
	ch := make(chan int)
	go func() {{
		ch <- Helper{n}(1)
	}}()
	select {{
	case v := <-ch:
		return v
	case <-time.After(time.Second):
		return 0
	}}
}}

func Start{n}(ch chan int) {{
	go Sender{m}(ch)
}}

func Sender{n}(ch chan int) {{
	ch <- {n}
}}

func Helper{n}(v int) int {{
	return v * {n}
}}
"""
HEAD = 'package {pkg}\n\nimport (\n\t"sync"\n\t"time"\n)\n\nvar _ = time.Second\nvar _ sync.Mutex\n'


def _write(folder: Path, name: str, pkg: str, units: range, total: int) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(HEAD.format(pkg=pkg) + "".join(UNIT.format(n=n, m=(n * 7 + 3) % total) for n in units))
    return str(path)


def _findings(files: list[str], jobs: int) -> list[tuple[str, str, int, int, str]]:
    engine = Engine(ScanOptions(select=["ALL"], jobs=jobs, use_cache=False))
    results = engine.scan_files(files)
    assert sorted(r.path for r in results) == sorted(files)
    return sorted((f.rule_id, f.primary.path, f.primary.start_line, f.primary.start_column, f.message)
                  for r in results for f in r.findings)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # the pool for a small tree, and chunks small enough that the big package is cut
    monkeypatch.setattr(engine_scan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(engine_scan, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(engine_scan, "MIN_CHUNK_BYTES", 2048)


def test_one_big_package(tmp_path: Path, small_chunks: None) -> None:
    files = [_write(tmp_path / "big", f"f{i:02d}.go", "big", range(i * 3, i * 3 + 3), 60) for i in range(20)]
    chunks = engine_scan._chunks(files, 2)
    assert len(chunks) >= 4, "the package is cut so that both workers get some of it"
    assert sorted(p for chunk in chunks for p in chunk) == sorted(files)
    serial = _findings(files, 1)
    assert len({f[0] for f in serial}) >= 4, serial  # package and file rules fired
    assert _findings(files, 2) == serial


def test_many_small_packages(tmp_path: Path, small_chunks: None) -> None:
    files = []
    for i in range(20):  # two files per package, calling each other
        files.append(_write(tmp_path / f"p{i:02d}", "a.go", f"p{i:02d}", range(0, 3), 6))
        files.append(_write(tmp_path / f"p{i:02d}", "b.go", f"p{i:02d}", range(3, 6), 6))
    chunks = engine_scan._chunks(files, 2)
    assert len(chunks) >= 4
    for chunk in chunks:  # small packages stay whole
        folders = {Path(p).parent for p in chunk}
        assert all(str(folder / name) in chunk for folder in folders for name in ("a.go", "b.go"))
    serial = _findings(files, 1)
    assert len({f[0] for f in serial}) >= 4, serial
    assert _findings(files, 2) == serial
