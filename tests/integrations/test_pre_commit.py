"""The real pre-commit (from PyPI) runs this repository's hooks the way users run them.

- `pre-commit try-repo <this repo> gleak-sarif --files ...` fails with gleak's findings on a leaking file
  and passes on a clean one (each try-repo builds a fresh hook virtualenv: the install path users get).
- With the configuration from docs/integrations.md (repo/rev pointed at this repository), a finding that
  depends on a sibling file (`calls:` into another file of the package) is the same whether the hook is
  given one file or the whole repository is scanned; a finding in a file that was not passed is only
  reported by gleak-sarif-full (the documented difference).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.integrations.kit import (
    EXAMPLE,
    REPO,
    TESTDATA,
    clean_env,
    copy_tree,
    finding_keys,
    gleak_bin,
    hook_ref,
    hook_sections,
    make_git_repo,
    tool_or_skip,
)

DOCS = REPO / "docs" / "integrations.md"
TIMEOUT = 900  # a cold hook install on a loaded 2-core machine


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def _try_repo(pre_commit: str, env: dict[str, str], cwd: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return _run([pre_commit, "try-repo", str(REPO), "gleak-sarif", "--ref", hook_ref(), "--color", "never",
                 "--files", *files], cwd, env)


def test_try_repo_fails_on_a_leaking_file(tmp_path: Path, pre_commit: str, pre_commit_env: dict[str, str]) -> None:
    repo = make_git_repo(tmp_path / "user", {"leak.go": EXAMPLE, "clean.go": TESTDATA / "clean" / "clean.go"})
    done = _try_repo(pre_commit, pre_commit_env, repo, "leak.go")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    status, body = hook_sections(out)["gleak-sarif"]
    assert status == "Failed", out
    assert "- exit code: 1" in body
    keys = finding_keys(body)
    # the leaks the README promises for the bundled example, with gleak's own text and code frames
    assert ("leak.go", 35, 2, "GL201") in keys, body
    assert ("leak.go", 50, 3, "GL202") in keys, body
    assert "   35 |     go func() {" in body
    assert all(path == "leak.go" for path, *_ in keys), "only the passed file is scanned"
    assert re.search(r"Found \d+ findings in 1 file\b", body)


def test_try_repo_passes_on_a_clean_file(tmp_path: Path, pre_commit: str, pre_commit_env: dict[str, str]) -> None:
    repo = make_git_repo(tmp_path / "user", {"leak.go": EXAMPLE, "clean.go": TESTDATA / "clean" / "clean.go"})
    done = _try_repo(pre_commit, pre_commit_env, repo, "clean.go")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert hook_sections(out)["gleak-sarif"][0] == "Passed", out


def _docs_pre_commit_config() -> dict[str, object]:
    """The first `.pre-commit-config.yaml` snippet of docs/integrations.md, pointed at this repository."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    config = next(yaml.safe_load(b) for b in blocks if "# .pre-commit-config.yaml" in b)
    assert isinstance(config, dict)
    repo = config["repos"][0]
    assert repo["repo"] == "https://github.com/gleak-sarif/gleak-sarif"
    repo["repo"] = str(REPO)
    repo["rev"] = hook_ref()
    repo["hooks"].append({"id": "gleak-sarif-full"})
    return config


def _sibling_repo(tmp_path: Path) -> Path:
    repo = make_git_repo(tmp_path / "user", copy_tree(TESTDATA / "sibling"))
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(_docs_pre_commit_config()), encoding="utf-8")
    return repo


def _pre_commit_run(pre_commit: str, env: dict[str, str], repo: Path, *files: str) -> dict[str, tuple[str, str]]:
    done = _run([pre_commit, "run", "--color", "never", "--files", *files], repo, env)
    out = done.stdout + done.stderr
    sections = hook_sections(out)
    assert set(sections) == {"gleak-sarif", "gleak-sarif-full"}, out
    return sections


def _full_scan(repo: Path) -> list[tuple[str, int, int, str]]:
    done = subprocess.run([gleak_bin(), "scan", "./...", "--quiet", "--no-cache"], cwd=repo, env=clean_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    return finding_keys(done.stdout)


def test_hook_given_one_file_sees_its_sibling(tmp_path: Path, pre_commit: str,
                                             pre_commit_env: dict[str, str]) -> None:
    repo = _sibling_repo(tmp_path)
    expected = [("pkg/a.go", 5, 4, "ITG001")]  # spawn() is declared in b.go and starts a goroutine
    assert _full_scan(repo) == expected

    sections = _pre_commit_run(pre_commit, pre_commit_env, repo, "pkg/a.go")
    status, body = sections["gleak-sarif"]
    assert status == "Failed", body
    assert finding_keys(body) == expected, body  # one file passed: same answer as the full scan
    status, body = sections["gleak-sarif-full"]
    assert status == "Failed", body
    assert finding_keys(body) == expected, body


def test_finding_in_a_file_not_passed_needs_the_full_hook(tmp_path: Path, pre_commit: str,
                                                         pre_commit_env: dict[str, str]) -> None:
    # Only b.go is committed (say it just gained the goroutine): the finding sits in a.go, which
    # pre-commit does not pass. Documented in docs/integrations.md ("Files outside the commit").
    repo = _sibling_repo(tmp_path)
    sections = _pre_commit_run(pre_commit, pre_commit_env, repo, "pkg/b.go")
    status, body = sections["gleak-sarif"]
    assert status == "Passed", body
    status, body = sections["gleak-sarif-full"]
    assert status == "Failed", body
    assert finding_keys(body) == [("pkg/a.go", 5, 4, "ITG001")], body


def test_changed_sibling_is_not_answered_from_the_scan_cache(tmp_path: Path, pre_commit: str,
                                                            pre_commit_env: dict[str, str]) -> None:
    # The hook keeps gleak's scan cache (.gleak-cache/) between commits. When b.go stops starting a
    # goroutine, the cached answer for an unchanged a.go must not survive.
    repo = _sibling_repo(tmp_path)
    assert _pre_commit_run(pre_commit, pre_commit_env, repo, "pkg/a.go")["gleak-sarif"][0] == "Failed"
    assert (repo / ".gleak-cache").is_dir()
    sibling = repo / "pkg" / "b.go"
    sibling.write_text(sibling.read_text().replace("\tgo func() {\n\t\tdefer close(done)\n\t\twork()\n\t}()",
                                                   "\twork()\n\tclose(done)"))
    assert "go func" not in sibling.read_text()
    subprocess.run(["git", "add", "pkg/b.go"], cwd=repo, env=clean_env(), check=True)
    sections = _pre_commit_run(pre_commit, pre_commit_env, repo, "pkg/a.go")
    assert sections["gleak-sarif"][0] == "Passed", sections["gleak-sarif"][1]
    assert _full_scan(repo) == []


def test_hooks_skip_vendor_and_testdata(tmp_path: Path, pre_commit: str, pre_commit_env: dict[str, str]) -> None:
    repo = _sibling_repo(tmp_path)
    for folder in ("vendor/example.com/dep", "pkg/testdata"):
        target = repo / folder / "leak.go"
        target.parent.mkdir(parents=True)
        target.write_bytes(EXAMPLE.read_bytes())
    sections = _pre_commit_run(pre_commit, pre_commit_env, repo, "vendor/example.com/dep/leak.go",
                               "pkg/testdata/leak.go")
    assert sections["gleak-sarif"][0] == "Skipped"  # no file left after `exclude`
    assert sections["gleak-sarif-full"][0] == "Skipped"


def test_manifest_is_valid(pre_commit: str) -> None:
    done = _run([pre_commit, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")], REPO, clean_env())
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"gleak-sarif", "gleak-sarif-full", "gleak-sarif-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types"] == ["go"]
        assert hook["entry"].startswith("gleak-sarif scan --quiet --format text")
        assert "sarif" not in hook["entry"].split("--format text", 1)[1]  # never a report file
        assert re.search(hook["exclude"], "vendor/x/y.go") and re.search(hook["exclude"], "a/testdata/b.go")
        assert not re.search(hook["exclude"], "pkg/vendored.go")
    assert hooks["gleak-sarif-full"]["pass_filenames"] is False
    assert hooks["gleak-sarif-fix"]["entry"].endswith(" --fix")  # opt-in: the only hook that writes files


def test_go_fixtures_compile() -> None:
    go = tool_or_skip("go")
    done = subprocess.run([go, "vet", "./..."], cwd=TESTDATA, capture_output=True, text=True, timeout=600,
                          env=clean_env(GOFLAGS="-mod=mod", GOTOOLCHAIN="local"))
    assert done.returncode == 0, done.stderr
