"""Issue 18 items 4-7, through the real CLI: standard input with --stdin-filename, --new-from-rev and
--new-from-merge-base, .gitignore, per-file ignores and `tests: false` in .gleak.yml."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.kit import run_cli, scan_json
from tests.cli.test_fix import LEAKY
from tests.helpers import write
from tests.integrations.kit import git, make_git_repo

BUFFERED = LEAKY.replace("make(chan int)", "make(chan int, 1)")
HELPER = """\
package p

// render sends its result to the channel it is given.
func render(url string, out chan<- string) {
	out <- url
}
"""
CALLS_HELPER = """\
package p

import "context"

func fetch(ctx context.Context, url string) (string, error) {
	pages := make(chan string)
	go render(url, pages)
	select {
	case p := <-pages:
		return p, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
"""


def _places(findings: list[dict[str, object]]) -> set[tuple[str, int, str]]:
    return {(str(f["primary"]["path"]), int(f["primary"]["start_line"]), str(f["rule_id"]))  # type: ignore[index]
            for f in findings}


# ---- item 4: standard input ----

def test_stdin_reports_with_the_given_path_and_reads_siblings(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "helper.go", HELPER)
    write(tmp_path / "pkg" / "fetch.go", "package p\n")  # the saved file differs from the editor's text
    done = run_cli("scan", "-", "--stdin-filename", "pkg/fetch.go", "--no-cache", "--format", "json",
                   cwd=tmp_path, stdin=CALLS_HELPER.encode())
    assert done.returncode == 1, done.stderr
    # GL201 through the helper in the sibling file: the package was read from the named file's folder
    found = re.findall(r'"path": "([^"]+)",\s+"start_byte": \d+,\s+"end_byte": \d+,\s+"start_line": (\d+)',
                       done.stdout)
    assert ("pkg/fetch.go", "7") in found, done.stdout
    text = run_cli("scan", "-", "--stdin-filename", "pkg/fetch.go", "--no-cache", cwd=tmp_path,
                   stdin=CALLS_HELPER.encode())
    assert "pkg/fetch.go:7:2: GL201" in text.stdout
    assert "    7 |     go render(url, pages)" in text.stdout  # the code frame shows the text read


def test_stdin_fix_writes_the_fixed_source_to_stdout(tmp_path: Path) -> None:
    done = run_cli("scan", "-", "--stdin-filename", "leak.go", "--fix", "--no-cache", cwd=tmp_path,
                   stdin=LEAKY.encode())
    assert done.stdout == BUFFERED
    assert "Fixed 1 finding." in done.stderr and "leak.go:23:9: GL506" in done.stderr
    assert not (tmp_path / "leak.go").exists()
    diff = run_cli("scan", "-", "--stdin-filename", "leak.go", "--diff", "--no-cache", cwd=tmp_path,
                   stdin=LEAKY.encode())
    assert diff.returncode == 1 and "+\tch := make(chan int, 1)" in diff.stdout


def test_stdin_usage_errors(tmp_path: Path) -> None:
    assert "needs --stdin-filename" in run_cli("scan", "-", cwd=tmp_path, stdin=b"").stderr
    done = run_cli("scan", ".", "--stdin-filename", "a.go", cwd=tmp_path)
    assert done.returncode == 2 and "goes with the path `-`" in done.stderr
    assert run_cli("scan", "-", ".", cwd=tmp_path, stdin=b"").returncode == 2


# ---- item 5: --new-from-rev, --new-from-merge-base ----

def test_new_from_rev_reports_only_changed_lines(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo", {"old.go": LEAKY})
    # a new leak in the committed file (uncommitted edit), and a file git does not track yet
    (repo / "old.go").write_text(LEAKY.replace("func launch", "func fetch2(ctx context.Context) {\n"
                                               "\tc := make(chan int)\n\tgo func() { c <- 1 }()\n"
                                               "\tselect {\n\tcase <-c:\n\tcase <-ctx.Done():\n\t}\n}\n\n"
                                               "func launch"), encoding="utf-8")
    write(repo / "new.go", LEAKY.replace("package p", "package p\n"))
    everything = _places(scan_json(".", cwd=repo))
    assert len(everything) == 5
    changed = _places(scan_json(".", "--new-from-rev", "HEAD", cwd=repo))
    assert changed == {("old.go", 23, "GL201"), ("new.go", 11, "GL201"), ("new.go", 24, "GL506")}, changed
    # what fails the run is what is reported: old.go's GL506 is not on a changed line
    done = run_cli("scan", ".", "--new-from-rev", "HEAD~0", "--no-cache", "--select", "GL506", cwd=repo)
    assert done.returncode == 1 and "new.go:24" in done.stdout and "old.go" not in done.stdout


def test_new_from_merge_base(tmp_path: Path) -> None:
    """feature adds the leaky a.go; main later gets the same file. Against main's tip nothing differs;
    against the merge base (where feature began) all of a.go is new."""
    repo = make_git_repo(tmp_path / "repo", {"README": "x\n"})
    git("checkout", "-q", "-b", "feature", cwd=repo)
    write(repo / "a.go", LEAKY)
    git("add", "a.go", cwd=repo)
    git("commit", "-q", "-m", "leak", cwd=repo)
    git("checkout", "-q", "main", cwd=repo)
    write(repo / "a.go", LEAKY)
    git("add", "a.go", cwd=repo)
    git("commit", "-q", "-m", "main gets it too", cwd=repo)
    git("checkout", "-q", "feature", cwd=repo)
    assert _places(scan_json(".", "--new-from-merge-base", "main", cwd=repo)) == {("a.go", 10, "GL201"),
                                                                                  ("a.go", 23, "GL506")}
    assert _places(scan_json(".", "--new-from-rev", "main", cwd=repo)) == set()
    assert _places(scan_json(".", "--new-from-rev", "HEAD", cwd=repo)) == set()


def test_new_from_rev_errors(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo", {"a.go": LEAKY})
    done = run_cli("scan", ".", "--new-from-rev", "no-such-rev", cwd=repo)
    assert done.returncode == 2 and "--new-from-rev: git" in done.stderr, done.stderr
    done = run_cli("scan", ".", "--new-from-rev", "--all", cwd=repo)
    assert done.returncode == 2
    write(tmp_path / "plain" / "a.go", LEAKY)
    done = run_cli("scan", ".", "--new-from-rev", "HEAD", cwd=tmp_path / "plain")
    assert done.returncode == 2 and "--new-from-rev" in done.stderr
    both = run_cli("scan", ".", "--new-from-rev", "HEAD", "--new-from-merge-base", "HEAD", cwd=repo)
    assert both.returncode == 2 and "not both" in both.stderr


# ---- item 6: .gitignore ----

def test_gitignore_is_respected_in_a_work_tree(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo", {
        ".gitignore": "gen/\n*_skip.go\n", "a.go": LEAKY, "gen/b.go": LEAKY, "c_skip.go": LEAKY,
    })
    git("add", "-f", "c_skip.go", cwd=repo)  # tracked but matched by a pattern: still ignored (as ruff)
    assert {p for p, _, _ in _places(scan_json(".", cwd=repo))} == {"a.go"}
    off = {p for p, _, _ in _places(scan_json(".", "--no-respect-gitignore", cwd=repo))}
    assert off == {"a.go", "gen/b.go", "c_skip.go"}
    # a file named on the command line is scanned even when ignored
    assert {p for p, _, _ in _places(scan_json("gen/b.go", cwd=repo))} == {"gen/b.go"}
    # a sub-folder as the scanned path: patterns of the parent's .gitignore still apply
    write(repo / "sub" / "gen" / "d.go", LEAKY)
    assert _places(scan_json("sub", cwd=repo)) == set()


def test_gitignore_outside_a_work_tree_changes_nothing(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.go\n")
    write(tmp_path / "a.go", LEAKY)
    assert len(scan_json(".", cwd=tmp_path)) == 2


# ---- item 7: per-file ignores, tests: false ----

def test_per_file_ignores(tmp_path: Path) -> None:
    write(tmp_path / "proj" / ".gleak.yml", 'per-file-ignores:\n  "legacy/*": [GL2]\n  "*_old.go": [GL506]\n'
                                              '  "cmd/": [ALL]\n')
    for name in ("a.go", "legacy/b.go", "c_old.go", "cmd/tool.go"):
        write(tmp_path / "proj" / name, LEAKY)
    places = _places(scan_json("proj", cwd=tmp_path))
    assert places == {("proj/a.go", 10, "GL201"), ("proj/a.go", 23, "GL506"), ("proj/legacy/b.go", 23, "GL506"),
                      ("proj/c_old.go", 10, "GL201")}, places
    # globs are relative to the config's folder, whatever the working directory
    inside = _places(scan_json(".", cwd=tmp_path / "proj"))
    assert inside == {(p.removeprefix("proj/"), line, rule) for p, line, rule in places}


def test_per_file_ignores_are_validated(tmp_path: Path) -> None:
    write(tmp_path / ".gleak.yml", 'select: [GL2]\nper-file-ignores:\n  "x/*": [gl201]\n')
    write(tmp_path / "a.go", LEAKY)
    done = run_cli("scan", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert ".gleak.yml:2: per-file-ignores" in done.stderr and "'gl201' is not a rule ID or prefix" in done.stderr, done.stderr


def test_tests_false_skips_test_files(tmp_path: Path) -> None:
    write(tmp_path / "a.go", LEAKY)
    write(tmp_path / "a_test.go", LEAKY.replace("func fetch", "func fetchT").replace("func launch", "func launchT"))
    assert {p for p, _, _ in _places(scan_json(".", cwd=tmp_path))} == {"a.go", "a_test.go"}
    write(tmp_path / ".gleak.yml", "tests: false\n")
    assert {p for p, _, _ in _places(scan_json(".", cwd=tmp_path))} == {"a.go"}
    assert {p for p, _, _ in _places(scan_json("a_test.go", cwd=tmp_path))} == set()
    assert {p for p, _, _ in _places(scan_json(".", "--tests", cwd=tmp_path))} == {"a.go", "a_test.go"}
    (tmp_path / ".gleak.yml").unlink()
    assert {p for p, _, _ in _places(scan_json(".", "--no-tests", cwd=tmp_path))} == {"a.go"}
