"""`gleak-sarif inventory`: launch sites from GL101, with enclosing function, stop signal and wait handle."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gleak_sarif.inventory import collect, enclosing_function, runs_text

ROOT = Path(__file__).resolve().parent.parent

SERVICE = """\
package service

import (
	"context"
	"sync"
)

type Server struct {
	wg   sync.WaitGroup
	quit chan struct{}
	jobs chan int
}

func (s *Server) Start(ctx context.Context) {
	s.wg.Add(1)
	go s.loop()
	go func() {
		for j := range s.jobs {
			_ = j
		}
	}()
	go func() {
		<-ctx.Done()
	}()
}

func (s *Server) loop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.quit:
			return
		}
	}
}

func Fire(f func()) {
	go f()
}

func Results(n int) <-chan int {
	out := make(chan int, 1)
	go func() { out <- n * 2 }()
	return out
}

var starter = func() {
	go Fire(nil)
}
"""


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gleak_sarif", "inventory", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "go.mod").write_text("module example.com/service\n\ngo 1.24\n", encoding="utf-8")
    (tmp_path / "service.go").write_text(SERVICE, encoding="utf-8")
    return tmp_path


def by_line(rows: list[dict[str, object]]) -> dict[int, dict[str, object]]:
    return {int(str(row["line"])): row for row in rows}


def test_json_lists_every_launch_with_function_stop_and_wait(project: Path) -> None:
    done = run_cli("--format", "json", ".", cwd=project)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    rows = by_line(data["launch_sites"])
    assert sorted(rows) == [16, 17, 22, 38, 43, 48]
    # a method goroutine found one level deep: stop signal in loop's select, wait handle from wg
    assert rows[16]["function"] == "(*Server).Start"
    assert rows[16]["runs"] == "s.loop"
    assert rows[16]["stop_signal"] is True and rows[16]["stop_evidence"] == "<-s.quit"
    assert rows[16]["wait_handle"] is True and rows[16]["wait_evidence"] == "s.wg.Done()"
    # range over a channel is a stop signal; nothing to wait on
    assert rows[17]["runs"] == "func literal"
    assert rows[17]["stop_signal"] is True and rows[17]["wait_handle"] is False
    assert rows[22]["stop_evidence"] == "ctx.Done()"
    # a plain function value: nothing visible
    assert rows[38]["function"] == "Fire" and rows[38]["runs"] == "f"
    assert rows[38]["stop_signal"] is False and rows[38]["wait_handle"] is False
    # a result sent on a channel is a wait handle
    assert rows[43]["wait_handle"] is True and rows[43]["wait_evidence"] == "out <- n * 2"
    assert rows[48]["function"] == "func literal (package level)"
    assert data["summary"] == {"launch_sites": 6, "with_stop_signal": 3, "with_wait_handle": 2,
                               "with_neither": 2}
    assert data["files_scanned"] == 1


def test_csv_has_header_and_yes_no_columns(project: Path) -> None:
    done = run_cli("-f", "csv", "service.go", cwd=project)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(rows[0]) == ["file", "line", "column", "function", "runs", "stop_signal", "wait_handle",
                             "stop_evidence", "wait_evidence"]
    assert len(rows) == 6
    first = rows[0]
    assert (first["file"], first["line"], first["stop_signal"], first["wait_handle"]) == (
        "service.go", "16", "yes", "yes")
    assert {row["stop_signal"] for row in rows} == {"yes", "no"}


def test_table_and_output_file(project: Path) -> None:
    done = run_cli(".", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "Goroutine launch sites" in done.stdout
    assert "(*Server).Start" in done.stdout
    assert "6 launch sites in 1 file: 3 with a stop signal, 2 with a wait handle, 2 with neither." in done.stdout
    out = project / "reports" / "inventory.json"
    done = run_cli("-f", "json", "-o", str(out), ".", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["launch_sites"] == 6


def test_unknown_format_is_a_config_error(project: Path) -> None:
    done = run_cli("-f", "xml", ".", cwd=project)
    assert done.returncode == 2
    assert "unknown inventory format" in done.stderr


def test_fixture_inventory_matches_gl101_fixture_wants() -> None:
    """Every `// want "GL101"` line of the GL101 fixtures is a launch site, and nothing else is."""
    folder = ROOT / "fixtures" / "GL101"
    wanted = set()
    for path in sorted(folder.glob("*.go")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if 'want "GL101"' in line:
                wanted.add((path.name, number))
    sites, result = collect([str(folder)])
    assert {(Path(s.file).name, s.line) for s in sites} == wanted
    assert result.files_scanned == 2


def test_name_helpers() -> None:
    assert enclosing_function({"FUNC": "run", "RECV": "(s *Set[K, V])"}) == "(*Set).run"
    assert enclosing_function({"FUNC": "run", "RECV": "(Set)"}) == "Set.run"
    assert enclosing_function({"OUTER": "main"}) == "func literal in main"
    assert enclosing_function({}) == "?"
    assert runs_text({"RUNS": "func(x int) { use(x) }"}) == "func literal"
    assert runs_text({"RUNS": "(func() { a() })"}) == "func literal"
    assert runs_text({"RUNS": "s.pool.worker"}) == "s.pool.worker"
