"""Issue 18 item 1: `scan --fix` applies fixes in place (atomically, never to a file changed since it was
read, overlapping fixes once in a stable order) and reports what is left; `scan --diff` prints the fixes
as a unified diff, changes nothing and exits 1 when there is one."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from gleak_sarif.engine import Engine
from gleak_sarif.fix import apply_to_source, plan_fixes, write_plan
from gleak_sarif.model import Finding, Fix, Severity, Span, TextEdit
from gleak_sarif.options import Flags, resolve
from tests.cli.kit import run_cli, scan_json
from tests.helpers import require_tool, write

LEAKY = """\
package p

import (
	"context"
	"os/exec"
)

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

func launch(ctx context.Context, bin string) error {
	cmd := exec.CommandContext(ctx, bin)
	return cmd.Start()
}
"""


def test_diff_prints_a_patch_and_changes_nothing(tmp_path: Path) -> None:
    src = write(tmp_path / "leak.go", LEAKY)
    before = src.read_bytes()
    done = run_cli("scan", "leak.go", "--diff", "--no-cache", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("--- a/leak.go\n+++ b/leak.go\n@@ -6,7 +6,7 @@"), done.stdout
    assert "-\tch := make(chan int)\n+\tch := make(chan int, 1)\n" in done.stdout
    assert "Would fix 1 finding in 1 file." in done.stderr
    assert src.read_bytes() == before
    # the patch is a real one: `git apply` takes it and gives what --fix writes
    applied = subprocess.run(["git", "apply", "-"], input=done.stdout, text=True, cwd=tmp_path,
                             capture_output=True)
    assert applied.returncode == 0, applied.stderr
    assert src.read_text(encoding="utf-8") == LEAKY.replace("make(chan int)", "make(chan int, 1)")


def test_diff_exits_0_when_nothing_can_be_fixed(tmp_path: Path) -> None:
    write(tmp_path / "leak.go", LEAKY.replace("make(chan int)", "make(chan int, 1)"))
    done = run_cli("scan", "leak.go", "--diff", "--no-cache", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""  # GL506 has no fix: nothing to show


def test_fix_writes_the_fix_and_reports_what_is_left(tmp_path: Path) -> None:
    src = write(tmp_path / "leak.go", LEAKY)
    os.chmod(src, 0o640)
    done = run_cli("scan", "leak.go", "--fix", "--no-cache", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # GL506 (no fix) is left and fails the run
    assert "Fixed 1 finding in 1 file." in done.stderr
    assert "GL201" not in done.stdout and "leak.go:23:9: GL506" in done.stdout, done.stdout
    assert "Found 1 finding in 1 file (GL506: 1)." in done.stdout
    assert src.read_text(encoding="utf-8") == LEAKY.replace("make(chan int)", "make(chan int, 1)")
    assert stat.S_IMODE(os.stat(src).st_mode) == 0o640  # the permission bits are kept
    assert [p.name for p in tmp_path.iterdir()] == ["leak.go"]  # no temporary file left behind
    again = run_cli("scan", "leak.go", "--fix", "--no-cache", cwd=tmp_path)
    assert "Fixed" not in again.stderr


def test_fixed_code_builds_and_is_gofmt_clean(tmp_path: Path) -> None:
    go = require_tool("go")
    gofmt = require_tool("gofmt")
    write(tmp_path / "go.mod", "module example.com/p\n\ngo 1.22\n")
    write(tmp_path / "leak.go", LEAKY)
    assert run_cli("scan", ".", "--fix", "--no-cache", cwd=tmp_path).returncode == 1
    assert subprocess.run([gofmt, "-l", "."], cwd=tmp_path, capture_output=True, text=True).stdout == ""
    built = subprocess.run([go, "build", "./..."], cwd=tmp_path, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr


def test_fix_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = write(tmp_path / "real" / "leak.go", LEAKY)
    (tmp_path / "pkg").mkdir()
    os.symlink(real, tmp_path / "pkg" / "leak.go")
    run_cli("scan", "pkg/leak.go", "--fix", "--no-cache", cwd=tmp_path)
    assert os.path.islink(tmp_path / "pkg" / "leak.go")
    assert "make(chan int, 1)" in real.read_text(encoding="utf-8")


def _scan(path: Path) -> list[Finding]:
    options = resolve(Flags(no_config=True, use_cache=False, jobs=1), search_from=str(path))
    return Engine(options).scan([str(path)]).findings


def test_a_file_changed_since_the_scan_is_not_fixed(tmp_path: Path) -> None:
    src = write(tmp_path / "leak.go", LEAKY)
    findings = _scan(src)
    src.write_text(LEAKY.replace("func launch", "// edited\nfunc launch"), encoding="utf-8")
    edited = src.read_bytes()
    plan = plan_fixes(findings)
    assert plan.files == [] and plan.refused == [(str(src), "changed since it was scanned; not fixed (scan again)")]
    write_plan(plan)
    assert src.read_bytes() == edited


def test_a_file_changed_while_fixing_is_not_replaced(tmp_path: Path) -> None:
    src = write(tmp_path / "leak.go", LEAKY)
    plan = plan_fixes(_scan(src))
    assert plan.applied == 1
    src.write_text(LEAKY + "\n// saved by an editor meanwhile\n", encoding="utf-8")
    write_plan(plan)
    assert plan.files == [] and plan.refused == [(str(src), "changed while fixing; not fixed (scan again)")]
    assert src.read_text(encoding="utf-8").endswith("// saved by an editor meanwhile\n")
    assert [p.name for p in tmp_path.iterdir()] == ["leak.go"]


def _finding(rule: str, start: int, end: int, text: str) -> Finding:
    span = Span(path="f.go", start_byte=start, end_byte=end, start_line=1, start_column=start + 1, end_line=1,
                end_column=end + 1)
    return Finding(rule_id=rule, rule_name="r", severity=Severity.warning, message="m", primary=span,
                   fix=Fix(description="d", edits=[TextEdit(path="f.go", start_byte=start, end_byte=end,
                                                            new_text=text)]))


def test_overlapping_fixes_apply_once_in_a_stable_order() -> None:
    source = b"0123456789"
    same_a = _finding("GL201", 2, 4, "AB")
    same_b = _finding("GL202", 2, 4, "AB")  # the same edit from another rule: applied once
    overlap = _finding("GL203", 3, 6, "xyz")  # overlaps the first: left for the next round
    later = _finding("GL204", 8, 8, "!")  # an insertion elsewhere
    for order in ([same_a, same_b, overlap, later], [later, overlap, same_b, same_a]):
        plan = apply_to_source("f.go", source, order)
        assert plan.fixed == b"01AB4567!89"
        assert [f.rule_id for f in plan.applied] == ["GL201", "GL202", "GL204"]
        assert [f.rule_id for f in plan.overlapping] == ["GL203"]


RULE = """\
id: {id}
name: {name}
severity: warning
precision: high
message: "m"
rule:
  pattern: {pattern}
  as: NODE
constraints: {{C: {{regex: "^c$"}}}}
fix: {{description: "d", target: $NODE, replace: "{replace}"}}
docs: {{what: "w.", why: "y.", example: "e"}}
"""


def test_fixes_left_out_for_an_overlap_are_applied_in_a_later_round(tmp_path: Path) -> None:
    """TST001 renames `c` in `c := make(chan T)`, TST002 buffers the `make` inside it: the two edits
    overlap, so the first round applies TST001 (it starts first), and the rescan finds TST002 again."""
    rules = tmp_path / "rules"
    write(rules / "TST001.yml", RULE.format(id="TST001", name="rename", pattern="$C := make(chan $T)",
                                            replace="c2 := make(chan $T)"))
    write(rules / "TST002.yml", RULE.format(id="TST002", name="buffer", pattern="make(chan $T)",
                                            replace="make(chan $T, 1)").replace(
        'constraints: {C: {regex: "^c$"}}\n', ""))
    src = write(tmp_path / "src" / "a.go", "package a\n\nfunc f() {\n\tc := make(chan int)\n\t_ = c\n}\n")
    done = run_cli("scan", str(src), "--no-builtin-rules", "--rules", str(rules), "--fix", "--no-cache")
    assert "Fixed 2 findings in 1 file." in done.stderr, done.stdout + done.stderr
    assert "\tc2 := make(chan int, 1)\n" in src.read_text(encoding="utf-8")
    assert scan_json(str(src), "--no-builtin-rules", "--rules", str(rules)) == []


def test_a_fix_without_the_scanned_hash_is_not_applied(tmp_path: Path) -> None:
    src = write(tmp_path / "leak.go", LEAKY)
    findings = _scan(src)
    for finding in findings:
        for edit in finding.fix.edits if finding.fix else []:
            edit.file_sha256 = None
    plan = plan_fixes(findings)
    assert plan.files == [] and "no record of the bytes it read" in plan.refused[0][1]
