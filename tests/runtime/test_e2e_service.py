"""End to end: fixtures/runtime/service (gohook middleware, one leaking and one clean handler) on
loopback; two pprof snapshots; ``runtime diff`` reports exactly the leaking go statement with its route."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rtkit import REPO, Validation, leak_line, run
from typer.testing import CliRunner

from gleak_sarif.runtime.cli import app
from gleak_sarif.runtime.parse import parse_dump

SERVICE = REPO / "fixtures" / "runtime" / "service"
MAIN = SERVICE / "main.go"
REQUESTS = 6


def get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            data: bytes = resp.read()
            return data
    except urllib.error.HTTPError as err:  # /leak answers 504 by design
        return err.read()


@pytest.fixture(scope="module")
def service(go: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not MAIN.is_file():
        pytest.fail("fixtures/runtime/service is missing")
    binary = tmp_path_factory.mktemp("svc") / "service"
    run([go, "build", "-o", str(binary), "."], cwd=SERVICE)
    env = dict(os.environ, GODEBUG="tracebacklabels=1")
    proc = subprocess.Popen([str(binary), "-port", "0", "-work", "50ms", "-timeout", "5ms"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("listening on ") or not line:
                break
        assert line.startswith("listening on 127.0.0.1:"), f"service did not start: {line!r}"
        yield "http://" + line.split()[-1]
    finally:
        proc.kill()
        proc.wait(timeout=10)


def hit_both(base: str, n: int = REQUESTS) -> None:
    for _ in range(n):
        get(base + "/leak")
        get(base + "/ok")


def leaked_now(text: str) -> int:
    return sum(1 for g in parse_dump(text).goroutines
               if g.state == "chan send" and g.created_by and g.created_by.func == "main.(*handlers).leak")


def working_now(text: str) -> int:
    """Workers of the clean handler still in their 50 ms of work: on a loaded machine they can outlive it."""
    return sum(1 for g in parse_dump(text).goroutines
               if g.created_by and g.created_by.func == "main.(*handlers).ok")


def snapshot_after(base: str, before: bytes, n: int) -> bytes:
    """The AFTER snapshot, once the n new leaking workers (50 ms of work) reached their send and the clean
    handler's workers are gone (else a slow machine shows them as growth too); bounded."""
    want = leaked_now(before.decode()) + n
    deadline = time.monotonic() + 30
    while True:
        time.sleep(0.3)
        data = get(base + "/debug/pprof/goroutine?debug=2")
        text = data.decode()
        if (leaked_now(text) >= want and working_now(text) == 0) or time.monotonic() > deadline:
            return data


def test_diff_reports_exactly_the_leaking_handler(service: str, tmp_path: Path,
                                                  validate_sarif: Callable[[Path], Validation]) -> None:
    before = tmp_path / "before.txt"
    after = tmp_path / "after.txt"
    before.write_bytes(get(service + "/debug/pprof/goroutine?debug=2"))
    hit_both(service)
    after.write_bytes(snapshot_after(service, before.read_bytes(), REQUESTS))

    out = tmp_path / "leaks.sarif"
    res = CliRunner().invoke(app, ["diff", str(before), str(after), "--source-root", str(REPO),
                                   "--format", "sarif", "--output", str(out)])
    assert res.exit_code == 1, res.output  # findings -> exit 1
    log = json.loads(out.read_text())
    results = log["runs"][0]["results"]
    assert len(results) == 1, json.dumps(results, indent=1)[:3000]
    (r,) = results
    assert r["ruleId"] == "GLR001"
    loc = r["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "fixtures/runtime/service/main.go"
    assert loc["region"]["startLine"] == leak_line(MAIN, "this go statement leaks")
    assert loc["region"].get("endLine", loc["region"]["startLine"]) == loc["region"]["startLine"]
    props = r["properties"]
    assert props["labels"]["http.route"] == ["GET /leak"]
    assert props["goroutines"] >= REQUESTS and props["growth"] >= REQUESTS
    assert props["state"] == "chan send"
    assert "http.route=GET /leak" in r["message"]["text"]
    assert r.get("codeFlows") and r.get("relatedLocations")

    v = validate_sarif(out)
    assert v.errors == [] and v.warnings == [], (v.errors, v.warnings)

    # Text: the short table, the route and the go statement.
    res = CliRunner().invoke(app, ["diff", str(before), str(after), "--source-root", str(REPO), "--exit-zero"])
    assert res.exit_code == 0, res.output
    assert "GET /leak" in res.output and f"main.go:{loc['region']['startLine']}" in res.output


def test_with_static_marks_confirmed(service: str, tmp_path: Path) -> None:
    before = tmp_path / "before.txt"
    after = tmp_path / "after.txt"
    before.write_bytes(get(service + "/debug/pprof/goroutine?debug=2"))
    hit_both(service, 2)
    after.write_bytes(snapshot_after(service, before.read_bytes(), 2))
    out = tmp_path / "leaks.json"
    res = CliRunner().invoke(app, ["diff", str(before), str(after), "--source-root", str(SERVICE),
                                   "--with-static", "--format", "json", "--output", str(out)])
    assert res.exit_code == 1, res.output
    data = json.loads(out.read_text())
    findings = data["findings"] if isinstance(data, dict) else data
    line = leak_line(MAIN, "this go statement leaks")
    runtime = [f for f in findings if f["rule_id"] == "GLR001"]
    assert len(runtime) == 1 and runtime[0]["primary"]["start_line"] == line
    confirmed = [f for f in findings if f["properties"].get("runtime-confirmed")]
    # The static rules flag the same go statement (send abandoned by select): confirmed by the dump.
    assert any(f["primary"]["start_line"] == line for f in confirmed)
    assert all(f["primary"]["start_line"] == line or f["properties"]["runtime-confirmed-at"] != "go-statement"
               for f in confirmed)
    assert all("Runtime-confirmed" in f["message"] for f in confirmed)
    # Only the file the leak maps to was scanned.
    assert {Path(f["primary"]["path"]).name for f in findings} == {"main.go"}


def test_watch_polls_and_reports_growth(service: str, tmp_path: Path) -> None:
    snaps = tmp_path / "snaps"

    def hit_after_first_snapshot() -> None:
        # Leak only once the first snapshot exists, however slow the machine is (bounded wait).
        deadline = time.monotonic() + 60
        while not (snaps / "snapshot-0001.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        for _ in range(3):
            get(service + "/leak")

    hitter = threading.Thread(target=hit_after_first_snapshot)
    hitter.start()
    try:
        res = CliRunner().invoke(app, ["watch", service + "/debug/pprof/goroutine", "--interval", "2s",
                                       "--count", "2", "--dir", str(snaps), "--source-root", str(REPO),
                                       "--format", "json", "--timeout", "5"])
    finally:
        hitter.join()
    assert res.exit_code == 1, res.output
    assert sorted(p.name for p in snaps.iterdir()) == ["snapshot-0001.txt", "snapshot-0002.txt"]
    assert "goroutine " in (snaps / "snapshot-0002.txt").read_text()
    line = leak_line(MAIN, "this go statement leaks")
    start = res.output.index("{")
    data = json.loads(res.output[start:])
    findings = data["findings"] if isinstance(data, dict) else data
    assert [f["primary"]["start_line"] for f in findings] == [line]
    assert findings[0]["properties"]["growth"] == 3


def test_watch_rejects_other_schemes() -> None:
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "127.0.0.1:6060/debug/pprof/goroutine"):
        res = CliRunner().invoke(app, ["watch", url, "--count", "2"])
        assert res.exit_code != 0
        assert "not an http(s) URL" in str(res.exception) or "not an http(s) URL" in res.output
