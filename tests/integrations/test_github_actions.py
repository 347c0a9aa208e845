"""GitHub Actions: the workflows and the composite action pass actionlint, action.yml is well formed,
and the action's shell steps do what they promise when run with bash as the runner runs them.

actionlint (scripts/install-actionlint puts it in .cache/bin) also runs shellcheck on every `run:`
script when shellcheck is on PATH; without it those scripts are only parsed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integrations.kit import REPO, clean_env, gleak_bin, tool_or_skip, wheelhouse

ACTION = REPO / "action.yml"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint() -> str:
    return tool_or_skip("actionlint", REPO / ".cache" / "bin" / "actionlint")


def _action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _lint(actionlint: str, files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([actionlint, "-no-color", *map(str, files)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=clean_env())


def test_workflows_pass_actionlint(actionlint: str) -> None:
    assert {w.name for w in WORKFLOWS} >= {"ci.yml", "code-scanning.yml"}
    done = _lint(actionlint, WORKFLOWS, REPO)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_really_checks_the_local_action(actionlint: str, tmp_path: Path) -> None:
    # code-scanning.yml calls `uses: ./`; actionlint must check its inputs against action.yml, or the
    # test above proves less than it seems. A misspelt input must be reported.
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".git").mkdir()  # actionlint resolves `uses: ./` from the project root, found by .git
    (tmp_path / "action.yml").write_bytes(ACTION.read_bytes())
    bad = (REPO / ".github" / "workflows" / "code-scanning.yml").read_text().replace("sarif-file:", "sarif-fil:")
    workflow = tmp_path / ".github" / "workflows" / "bad.yml"
    workflow.write_text(bad)
    done = _lint(actionlint, [workflow], tmp_path)
    assert done.returncode == 1
    assert 'input "sarif-fil" is not defined in action "gleak-sarif"' in done.stdout


def _as_reusable_workflow(action: dict[str, Any]) -> dict[str, Any]:
    """action.yml's steps as a `workflow_call` workflow with the same inputs, so that actionlint checks
    the expressions, the `uses:` inputs and (with shellcheck) the bash of every step."""
    inputs = {name: {"type": "string", "required": False, "default": spec.get("default", ""),
                     "description": spec["description"]} for name, spec in action["inputs"].items()}
    return {
        "name": "action-as-workflow",
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {"contents": "read", "security-events": "write"},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }


def test_action_steps_pass_actionlint(actionlint: str, tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    workflow = tmp_path / ".github" / "workflows" / "action.yml"
    text = yaml.safe_dump(_as_reusable_workflow(_action()), sort_keys=False)
    # GITHUB_ACTION_PATH is set for actions only; in the stand-in workflow it is an ordinary variable
    workflow.write_text(text)
    done = _lint(actionlint, [workflow], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr + "\n" + text


def test_action_metadata_structure() -> None:
    action = _action()
    for key in ("name", "description", "inputs", "outputs", "runs"):
        assert key in action, f"action.yml lacks {key}"
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert steps
    step_ids = [s["id"] for s in steps if "id" in s]
    assert len(step_ids) == len(set(step_ids))
    for name, spec in action["inputs"].items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*", name), name
        assert spec.get("description"), f"input {name} has no description"
        assert "default" in spec or spec.get("required"), f"input {name}: no default and not required"
        assert isinstance(spec.get("default", ""), str), f"input {name}: defaults are strings"
    for name, spec in action["outputs"].items():
        assert spec.get("description") and spec.get("value"), f"output {name}"
    text = ACTION.read_text(encoding="utf-8")
    used_inputs = set(re.findall(r"inputs\.([a-z][a-z0-9-]*)", text))
    assert used_inputs <= set(action["inputs"]), used_inputs - set(action["inputs"])
    assert set(action["inputs"]) <= used_inputs, f"inputs never used: {set(action['inputs']) - used_inputs}"
    for ref in re.findall(r"steps\.([a-z][a-z0-9-]*)\.outputs", text):
        assert ref in step_ids, f"steps.{ref} is not a step id"
    for step in steps:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", f"run step without `shell: bash`: {step.get('name')}"
            # inputs reach scripts through env only: `${{ }}` inside a script is an injection risk
            assert "${{" not in step["run"], step["name"]
        else:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), step["uses"]
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["uses"].endswith("@v4")
    assert set(upload["with"]) == {"sarif_file", "category"}


# ---------------------------------------------------------------------------------- the shell steps

def _step(step_id: str) -> dict[str, Any]:
    return next(s for s in _action()["runs"]["steps"] if s.get("id") == step_id)


def _run_step(step: dict[str, Any], tmp_path: Path, cwd: Path, **env: str) -> tuple[int, str, dict[str, str]]:
    """Run a step's script as the runner does for `shell: bash` (bash --noprofile --norc -eo pipefail)."""
    script = tmp_path / f"step-{step.get('id', 'x')}.sh"
    script.write_text(step["run"])
    output = tmp_path / "github_output"
    output.write_text("")
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd,
                          env=clean_env(GITHUB_OUTPUT=str(output), GITHUB_WORKSPACE=str(REPO), **env),
                          capture_output=True, text=True, timeout=300)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done.returncode, done.stdout + done.stderr, outputs


def _scan_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    defaults = {name: spec.get("default", "") for name, spec in _action()["inputs"].items()}
    env = {f"IN_{k.upper().replace('-', '_')}": v for k, v in defaults.items()}
    env["IN_SARIF"] = str(tmp_path / "gleak.sarif")
    env.pop("IN_SARIF_FILE", None)
    env["GLEAK"] = gleak_bin()
    env["GLEAK_PY"] = sys.executable  # the install step's venv python (the scan step splits inputs with it)
    env.update(overrides)
    return env


def test_scan_step_defers_the_failure_and_annotates(tmp_path: Path) -> None:
    code, out, outputs = _run_step(_step("scan"), tmp_path, REPO, **_scan_env(tmp_path, IN_PATHS="fixtures/example"))
    assert code == 0, out  # findings fail the last step, after the upload
    assert outputs["exit-code"] == "1"
    assert outputs["sarif-file"] == str(tmp_path / "gleak.sarif")
    assert "::warning file=fixtures/example/server.go,line=35," in out
    sarif = json.loads((tmp_path / "gleak.sarif").read_text())
    run = sarif["runs"][0]
    assert run["automationDetails"]["id"].startswith("gleak-sarif")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"fixtures/example/server.go"}  # relative to the repository root


def test_scan_step_from_a_sub_folder_keeps_repository_paths(tmp_path: Path) -> None:
    env = _scan_env(tmp_path, IN_PATHS="example", IN_ARGS="--select GL2", IN_ANNOTATIONS="true")
    code, out, outputs = _run_step(_step("scan"), tmp_path, REPO / "fixtures", **env)
    assert code == 0, out
    assert outputs["exit-code"] == "1"
    rules = set(re.findall(r"title=(GL\d+)", out))
    assert rules == {"GL201", "GL202", "GL203"}, out  # --select from `args` reached the scan
    assert "file=fixtures/example/server.go" in out  # GitHub resolves annotation paths from the root


def test_scan_step_paths_on_several_lines_and_text_output(tmp_path: Path) -> None:
    clean = tmp_path / "src" / "ok.go"
    clean.parent.mkdir()
    clean.write_text("package ok\n\nfunc Add(a, b int) int { return a + b }\n")
    env = _scan_env(tmp_path, IN_PATHS=f"{clean}\n  fixtures/example/server.go\n", IN_ANNOTATIONS="false",
                    IN_FAIL_LEVEL="none")
    code, out, outputs = _run_step(_step("scan"), tmp_path, REPO, **env)
    assert code == 0, out
    assert outputs["exit-code"] == "0"
    assert "::error" not in out and "fixtures/example/server.go:35:2: GL201" in out
    assert "in 2 files" in out


def test_scan_step_paths_and_args_with_spaces(tmp_path: Path) -> None:
    # `paths` and `args` are split like a shell command line: quotes keep a path with spaces whole
    spaced = tmp_path / "my service" / "leaky pkg"
    spaced.mkdir(parents=True)
    (spaced / "server.go").write_bytes((REPO / "fixtures" / "example" / "server.go").read_bytes())
    gen = tmp_path / "my service" / "gen dir"
    gen.mkdir()
    (gen / "server.go").write_bytes((REPO / "fixtures" / "example" / "server.go").read_bytes())
    env = _scan_env(tmp_path, IN_PATHS=f'"{tmp_path / "my service"}"\n  fixtures/example/server.go',
                    IN_ARGS=f"--exclude '{gen}/*' --select GL201", IN_ANNOTATIONS="false", IN_FAIL_LEVEL="none")
    code, out, outputs = _run_step(_step("scan"), tmp_path, REPO, **env)
    assert (code, outputs["exit-code"]) == (0, "0"), out
    assert f"{spaced}/server.go:35:2: GL201" in out, out
    assert "gen dir" not in out  # the quoted --exclude glob with a space applied
    assert "fixtures/example/server.go:35:2: GL201" in out and "in 2 files" in out


def test_scan_step_rejects_an_unclosed_quote(tmp_path: Path) -> None:
    env = _scan_env(tmp_path, IN_PATHS='"my dir/...')
    code, out, outputs = _run_step(_step("scan"), tmp_path, REPO, **env)
    assert code == 2 and "exit-code" not in outputs, out
    assert "::error title=gleak-sarif::input paths: No closing quotation" in out


def test_scan_step_fail_level_defaults_to_the_config(tmp_path: Path) -> None:
    # an empty fail-level input passes no --fail-level: .gleak.yml's fail-level applies, as in `scan`
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "server.go").write_bytes((REPO / "fixtures" / "example" / "server.go").read_bytes())
    (proj / ".gleak.yml").write_text("fail-level: none\n")
    assert _action()["inputs"]["fail-level"]["default"] == ""
    code, out, outputs = _run_step(_step("scan"), tmp_path, proj, **_scan_env(tmp_path, IN_PATHS="."))
    assert (code, outputs["exit-code"]) == (0, "0"), out
    env = _scan_env(tmp_path, IN_PATHS=".", IN_FAIL_LEVEL="warning")
    assert _run_step(_step("scan"), tmp_path, proj, **env)[2]["exit-code"] == "1"


def test_scan_step_shards_and_merge_step_join_them(tmp_path: Path) -> None:
    # a matrix of 2 shard jobs (shard: K/2, upload false, a SARIF file each) and a last job with `merge`
    paths = "fixtures/example fixtures/GL201 fixtures/GL202 fixtures/GL203 fixtures/GL207"
    whole = _scan_env(tmp_path, IN_PATHS=paths, IN_SARIF=str(tmp_path / "whole.sarif"),
                      IN_ARGS="--select GL2 --no-cache")  # cached files count as skipped: keep the counts comparable
    assert _run_step(_step("scan"), tmp_path, REPO, **whole)[2]["exit-code"] == "1"
    (tmp_path / "shards").mkdir()
    counts = []
    for k in (1, 2):
        env = _scan_env(tmp_path, IN_PATHS=paths, IN_SHARD=f"{k}/2", IN_ARGS="--select GL2 --no-cache",
                        IN_SARIF=str(tmp_path / "shards" / f"gleak-{k}.sarif"))
        code, out, outputs = _run_step(_step("scan"), tmp_path, REPO, **env)
        assert code == 0 and outputs["exit-code"] in ("0", "1"), out
        counts.append(len(json.loads((tmp_path / "shards" / f"gleak-{k}.sarif").read_text())["runs"][0]["results"]))
    assert all(counts), counts  # both shards found something: a real split
    env = _scan_env(tmp_path, IN_MERGE=f"{tmp_path}/shards/gleak-*.sarif", IN_SARIF=str(tmp_path / "merged.sarif"))
    code, out, outputs = _run_step(_step("scan"), tmp_path, REPO, **env)
    assert (code, outputs["exit-code"]) == (0, "0"), out
    assert outputs["sarif-file"] == str(tmp_path / "merged.sarif")

    def runs(name: str) -> Any:
        run = json.loads((tmp_path / name).read_text())["runs"]
        for invocation in run[0]["invocations"]:
            invocation.pop("startTimeUtc"), invocation.pop("endTimeUtc")
        return run

    assert runs("merged.sarif") == runs("whole.sarif")
    env = _scan_env(tmp_path, IN_MERGE=f"{tmp_path}/none-*.sarif", IN_SARIF=str(tmp_path / "x.sarif"))
    code, out, outputs = _run_step(_step("scan"), tmp_path, REPO, **env)
    assert code == 2 and "input merge: no file matches" in out, out


def test_merge_job_skips_the_cache_and_shards_keep_their_own() -> None:
    for step_id in ("cache-key", "cache-restore"):
        assert "inputs.merge == ''" in _step(step_id)["if"]
    save = next(s for s in _action()["runs"]["steps"] if s.get("uses", "").startswith("actions/cache/save@"))
    assert "inputs.merge == ''" in save["if"]
    assert "steps.cache-key.outputs.shard" in _step("cache-restore")["with"]["key"]


def test_cache_key_step_names_the_shard(tmp_path: Path) -> None:
    for shard, expected in (("", "all"), ("2/3", "shard-2-3")):
        code, out, outputs = _run_step(_step("cache-key"), tmp_path, REPO, GLEAK=gleak_bin(), IN_CONFIG="",
                                       IN_SHARD=shard)
        assert code == 0 and outputs["shard"] == expected, out


# ---------------------------------------------------------------------------------- the scan cache


def test_cache_is_saved_before_the_failing_step_under_a_stable_key() -> None:
    steps = _action()["runs"]["steps"]
    names = [s.get("id") or s["name"] for s in steps]
    restore = _step("cache-restore")
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save@"))
    assert restore["uses"].startswith("actions/cache/restore@")
    assert not any(s.get("uses", "").startswith("actions/cache@") for s in steps), "its post step runs on success only"
    # restore before the scan; save after it, before the upload and the step that fails the job
    assert names.index("cache-restore") < names.index("scan") < steps.index(save) < names.index("upload")
    assert steps.index(save) < names.index("Fail on findings")
    condition = " ".join(save["if"].split())
    assert condition.startswith("always() && inputs.cache == 'true'"), condition  # saved when findings fail too
    assert "steps.cache-restore.outputs.cache-hit != 'true'" in condition  # an exact hit is not saved again
    assert save["with"]["path"] == restore["with"]["path"]
    assert save["with"]["key"] == "${{ steps.cache-restore.outputs.cache-primary-key }}"
    # the key does not grow per run: only code, config files and the rules fingerprint change it
    key = restore["with"]["key"]
    assert "run_id" not in key and "run_attempt" not in key and "github.sha" not in key, key
    assert "steps.cache-key.outputs.fingerprint" in key and "hashFiles(" in key
    for prefix in restore["with"]["restore-keys"].splitlines():
        assert key.startswith(prefix), prefix


def test_cache_key_step_follows_rules_and_severity(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / ".gleak.yml").write_text("ignore: [GL203]\n")

    def fingerprint(config: str = "") -> str:
        code, out, outputs = _run_step(_step("cache-key"), tmp_path, proj, GLEAK=gleak_bin(), IN_CONFIG=config)
        assert code == 0, out
        return outputs["fingerprint"]

    base = fingerprint()
    assert base == fingerprint() and base != "none"
    (proj / ".gleak.yml").write_text("ignore: [GL203]\nseverity: {GL201: error}\n")
    assert fingerprint() != base, "a severity change must change the key, or the restored cache goes stale"
    (proj / "other.yml").write_text("ignore: [GL203]\n")
    assert fingerprint("other.yml") == base
    (proj / ".gleak.yml").write_text("unknown-key: 1\n")
    assert fingerprint() == "none"  # the scan reports the broken config; the key step does not fail


def test_scan_step_fail_on_new_with_baseline(tmp_path: Path) -> None:
    first = _scan_env(tmp_path, IN_PATHS="fixtures/example", IN_SARIF=str(tmp_path / "baseline.sarif"))
    assert _run_step(_step("scan"), tmp_path, REPO, **first)[2]["exit-code"] == "1"
    again = _scan_env(tmp_path, IN_PATHS="fixtures/example", IN_FAIL_ON="new",
                      IN_BASELINE=str(tmp_path / "baseline.sarif"))
    code, out, outputs = _run_step(_step("scan"), tmp_path, REPO, **again)
    assert (code, outputs["exit-code"]) == (0, "0"), out  # nothing new against the baseline
    assert "(in baseline)" in out


def test_scan_step_stops_on_usage_errors(tmp_path: Path) -> None:
    env = _scan_env(tmp_path, IN_PATHS="fixtures/example", IN_FAIL_ON="new")  # no baseline
    code, out, outputs = _run_step(_step("scan"), tmp_path, REPO, **env)
    assert code == 2 and outputs["exit-code"] == "2", out
    assert "--fail-on new needs --baseline" in out


def test_fail_step_fails_with_the_scan_code(tmp_path: Path) -> None:
    step = next(s for s in _action()["runs"]["steps"] if s.get("name") == "Fail on findings")
    assert step["if"] == "steps.scan.outputs.exit-code != '0'"
    code, out, _ = _run_step(step, tmp_path, REPO, CODE="1", FAIL_LEVEL="warning", FAIL_ON="findings")
    assert code == 1
    assert out.startswith("::error title=gleak-sarif::")


@pytest.mark.parametrize("version", ["", "requirement"])
def test_install_step_installs_what_works_today(tmp_path: Path, version: str) -> None:
    # "": pip-installs this repository into a fresh venv as the action does for `uses: owner/gleak-sarif@ref`;
    # a pip requirement (here a local checkout, as git+https://...@<commit> is one) is installed as given.
    # Dependencies come from the same PyPI wheelhouse as the pre-commit tests.
    code, out, outputs = _run_step(_step("install"), tmp_path, REPO, RUNNER_TEMP=str(tmp_path),
                                   GITHUB_ACTION_PATH=str(tmp_path / "not-used") if version else str(REPO),
                                   GLEAK_VERSION=str(REPO) if version else "",
                                   PIP_FIND_LINKS=str(wheelhouse()), PIP_NO_INDEX="1")
    assert code == 0, out
    assert outputs["bin"] == str(tmp_path / "gleak-sarif-venv" / "bin" / "gleak-sarif")
    assert outputs["python"] == str(tmp_path / "gleak-sarif-venv" / "bin" / "python")
    version = subprocess.run([outputs["bin"], "--version"], capture_output=True, text=True, timeout=120)
    assert version.stdout.startswith("gleak-sarif "), version.stderr
