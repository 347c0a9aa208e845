"""Hostile source trees: the scan goes on, each problem is reported once (text and SARIF), good files keep
every finding, the exit code stays 0/1, and no traceback reaches the user."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.engine.context import ScanContext
from gleak_sarif.engine.evaluate import FileTimeoutError
from gleak_sarif.engine.worker import scan_source
from tests.reliability.conftest import REPO, no_traceback, run_cli
from tests.reliability.targets import builtin_pack, go_seeds

EXAMPLE = (REPO / "fixtures" / "example" / "server.go").read_bytes()


def _expected(source: bytes) -> list[tuple[str, int]]:
    """(rule, line) of every finding the default rules give for ``source`` in a clean file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.go"
        path.write_bytes(source)
        found = Engine(ScanOptions(jobs=1, use_cache=False, config_path=None)).scan([str(path)]).findings
    return sorted((f.rule_id, f.primary.start_line) for f in found)


# file name -> the notifications expected for it, once each (`a|b`); None: no notification
def _build_tree(root: Path) -> dict[str, str | None]:
    rng = random.Random(1234)
    expect: dict[str, str | None] = {}

    def put(name: str, data: bytes, note: str | None) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expect[name] = note

    put("good/server.go", EXAMPLE, None)
    for index in range(5):  # with the 2 MB line below: enough files and bytes for `-j 2` to use workers
        put(f"good/copy{index}.go", EXAMPLE, None)
    put("sp ace/ünï cödé/leak.go", EXAMPLE, None)
    put("random.go", bytes(rng.randrange(256) for _ in range(5000)), "not Go source (binary content)")
    put("noise.go", bytes(rng.randrange(1, 256) for _ in range(5000)), "invalid UTF-8|syntax error")
    put("latin1.go", EXAMPLE.replace(b"results", b"r\xe9sults"), "invalid UTF-8")
    put("bom.go", b"\xef\xbb\xbf" + EXAMPLE, None)
    put("crlf.go", EXAMPLE.replace(b"\n", b"\r\n"), None)
    n = 5000
    put("deep.go", b"package p\n\nfunc f() {\n\t_ = " + b"(" * n + b"1" + b")" * n + b"\n\t" + b"{" * n
        + b"}" * n + b"\n}\n", None)
    put("longline.go", EXAMPLE + b'\nvar long = "' + b"x" * 2_200_000 + b'"\n', None)
    put("empty.go", b"", None)
    put("truncated.go", EXAMPLE[: EXAMPLE.index(b"results := make") + 12], "syntax error")
    os.mkfifo(root / "fifo.go")
    expect["fifo.go"] = "not a regular file"
    os.symlink("loop.go", root / "loop.go")
    expect["loop.go"] = "cannot read"
    os.symlink("nowhere.go", root / "dangling.go")
    expect["dangling.go"] = "cannot read"
    (root / "dirloop").mkdir()
    os.symlink("..", root / "dirloop" / "up")  # a directory symlink loop: not followed
    return expect


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str | None]]:
    root = tmp_path_factory.mktemp("hostile")
    return root, _build_tree(root)


def _text_notes(name: str, stdout: str) -> list[str]:
    """Notification lines of the text output for one file: `path[:line]: level: message [kind]`."""
    pattern = re.compile(rf"^{re.escape(name)}(:\d+)?: (warning|error|note): .* \[[a-z-]+\]$")
    return [line for line in stdout.splitlines() if pattern.match(line)]


def _sarif_notes(log: dict[str, Any], name: str) -> list[str]:
    uri = quote(name)
    out = []
    for inv in log["runs"][0]["invocations"]:
        for note in inv.get("toolExecutionNotifications", []):
            uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in note.get("locations", [])]
            if uri in uris:
                out.append(note["message"]["text"])
    return out


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_hostile_tree(hostile: tuple[Path, dict[str, str | None]], tmp_path: Path, jobs: str) -> None:
    root, expect = hostile
    sarif = tmp_path / "out.sarif"
    done = run_cli("scan", ".", "--no-cache", "-j", jobs, "--sarif-output", str(sarif), cwd=root, timeout=240)
    no_traceback(done)
    assert done.returncode == 1, done.stderr  # findings, not an internal error
    log = json.loads(sarif.read_text(encoding="utf-8"))
    for name, note in expect.items():
        text_notes = _text_notes(name, done.stdout)
        # SARIF URIs are symlink-resolved (stable alert identity): a dangling link shows its target
        sarif_notes = _sarif_notes(log, "nowhere.go" if name == "dangling.go" else name)
        if note is None:
            assert text_notes == [] and sarif_notes == [], (name, text_notes, sarif_notes)
            continue
        wanted = note.split("|")  # each problem of the file once, and nothing else
        assert len(text_notes) == len(wanted), (name, wanted, text_notes)
        assert len(sarif_notes) == len(wanted), (name, wanted, sarif_notes)
        for phrase in wanted:
            assert sum(phrase in t for t in text_notes) == 1, (name, phrase, text_notes)
            assert sum(phrase in t for t in sarif_notes) == 1, (name, phrase, sarif_notes)
    # every good file keeps all its findings
    want = _expected(EXAMPLE)
    results = log["runs"][0]["results"]
    for name in ("good/server.go", "good/copy4.go", "sp ace/ünï cödé/leak.go", "bom.go", "crlf.go",
                 "longline.go"):
        got = sorted((r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results
                     if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == quote(name))
        assert got == want, (name, got, want)


def test_fifo_named_explicitly_does_not_hang(hostile: tuple[Path, dict[str, str | None]]) -> None:
    root, _ = hostile
    done = run_cli("scan", "fifo.go", "good/server.go", "--no-cache", cwd=root, timeout=120)
    no_traceback(done)
    assert done.returncode == 1
    assert done.stdout.count("fifo.go: warning: not a regular file") == 1, done.stdout


def test_file_that_disappears_during_the_scan(tmp_path: Path) -> None:
    """Deleted between discovery and reading: one read-error notification, the other files scanned."""
    names = [f"f{i}.go" for i in range(4)]
    for name in names:
        (tmp_path / name).write_bytes(EXAMPLE)
    engine = Engine(ScanOptions(jobs=1, use_cache=False))

    def progress(done: int, total: int) -> None:
        if done == 1:
            (tmp_path / names[2]).unlink()

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = engine.scan(["."], progress=progress)
    finally:
        os.chdir(cwd)
    notes = [n for n in result.notifications if n.path == names[2]]
    assert [n.kind.value for n in notes] == ["read-error"], result.notifications
    assert "No such file" in notes[0].message
    by_file = {f.primary.path for f in result.findings}
    assert by_file == {names[0], names[1], names[3]}


def _can_drop_privileges() -> bool:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return False
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                            "-c", "import gleak_sarif, tree_sitter"], capture_output=True,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, cwd="/")
    return probe.returncode == 0


def test_unreadable_file() -> None:
    """chmod 000 does not stop root: as root, the scan runs as `nobody` through setpriv."""
    as_root = os.geteuid() == 0
    if as_root and not _can_drop_privileges():
        pytest.skip("running as root and cannot run the scanner as another user (setpriv), so a chmod 000 "
                    "file stays readable")
    root = Path(tempfile.mkdtemp(prefix="gleak-unreadable-"))
    try:
        root.chmod(0o755)
        (root / "good.go").write_bytes(EXAMPLE)
        (root / "secret.go").write_bytes(EXAMPLE)
        (root / "secret.go").chmod(0o000)
        (root / "good.go").chmod(0o644)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if as_root else []
        done = subprocess.run([*prefix, sys.executable, "-m", "gleak_sarif", "scan", ".", "--no-cache"],
                              capture_output=True, text=True, cwd=root, timeout=240,
                              env={**os.environ, "PYTHONPATH": str(REPO), "HOME": str(root)})
        no_traceback(done)
        assert done.returncode == 1, done.stderr
        assert done.stdout.count("secret.go: warning: cannot read: Permission denied") == 1, done.stdout
        assert "good.go:" in done.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_fifty_megabyte_file(tmp_path: Path) -> None:
    """Skipped with one notification under the default limit; scanned (findings and all) above it."""
    (tmp_path / "small.go").write_bytes(EXAMPLE)
    padding = b"/*\n" + (b"padding " * 12 + b"\n") * (50 * 1024 * 1024 // 97) + b"*/\n"
    (tmp_path / "big.go").write_bytes(EXAMPLE + padding)
    want = _expected(EXAMPLE)
    done = run_cli("scan", ".", "--no-cache", "--format", "json", cwd=tmp_path, timeout=240)
    no_traceback(done)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    big_notes = [n for n in data["notifications"] if n["path"] == "big.go"]
    assert len(big_notes) == 1 and "larger than 20 MiB" in big_notes[0]["message"], big_notes
    assert "--max-file-size" in big_notes[0]["message"]
    assert sorted((f["rule_id"], f["primary"]["start_line"]) for f in data["findings"]) == want

    done = run_cli("scan", "big.go", "--no-cache", "--format", "json", "--max-file-size", "64", cwd=tmp_path,
                   timeout=240)
    no_traceback(done)
    data = json.loads(done.stdout)
    assert data["notifications"] == []
    assert sorted((f["rule_id"], f["primary"]["start_line"]) for f in data["findings"]) == want


def _cuts(data: bytes, count: int) -> Iterator[int]:
    step = max(1, len(data) // count)
    yield from range(1, len(data), step)


@pytest.mark.parametrize("shard", range(4))
def test_every_fixture_truncated(shard: int) -> None:
    """Every Go file of fixtures/ cut at many points: a result (maybe a parse-error note), never a crash."""
    pack = builtin_pack()
    options = ScanOptions(file_timeout_seconds=30)
    for index, data in enumerate(go_seeds()):
        if index % 4 != shard:
            continue
        for cut in _cuts(data, 12):
            try:
                result = scan_source(ScanContext(pack, options), "cut.go", data[:cut], (1, 22))
            except FileTimeoutError:
                continue
            for finding in result.findings:
                assert finding.primary.end_byte <= cut
            kinds = [n.kind.value for n in result.notifications]
            assert kinds.count("parse-error") <= 1
