"""docs/exit-codes.md's example table, run row by row: the documented policy is the real one."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.integrations.kit import EXAMPLE, REPO, TESTDATA, clean_env, gleak_bin, make_git_repo

DOC = REPO / "docs" / "exit-codes.md"


def _rows() -> list[tuple[str, int]]:
    text = DOC.read_text(encoding="utf-8").split("## Examples that the test suite runs", 1)[1]
    rows = re.findall(r"^\| `(gleak-sarif [^`]+)` \| (\d) \|$", text, re.M)
    assert len(rows) >= 10, "the example table of docs/exit-codes.md was not found"
    return [(command, int(code)) for command, code in rows]


@pytest.fixture(scope="module")
def example_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = make_git_repo(tmp_path_factory.mktemp("exit") / "repo", {"server.go": EXAMPLE})
    clean = make_git_repo(tmp_path_factory.mktemp("exit") / "clean", {"ok.go": TESTDATA / "clean" / "clean.go"})
    for folder, name in ((repo, "leaky.sarif"), (clean, "clean.sarif")):
        done = subprocess.run([gleak_bin(), "scan", ".", "--quiet", "--no-cache", "--format", "sarif", "--output",
                               str(repo / name), "--fail-level", "none"], cwd=folder, env=clean_env(),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    return repo


@pytest.mark.parametrize(("command", "expected"), _rows())
def test_documented_exit_code(example_repo: Path, command: str, expected: int) -> None:
    argv = shlex.split(command)
    done = subprocess.run([gleak_bin(), *argv[1:], "--quiet", "--no-cache"], cwd=example_repo,
                          env=clean_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == expected, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    if expected == 2:
        assert "Traceback" not in done.stderr and done.stderr.strip(), "usage errors explain themselves"


def test_report_files_are_written_even_when_the_run_fails(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo", {"server.go": EXAMPLE})
    done = subprocess.run([gleak_bin(), "scan", ".", "--quiet", "--output", "out.txt", "--sarif-output",
                           "out.sarif"], cwd=repo, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "GL201" in (repo / "out.txt").read_text()
    assert '"results"' in (repo / "out.sarif").read_text()
