"""Helpers for the integration tests: real pre-commit, actionlint, temp git repositories.

pre-commit installs the hook repository with `pip install .` into a fresh virtualenv. To keep that fast
and independent of PyPI's speed, the dependencies are downloaded once from PyPI into a wheelhouse under
.cache/pre-commit/ (keyed by pyproject.toml's requirements and the Python version) and pre-commit's pip
is pointed at it (PIP_FIND_LINKS + PIP_NO_INDEX): the real pip still resolves and installs everything.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TESTDATA = Path(__file__).resolve().parent / "testdata"
CACHE = REPO / ".cache" / "pre-commit"
EXAMPLE = REPO / "fixtures" / "example" / "server.go"


def tool_or_skip(name: str, *candidates: Path) -> str:
    """An external tool's path; under CI a missing tool fails the test instead of skipping it."""
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required under CI but was not found")
    pytest.skip(f"{name} not installed")
    raise AssertionError("unreachable")


def gleak_bin() -> str:
    """The gleak-sarif console script of the interpreter running the tests."""
    return tool_or_skip("gleak-sarif", Path(sys.executable).parent / "gleak-sarif")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without git variables of an outer git process (a test run from a git hook)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="gleak test",
        GIT_AUTHOR_EMAIL="gleak-test@example.invalid",
        GIT_COMMITTER_NAME="gleak test",
        GIT_COMMITTER_EMAIL="gleak-test@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
                          cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def make_git_repo(root: Path, files: dict[str, Path | str]) -> Path:
    """A committed git repository at ``root`` with ``files`` (destination -> source path or text)."""
    root.mkdir(parents=True, exist_ok=True)
    git("init", "-q", cwd=root)
    for dest, source in files.items():
        target = root / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_text(source, encoding="utf-8")
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "fixture", cwd=root)
    return root


def copy_tree(source: Path) -> dict[str, Path | str]:
    return {str(p.relative_to(source)): p for p in sorted(source.rglob("*")) if p.is_file()}


def hook_ref() -> str:
    """The commit pre-commit installs the hooks from: HEAD, so the test sees what users get from a tag.

    Uncommitted changes are deliberately not used (try-repo's default would add tracked changes only,
    which in a half-edited tree gives an uninstallable mix); commit the hook manifest before testing it.
    """
    ref = git("rev-parse", "HEAD", cwd=REPO).strip()
    listed = subprocess.run(["git", "cat-file", "-e", f"{ref}:.pre-commit-hooks.yaml"], cwd=REPO,
                            env=clean_env(), capture_output=True)
    if listed.returncode != 0:
        pytest.fail(".pre-commit-hooks.yaml is not committed: pre-commit installs hooks from HEAD")
    return ref


def _wheelhouse_key() -> str:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = sorted(project["project"]["dependencies"]) + sorted(project["build-system"]["requires"])
    digest = hashlib.sha256("\n".join([sys.version.split()[0], sys.platform, *wanted]).encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # parallel pytest workers wait for one download
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def wheelhouse() -> Path:
    """Wheels of gleak-sarif's dependencies and build backend, downloaded once from PyPI."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    target = CACHE / f"wheels-{_wheelhouse_key()}"
    with _locked(CACHE / "wheels.lock"):
        if (target / ".complete").exists():
            return target
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        requirements = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(partial), *requirements],
            capture_output=True, text=True, timeout=900,
        )
        assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}\n{done.stderr}"
        for old in CACHE.glob("wheels-*"):
            if old != partial:
                shutil.rmtree(old, ignore_errors=True)  # one wheelhouse at a time
        (partial / ".complete").write_text("ok\n")
        partial.rename(target)
    return target


@pytest.fixture(scope="session")
def pre_commit() -> str:
    return tool_or_skip("pre-commit", Path(sys.executable).parent / "pre-commit")


def pre_commit_home() -> Path:
    """pre-commit's store for this commit's hooks: one hook virtualenv, reused by every test of the run
    (and by later runs at the same commit); stores of other commits are removed so .cache/ stays small."""
    home = CACHE / f"home-{hook_ref()[:12]}"
    with _locked(CACHE / "home.lock"):
        for old in CACHE.glob("home-*"):
            if old != home and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        home.mkdir(parents=True, exist_ok=True)
    return home


@pytest.fixture(scope="session")
def pre_commit_env() -> dict[str, str]:
    return clean_env(
        PIP_FIND_LINKS=str(wheelhouse()),
        PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PRE_COMMIT_HOME=str(pre_commit_home()),
        PRE_COMMIT_COLOR="never",
    )


_HOOK_NAMES = {hook["name"]: hook["id"]
               for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
# "name.....Passed", "name.....(no files to check)Skipped"
_HOOK_LINE = re.compile(r"^(?P<name>.+?)\.{2,}(?:\([^)\n]*\))?(?P<status>Passed|Failed|Skipped)$", re.M)
_FINDING = re.compile(r"^(?P<path>\S+?):(?P<line>\d+):(?P<col>\d+): (?P<rule>[A-Z]{2,5}\d{3,4}) ", re.M)


def hook_sections(output: str) -> dict[str, tuple[str, str]]:
    """pre-commit's output split per hook: hook id -> (status, text of that hook's section)."""
    sections: dict[str, tuple[str, str]] = {}
    marks = list(_HOOK_LINE.finditer(output))
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(output)
        body = output[mark.end():end]
        # a failed hook prints "- hook id: ..."; a passed or skipped one only its name
        hook_id = re.search(r"^- hook id: (\S+)", body, re.M)
        name = mark.group("name").strip()
        key = hook_id.group(1) if hook_id else _HOOK_NAMES.get(name, name)
        sections[key] = (mark.group("status"), body)
    return sections


def finding_keys(text: str) -> list[tuple[str, int, int, str]]:
    """(path, line, column, rule) of every finding header in text output."""
    return sorted((m["path"], int(m["line"]), int(m["col"]), m["rule"]) for m in _FINDING.finditer(text))
