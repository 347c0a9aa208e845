"""The opt-in `gleak-sarif-fix` pre-commit hook (`scan --fix`), run by the real pre-commit from this
repository's HEAD: it fixes the file (pre-commit then fails the hook because a file changed), and the
next run passes."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_fix import LEAKY
from tests.integrations.kit import REPO, hook_ref, hook_sections, make_git_repo, pre_commit, pre_commit_env

__all__ = ["pre_commit", "pre_commit_env"]  # pytest fixtures used below

FIXABLE_ONLY = LEAKY.split("\nfunc launch")[0].replace('\t"os/exec"\n', "")


def test_fix_hook_fixes_then_passes(tmp_path: Path, pre_commit: str, pre_commit_env: dict[str, str]) -> None:
    import subprocess

    repo = make_git_repo(tmp_path / "user", {"leak.go": FIXABLE_ONLY})

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run([pre_commit, "try-repo", str(REPO), "gleak-sarif-fix", "--ref", hook_ref(),
                               "--color", "never", "--files", "leak.go"],
                              cwd=repo, env=pre_commit_env, capture_output=True, text=True, timeout=900)

    first = try_repo()
    out = first.stdout + first.stderr
    assert first.returncode == 1, out
    status, body = hook_sections(out)["gleak-sarif-fix"]
    assert status == "Failed" and "files were modified by this hook" in body, out
    assert (repo / "leak.go").read_text(encoding="utf-8") == FIXABLE_ONLY.replace("make(chan int)",
                                                                                   "make(chan int, 1)")
    second = try_repo()
    assert second.returncode == 0, second.stdout + second.stderr
    assert hook_sections(second.stdout + second.stderr)["gleak-sarif-fix"][0] == "Passed"
