"""Caches a pull request can plant (issue 22 items 5, 6, 14; issue 17 item 3): the scan cache is signed
with this user's key, never read through a link or from a folder git tracks, deletes only its own files,
and lives in the user cache directory when the scanned folder is in no git work tree or is read-only;
a planted rule-pack file cannot run code."""

from __future__ import annotations

import glob
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gleak_sarif.engine.cache import CACHE_DIR_NAME, SCHEMA
from gleak_sarif.usercache import sign
from tests.reliability.conftest import REPO, no_traceback, run_cli

EXAMPLE = (REPO / "fixtures" / "example" / "server.go").read_bytes()
CLEAN = b"package p\n\nfunc Add(a, b int) int { return a + b }\n"
GIT = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-c", "init.defaultBranch=main"]


@pytest.fixture()
def home(tmp_path: Path) -> dict[str, str]:
    """A private user cache directory for the scans of one test."""
    return {"XDG_CACHE_HOME": str(tmp_path / "xdg")}


def repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run([*GIT, "init", "-q"], cwd=path, check=True)
    (path / ".gleak.yml").write_text("{}\n")
    (path / "leak.go").write_bytes(EXAMPLE)
    (path / "clean.go").write_bytes(CLEAN)
    subprocess.run([*GIT, "add", "."], cwd=path, check=True)
    subprocess.run([*GIT, "commit", "-qm", "x"], cwd=path, check=True)
    return path


def scan(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = run_cli("scan", ".", "-q", *args, cwd=cwd, env=env, timeout=180)
    no_traceback(done)
    return done


def findings(done: subprocess.CompletedProcess[str]) -> int:
    return sum(1 for line in done.stdout.splitlines() if ": GL" in line and "[" in line)


def test_forged_entries_do_not_hide_findings(tmp_path: Path, home: dict[str, str]) -> None:
    """Entries rewritten as empty (or a clean file's signed entry copied over a leaking file's) are misses:
    the scan finds every leak again and exits 1."""
    root = repo(tmp_path / "r")
    first = scan(root, home)
    assert first.returncode == 1 and findings(first) == 4, first.stdout
    database = root / CACHE_DIR_NAME / f"scan-v{SCHEMA}.sqlite3"
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT key, value, mac FROM entries").fetchall()
        empty = next((v, m) for _, v, m in rows if '"findings": []' in v)
        db.execute("UPDATE entries SET value = ?, mac = ?", empty)  # every entry: the clean file's, signed
    db.close()
    again = scan(root, home)
    assert again.returncode == 1 and findings(again) == 4, again.stdout
    with sqlite3.connect(database) as db:
        db.execute("UPDATE entries SET value = ?", ('{"findings": [], "notifications": []}',))
    db.close()
    third = scan(root, home)
    assert third.returncode == 1 and findings(third) == 4, third.stdout


def test_a_committed_cache_folder_is_not_read(tmp_path: Path, home: dict[str, str]) -> None:
    """A `.gleak-cache` tracked by git (committed in a pull request) is left alone, byte for byte; the
    scan uses the user cache directory."""
    root = repo(tmp_path / "r")
    planted = root / CACHE_DIR_NAME
    planted.mkdir()
    (planted / f"scan-v{SCHEMA}.sqlite3").write_bytes(b"planted")
    (planted / "scan-v1.sqlite3").write_bytes(b"other")
    subprocess.run([*GIT, "add", "-f", CACHE_DIR_NAME], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "cache"], cwd=root, check=True)
    done = scan(root, home)
    assert done.returncode == 1 and findings(done) == 4
    assert (planted / f"scan-v{SCHEMA}.sqlite3").read_bytes() == b"planted"
    assert (planted / "scan-v1.sqlite3").read_bytes() == b"other"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True)
    assert status.stdout == ""
    assert glob.glob(os.path.join(home["XDG_CACHE_HOME"], "gleak-sarif", "scan", "*", f"scan-v{SCHEMA}.sqlite3"))


def test_a_linked_cache_folder_is_not_followed(tmp_path: Path, home: dict[str, str]) -> None:
    """`.gleak-cache -> elsewhere`: nothing there is read, written or deleted (an unrelated
    `scan-v1.sqlite3` used to be deleted); `cache clean` leaves it too and says so (it used to exit 3)."""
    root = repo(tmp_path / "r")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "scan-v1.sqlite3").write_bytes(b"not yours")
    (root / CACHE_DIR_NAME).symlink_to(elsewhere)
    for _ in range(2):
        done = scan(root, home)
        assert done.returncode == 1 and findings(done) == 4
    assert sorted(p.name for p in elsewhere.iterdir()) == ["scan-v1.sqlite3"]
    clean = run_cli("cache", "clean", ".", cwd=root, env=home)
    no_traceback(clean)
    assert clean.returncode == 0, clean.stderr
    assert "left" in clean.stdout and "symbolic link" in clean.stdout
    assert (root / CACHE_DIR_NAME).is_symlink() and (elsewhere / "scan-v1.sqlite3").read_bytes() == b"not yours"


def test_outside_a_work_tree_the_cache_goes_to_the_user_cache_dir(tmp_path: Path, home: dict[str, str]) -> None:
    """A module in GOMODCACHE, an unpacked archive: nothing is written into the scanned folder (which
    `go mod verify` checks); the second scan is answered from the user cache directory."""
    module = tmp_path / "mod@v1.0.0"
    module.mkdir()
    (module / "leak.go").write_bytes(EXAMPLE)
    before = sorted(p.name for p in module.iterdir())
    first = scan(module, home)
    second = scan(module, home)
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout
    assert sorted(p.name for p in module.iterdir()) == before
    entries = glob.glob(os.path.join(home["XDG_CACHE_HOME"], "gleak-sarif", "scan", "*", "scan-v*.sqlite3"))
    assert len(entries) == 1
    # from another folder too: the cache is keyed by the scanned folder's absolute path
    assert run_cli("scan", str(module), "-q", cwd=tmp_path, env=home).stdout.count(": GL") == 4
    clean = run_cli("cache", "clean", str(module), cwd=tmp_path, env=home)  # PATH, not the working folder
    assert clean.returncode == 0 and "removed" in clean.stdout, clean.stdout
    assert not glob.glob(os.path.join(home["XDG_CACHE_HOME"], "gleak-sarif", "scan", "*", "scan-v*.sqlite3"))


def _can_drop_privileges() -> bool:
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


def test_a_read_only_checkout_uses_the_user_cache_dir(tmp_path: Path) -> None:
    """A checkout the scanning user cannot write: no cache folder appears in it, the scan still caches.
    As root (who can write anywhere) the scan runs as `nobody` through setpriv."""
    if os.geteuid() == 0 and not _can_drop_privileges():
        pytest.skip("running as root without setpriv: a read-only folder stays writable")
    base = Path(tempfile.mkdtemp(prefix="gleak-readonly-"))  # not under pytest's 0700 folder: `nobody` reads it
    base.chmod(0o755)
    root = repo(base / "r")
    xdg = base / "xdg-user"
    xdg.mkdir()
    for path in (root, *root.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    root.chmod(0o555)
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    if prefix:
        os.chown(xdg, 65534, 65534)
    try:
        env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(xdg), "HOME": str(xdg),
               "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"}
        for _ in range(2):
            done = subprocess.run([*prefix, sys.executable, "-m", "gleak_sarif", "scan", ".", "-q"],
                                  cwd=root, capture_output=True, text=True, timeout=180, env=env)
            no_traceback(done)
            assert done.returncode == 1, done.stderr
        assert not (root / CACHE_DIR_NAME).exists()
        assert glob.glob(os.path.join(xdg, "gleak-sarif", "scan", "*", f"scan-v{SCHEMA}.sqlite3"))
    finally:
        root.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


class _Pwn:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_rule_pack_cannot_run_code(tmp_path: Path, home: dict[str, str]) -> None:
    """Every cached pack file replaced by a pickle that runs a command: unsigned, and signed with the
    right key (as if the key leaked): the command never runs, the scan compiles its rules and finds the
    leaks."""
    root = repo(tmp_path / "r")
    assert scan(root, home, "--no-cache").returncode == 1
    packs = glob.glob(os.path.join(home["XDG_CACHE_HOME"], "gleak-sarif", "packs", "*.pickle"))
    assert packs, "the first scan stores its compiled pack"
    key = Path(home["XDG_CACHE_HOME"], "gleak-sarif", "key").read_bytes()
    for signed, marker in ((False, tmp_path / "pwned-unsigned"), (True, tmp_path / "pwned-signed")):
        payload = pickle.dumps(_Pwn(str(marker)))
        for pack in packs:
            Path(pack).write_bytes(sign(payload, key) + payload if signed else payload)
        done = scan(root, home, "--no-cache")
        assert done.returncode == 1 and findings(done) == 4, done.stdout
        assert not marker.exists()
