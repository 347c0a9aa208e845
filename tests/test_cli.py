"""The CLI as a user runs it: exit codes, formats, output files, selection."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.helpers import write

REPO = Path(__file__).resolve().parent.parent
LEAKY = """\
package p

import "context"

func fetch(ctx context.Context, get func() int) (int, error) {
	ch := make(chan int)
	go func() {
		ch <- get()
	}()
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
"""
CLEAN = LEAKY.replace("make(chan int)", "make(chan int, 1)")


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gleak_sarif", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=300)


def test_exit_1_on_findings_and_text_output(tmp_path: Path) -> None:
    src = write(tmp_path / "leak.go", LEAKY)
    done = run_cli("scan", str(src))
    assert done.returncode == 1, done.stderr
    assert f"{src}:7:2: GL201 goroutine sends on unbuffered channel ch" in done.stdout
    assert "    7 | " in done.stdout  # code frame
    assert "Found 1 finding in 1 file (GL201: 1)." in done.stdout


def test_exit_0_when_clean(tmp_path: Path) -> None:
    src = write(tmp_path / "ok.go", CLEAN)
    done = run_cli("scan", str(src))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Found 0 findings" in done.stdout


def test_fail_level_and_none(tmp_path: Path) -> None:
    src = write(tmp_path / "leak.go", LEAKY)
    assert run_cli("scan", "--fail-level", "none", str(src)).returncode == 0
    # GL201 is a warning: it fails at the default level, not with --fail-level error
    assert run_cli("scan", "--fail-level", "warning", str(src)).returncode == 1
    assert run_cli("scan", "--fail-level", "error", str(src)).returncode == 0


def test_exit_2_on_missing_path_and_bad_option(tmp_path: Path) -> None:
    done = run_cli("scan", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert "path does not exist" in done.stderr
    assert run_cli("scan", "--format", "xml", str(tmp_path)).returncode == 2
    done = run_cli("scan", "--select", "ZZ9", str(tmp_path))
    assert done.returncode == 2 and "no rule has this ID or prefix" in done.stderr


def test_select_and_ignore(tmp_path: Path) -> None:
    src = write(tmp_path / "leak.go", LEAKY)
    assert run_cli("scan", "--ignore", "GL2", str(src)).returncode == 0
    assert run_cli("scan", "--select", "GL201", str(src)).returncode == 1
    assert run_cli("scan", "--select", "GL3", str(src)).returncode == 0


def test_json_and_sarif_files(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "leak.go", LEAKY)
    out = tmp_path / "out.json"
    sarif = tmp_path / "out.sarif"
    done = run_cli("scan", "--format", "json", "-o", str(out), "--sarif-output", str(sarif),
                   str(tmp_path / "pkg") + "/...")
    assert done.returncode == 1, done.stderr
    data = json.loads(out.read_text())
    assert [f["rule_id"] for f in data["findings"]] == ["GL201"]
    log = json.loads(sarif.read_text())
    assert log["version"] == "2.1.0"
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["GL201"]


def test_unparsable_file_is_reported_and_scan_goes_on(tmp_path: Path) -> None:
    write(tmp_path / "leak.go", LEAKY)
    write(tmp_path / "broken.go", "package p\n\nfunc f() {\n\tgo func() { ch <- }(\n")
    (tmp_path / "binary.go").write_bytes(bytes(range(256)) * 8)
    done = run_cli("scan", str(tmp_path))
    assert done.returncode == 1
    assert "GL201" in done.stdout
    assert "broken.go:3: warning: syntax error" in done.stdout
    assert "binary.go: warning: not Go source" in done.stdout


def test_version_and_rules_list() -> None:
    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout.startswith("gleak-sarif ")
    # the quick path and the CLI's own --version (reached with another option) print the same line
    assert run_cli("--version", "--help").stdout == done.stdout
    done = run_cli("rules", "list", "--format", "json")
    ids = [r["id"] for r in json.loads(done.stdout)]
    assert {"GL201", "GL202", "GL301", "GL402", "GL501"} <= set(ids)


def test_output_to_a_device_writes_through(tmp_path: Path) -> None:
    # renaming a temp file over /dev/null would replace the device: it must be written to, not replaced
    src = write(tmp_path / "ok.go", CLEAN)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    done = run_cli("scan", "--format", "json", "-o", str(fifo), str(src))
    out, _ = reader.communicate(timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(out)["findings"] == []
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_version_does_not_import_the_cli_stack() -> None:
    code = ("import sys; sys.argv = ['gleak-sarif', '--version']; from gleak_sarif import console_script; console_script.main(); "
            "assert 'typer' not in sys.modules and 'pydantic' not in sys.modules, sorted(sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("gleak-sarif ")
