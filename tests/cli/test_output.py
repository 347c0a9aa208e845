"""Issue 18 items 3 and 8: `--statistics`; output polish (plurals, caret lines, `rules list`, `--help`,
FORCE_COLOR, a baseline with `--fail-on new`)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from gleak_sarif.model import Finding, ScanResult, Severity, Span
from gleak_sarif.report.text import render_text
from tests.cli.kit import run_cli
from tests.cli.test_fix import LEAKY
from tests.helpers import write

SECOND_LEAK = """

func poll(work func() int) (int, bool) {
	done := make(chan int)
	go func() {
		done <- work()
	}()
	select {
	case n := <-done:
		return n, true
	default:
		return 0, false
	}
}
"""


def test_statistics_one_line_per_rule_most_frequent_first(tmp_path: Path) -> None:
    write(tmp_path / "a.go", LEAKY + SECOND_LEAK)
    done = run_cli("scan", "a.go", "--statistics", "--no-cache", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["2\tGL201\t[*] send-abandoned-by-select",
                                        "1\tGL506\t    cmd-start-without-wait"], done.stdout
    done = run_cli("scan", "a.go", "--statistics", "--format", "json", "--no-cache", cwd=tmp_path)
    assert json.loads(done.stdout) == [
        {"code": "GL201", "name": "send-abandoned-by-select", "count": 2, "fixable": 2},
        {"code": "GL506", "name": "cmd-start-without-wait", "count": 1, "fixable": 0}]
    done = run_cli("scan", "a.go", "--statistics", "--format", "sarif", cwd=tmp_path)
    assert done.returncode == 2 and "--statistics prints text or json" in done.stderr


def test_counts_are_singular_for_one(tmp_path: Path) -> None:
    write(tmp_path / "a.go", LEAKY.replace("make(chan int)", "make(chan int, 1)"))
    done = run_cli("scan", "a.go", "--no-cache", cwd=tmp_path)
    assert done.stdout.rstrip().endswith("Found 1 finding in 1 file (GL506: 1)."), done.stdout
    write(tmp_path / "b.go", "package p\n")
    done = run_cli("scan", ".", "--no-cache", cwd=tmp_path)
    assert done.stdout.rstrip().endswith("Found 1 finding in 2 files (GL506: 1)."), done.stdout


def _finding(path: str, line: int, start: int, end_line: int, end: int) -> Finding:
    span = Span(path=path, start_byte=0, end_byte=0, start_line=line, start_column=start, end_line=end_line,
                end_column=end)
    return Finding(rule_id="GL201", rule_name="r", severity=Severity.warning, message="m", primary=span)


def test_caret_lines_stop_at_the_end_of_the_line(tmp_path: Path) -> None:
    src = write(tmp_path / "a.go", "package p\n\n\tgo f(x) // é\n")
    # a span past the end of its line, one over several lines, one starting past the end (a stale file)
    for finding in (_finding(str(src), 3, 2, 3, 200), _finding(str(src), 3, 2, 9, 4),
                    _finding(str(src), 3, 50, 3, 60)):
        lines = render_text(ScanResult(findings=[finding], files_scanned=1)).splitlines()
        code, caret = lines[1], lines[2]
        assert code == "    3 |     go f(x) // é"
        assert len(caret) <= len(code), (code, caret)
    first = render_text(ScanResult(findings=[_finding(str(src), 3, 2, 3, 200)])).splitlines()[2]
    assert first == " " * len("    3 |     ") + "^" * len("go f(x) // é")


def test_rules_list_prints_one_line_per_rule() -> None:
    done = run_cli("rules", "list")
    lines = done.stdout.splitlines()
    rules = json.loads(run_cli("rules", "list", "--format", "json").stdout)
    assert lines[0].split() == ["ID", "NAME", "SEVERITY", "PRECISION", "DEFAULT", "FIX", "SUMMARY"]
    assert [line.split()[0] for line in lines[1:]] == [rule["id"] for rule in rules]
    gl202 = next(line for line in lines if line.startswith("GL202 "))
    assert gl202.split()[1:6] == ["send-abandoned-by-return", "warning", "medium", "on", "fix"]


def test_every_scan_flag_has_help_and_flags_show_no_type() -> None:
    import typer

    from gleak_sarif.cli import app

    command = typer.main.get_command(app).commands["scan"]  # type: ignore[attr-defined]
    missing = [p.opts[0] for p in command.params if p.param_type_name == "option" and not p.help]
    assert missing == []
    done = run_cli("scan", "--help", env={"COLUMNS": "200", "TERM": "dumb"})
    assert done.returncode == 0
    assert "<bool>" not in done.stdout
    assert re.search(r"--fix\s+Apply the available fixes", done.stdout), done.stdout


def test_force_color_and_no_color(tmp_path: Path) -> None:
    write(tmp_path / "a.go", LEAKY)
    piped = run_cli("scan", "a.go", "--no-cache", cwd=tmp_path)
    assert "\x1b[" not in piped.stdout
    forced = run_cli("scan", "a.go", "--no-cache", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert "\x1b[1;33mwarning\x1b[0m" in forced.stdout
    for env in ({"FORCE_COLOR": "0"}, {"FORCE_COLOR": ""}, {"NO_COLOR": "1"}):
        assert "\x1b[" not in run_cli("scan", "a.go", "--no-cache", cwd=tmp_path, env=env).stdout
    never = run_cli("scan", "a.go", "--no-cache", "--color", "never", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert "\x1b[" not in never.stdout
    to_file = run_cli("scan", "a.go", "--no-cache", "-o", "out.txt", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert to_file.returncode == 1 and "\x1b[" not in (tmp_path / "out.txt").read_text(encoding="utf-8")


def test_fail_on_new_lists_only_new_findings(tmp_path: Path) -> None:
    src = write(tmp_path / "a.go", LEAKY)
    assert run_cli("scan", "a.go", "-f", "sarif", "-o", "base.sarif", "--no-cache", cwd=tmp_path).returncode == 1
    src.write_text(LEAKY + SECOND_LEAK, encoding="utf-8")
    done = run_cli("scan", "a.go", "--baseline", "base.sarif", "--fail-on", "new", "--no-cache", cwd=tmp_path)
    assert done.returncode == 1
    listed = re.findall(r"^a\.go:(\d+):\d+: (GL\d+)", done.stdout, re.M)
    assert listed == [("29", "GL201")], done.stdout
    assert "Found 1 new finding in 1 file (GL201: 1); 2 in the baseline (--show-unchanged lists them)." \
        in done.stdout
    shown = run_cli("scan", "a.go", "--baseline", "base.sarif", "--fail-on", "new", "--show-unchanged",
                    "--no-cache", cwd=tmp_path)
    assert len(re.findall(r"^a\.go:\d+:\d+: GL", shown.stdout, re.M)) == 3
    assert "[unchanged]" in shown.stdout and "[new]" in shown.stdout
    # a finding fixed since the baseline is absent: not listed, not counted as a finding
    src.write_text(LEAKY.replace("make(chan int)", "make(chan int, 1)"), encoding="utf-8")
    gone = run_cli("scan", "a.go", "--baseline", "base.sarif", "--fail-on", "new", "--no-cache", cwd=tmp_path)
    assert gone.returncode == 0, gone.stdout
    assert re.findall(r"^a\.go:\d+", gone.stdout, re.M) == []
    assert "Found 0 new findings in 1 file; 1 in the baseline (--show-unchanged lists them); " \
           "1 fixed since the baseline." in gone.stdout, gone.stdout
    plain = run_cli("scan", "a.go", "--baseline", "base.sarif", "--no-cache", cwd=tmp_path)
    assert "Found 1 finding in 1 file (GL506: 1); 1 fixed since the baseline." in plain.stdout, plain.stdout
    assert os.path.exists(tmp_path / "base.sarif")
