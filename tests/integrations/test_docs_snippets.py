"""The snippets of README.md and docs/integrations.md, exercised where they can run here.

- `gleak-sarif ...` command lines run on a copy of the bundled example (a git repository, so `./...`
  and SARIF paths behave as in a user's checkout), with the exit code the docs promise;
- `.pre-commit-config.yaml` snippets pass `pre-commit validate-config` (test_pre_commit.py also runs one);
- workflow snippets pass actionlint, with `gleak-sarif/gleak-sarif@main` pointed at this repository's
  action.yml so that every `with:` input is checked against the real action.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integrations.kit import EXAMPLE, REPO, clean_env, gleak_bin, make_git_repo, tool_or_skip

README = REPO / "README.md"
INTEGRATIONS = REPO / "docs" / "integrations.md"
ACTION_REF = "gleak-sarif/gleak-sarif@main"


def _blocks(path: Path, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)


def _section(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    following = re.search(r"^## ", text[start + len(heading):], re.M)
    return text[start: start + len(heading) + following.start()] if following else text[start:]


def _commands(block: str) -> list[str]:
    """`gleak-sarif ...` lines of a bash block, without their trailing comments."""
    out = []
    for line in block.splitlines():
        if line.startswith("gleak-sarif "):
            out.append(line.split("  #", 1)[0].strip())
    return out


def _dump(blocked: int) -> str:
    """A debug=2 goroutine dump with `blocked` goroutines stuck in the example's HandleQuote send."""
    parts = ["goroutine 1 [running]:\nmain.main()\n\t/build/app/main.go:10 +0x1d\n"]
    for index in range(blocked):
        parts.append(
            f"goroutine {20 + index} [chan send, 3 minutes]:\n"
            "example.com/app.(*Service).HandleQuote.func1()\n\t/build/app/server.go:36 +0x45\n"
            "created by example.com/app.(*Service).HandleQuote in goroutine 6\n\t/build/app/server.go:35 +0x12f\n"
        )
    return "\n".join(parts)


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    repo = make_git_repo(tmp_path / "repo", {"server.go": EXAMPLE, "before.txt": _dump(1), "after.txt": _dump(6)})
    done = _gleak(repo, "gleak-sarif scan ./... --format sarif -o old.sarif --fail-level none")
    assert done.returncode == 0, done.stderr
    return repo


def _gleak(cwd: Path, command: str) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "gleak-sarif"
    return subprocess.run([gleak_bin(), *argv[1:]], cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=300)


def _expected_code(command: str) -> int:
    if " explain " in f"{command} " or " rules list" in command or "--fail-on new" in command:
        return 0
    if "--new-from-" in command:
        return 0  # the example's checkout has no change since the revision
    return 1  # every scan here sees the example's leaks; runtime diff sees a growing cluster


def test_readme_first_command_scans_the_example(tmp_path: Path) -> None:
    first = _blocks(README, "bash")[0].splitlines()[0]
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install -q . && ")
    command = first.rsplit("&& ", 1)[1].replace(".venv/bin/gleak-sarif", "gleak-sarif", 1)
    repo = make_git_repo(tmp_path / "repo", {"fixtures/example/server.go": EXAMPLE})
    done = _gleak(repo, command)
    assert done.returncode == 1, done.stderr  # "exit code 1 because it found leaks"
    assert "Found 4 findings in 1 file (" in done.stdout  # "it prints four leaks with code frames"
    sarif = json.loads((repo / "example.sarif").read_text())
    assert len(sarif["runs"][0]["results"]) == 4


def test_readme_use_it_commands(example_repo: Path) -> None:
    block = _blocks(README, "bash")[1]
    commands = _commands(block)
    assert len(commands) >= 6
    for command in commands:
        done = _gleak(example_repo, command)
        assert done.returncode == _expected_code(command), f"{command}\n{done.stdout[-1500:]}\n{done.stderr}"
    assert json.loads((example_repo / "gleak.sarif").read_text())["runs"][0]["results"]


def test_runtime_line_of_the_readme_points_at_the_go_statement(example_repo: Path) -> None:
    command = next(c for c in _commands(_blocks(README, "bash")[1]) if "runtime diff" in c)
    done = _gleak(example_repo, command)
    assert "server.go:35" in done.stdout, done.stdout


def test_integrations_cli_commands(example_repo: Path) -> None:
    commands = _commands(_section(INTEGRATIONS, "## CLI"))
    assert len(commands) >= 5
    for command in commands:
        done = _gleak(example_repo, command)
        assert done.returncode == _expected_code(command), f"{command}\n{done.stderr}"
    assert (example_repo / "gleak.json").exists() and (example_repo / "gleak.sarif").exists()


def _yaml_blocks() -> list[tuple[str, str]]:
    return [(f"{path.name}#{index}", block) for path in (README, INTEGRATIONS)
            for index, block in enumerate(_blocks(path, "yaml"))]


def test_pre_commit_snippets_are_valid(tmp_path: Path) -> None:
    pre_commit = tool_or_skip("pre-commit", Path(gleak_bin()).parent / "pre-commit")
    snippets = [(name, b) for name, b in _yaml_blocks() if "repos:" in b]
    assert len(snippets) >= 3
    hook_ids = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    for name, block in snippets:
        config = tmp_path / f"{name}.yaml"
        config.write_text(block)
        done = subprocess.run([pre_commit, "validate-config", str(config)], capture_output=True, text=True,
                              timeout=120, env=clean_env())
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
        used = {h["id"] for repo in yaml.safe_load(block)["repos"] for h in repo["hooks"]}
        assert used <= hook_ids, f"{name} uses unknown hooks {used - hook_ids}"


def _as_workflow(block: str) -> str:
    data = yaml.safe_load(block)
    if isinstance(data, list):  # a list of steps: put it in a job with the permissions it names
        wrapped: dict[str, Any] = {
            "name": "snippet", "on": {"pull_request": {}}, "permissions": {"contents": "read"},
            "jobs": {"gleak": {"runs-on": "ubuntu-latest",
                               "permissions": {"contents": "read", "security-events": "write"},
                               "steps": data}}}
        return yaml.safe_dump(wrapped, sort_keys=False)
    assert isinstance(data, dict) and "jobs" in data
    return block  # as written (re-dumping would turn YAML 1.1's `on:` into `true:`)


def test_workflow_snippets_pass_actionlint(tmp_path: Path) -> None:
    actionlint = tool_or_skip("actionlint", REPO / ".cache" / "bin" / "actionlint")
    snippets = [(name, b) for name, b in _yaml_blocks() if "uses:" in b]
    assert len(snippets) >= 4
    (tmp_path / ".git").mkdir()  # the project root, for `uses: ./`
    (tmp_path / "action.yml").write_bytes((REPO / "action.yml").read_bytes())
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    files = []
    for name, block in snippets:
        text = _as_workflow(block).replace(ACTION_REF, "./")
        target = workflows / f"{name.replace('#', '-')}.yml"
        target.write_text(text)
        files.append(target)
    done = subprocess.run([actionlint, "-no-color", *map(str, files)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=clean_env())
    assert done.returncode == 0, done.stdout + done.stderr
