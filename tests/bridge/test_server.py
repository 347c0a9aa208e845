"""The engine server (docs/engine-protocol.md) with the real engine and rules."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gleak_sarif.bridge.server import PROTOCOL_VERSION, Server, serve

REPO = Path(__file__).resolve().parents[2]
TEST_RULE = REPO / "goshim" / "testdata" / "rules" / "TST001-unbuffered-make.yml"
FIXTURE_MODULE = Path(__file__).resolve().parent / "fixture_module"

LEAKY = b"""package leaky

import "sync"

func RunAll(jobs []func()) {
\tvar wg sync.WaitGroup
\tfor _, job := range jobs {
\t\tgo func() {
\t\t\twg.Add(1) // \xc3\xa9 non-ASCII before nothing; the column is in bytes
\t\t\tdefer wg.Done()
\t\t\tjob()
\t\t}()
\t}
\twg.Wait()
}

func Quiet(jobs []func()) {
\tvar wg sync.WaitGroup
\tgo func() {
\t\twg.Add(1) //gleak:ignore GL402 test of in-source suppression
\t\tdefer wg.Done()
\t}()
\twg.Wait()
}

func Kept(jobs []func()) {
\tvar wg sync.WaitGroup
\tgo func() {
\t\twg.Add(1) //nolint:gleak // golangci-lint applies this one itself
\t\tdefer wg.Done()
\t}()
\twg.Wait()
}

func Unbuffered() chan int {
\treturn make(chan int)
}
"""


@pytest.fixture()
def leaky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # an empty .gleak.yml pins config discovery to this folder, away from the repository's
    (tmp_path / ".gleak.yml").write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "leaky.go"
    path.write_bytes(LEAKY)
    return path


def _req(method: str, rid: int | str = 1, **fields: Any) -> bytes:
    return json.dumps({"protocol": PROTOCOL_VERSION, "id": rid, "method": method, **fields}).encode()


def _serve(lines: list[bytes], *, raw: bytes | None = None, limit: int = 1 << 20) -> list[dict[str, Any]]:
    data = raw if raw is not None else b"".join(line + b"\n" for line in lines)
    out = io.BytesIO()
    assert serve(io.BytesIO(data), out, max_request_bytes=limit) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_scan_reports_byte_positions_and_drops_suppressed(leaky: Path) -> None:
    # fail_level note: GL402 is a note since the levels by evidence (bench/levels.py)
    answer = Server().handle_line(_req("scan", 7, files=[str(leaky)], select=["GL402"], fail_level="note"))
    assert answer["ok"] is True and answer["id"] == 7, answer
    findings = answer["findings"]
    # //gleak:ignore'd: dropped; //nolint:gleak'd: kept, golangci-lint applies it (and nolintlint sees it used)
    assert [(f["line"], f["column"]) for f in findings] == [(9, 4), (29, 3)]
    f = findings[0]
    start = LEAKY.index(b"wg.Add(1)")
    assert (f["rule_id"], f["path"], f["start_byte"], f["end_byte"]) == (
        "GL402",
        str(leaky),
        start,
        start + 9,
    )
    assert (f["line"], f["column"]) == (9, 4)
    # the severity is in the text: golangci-lint's `severity.rules` map it (a plugin cannot set it)
    # a note since the levels by evidence (bench/levels.py): notes are reported when selected
    assert f["message"].startswith("GL402 note: wg.Add is called inside the goroutine it counts")
    assert f["severity"] == "note"
    assert f["fix"] is None


def test_fix_edits_and_extra_rules(leaky: Path) -> None:
    answer = Server().handle_line(_req("scan", files=[str(leaky)], rules=[str(TEST_RULE)], select=["TST001"]))
    (f,) = answer["findings"]
    assert f["message"] == "TST001 warning: unbuffered channel of int made here"
    (edit,) = f["fix"]["edits"]
    start = LEAKY.index(b"make(chan int)")
    assert edit == {
        "path": str(leaky),
        "start_byte": start,
        "end_byte": start + 14,
        "new_text": "make(chan int, 1)",
    }


def test_hello_fingerprint_follows_rules_and_config(leaky: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "TST001.yml").write_text(TEST_RULE.read_text())

    def fingerprint(**fields: Any) -> str:
        answer = Server().handle_line(_req("hello", **fields))
        assert answer["ok"] is True, answer
        assert answer["engine_version"]
        return str(answer["fingerprint"])

    base = fingerprint(rules=[str(rules)])
    assert base == fingerprint(rules=[str(rules)])
    assert base != fingerprint(rules=[str(rules)], ignore=["TST001"])
    (rules / "TST001.yml").write_text(TEST_RULE.read_text().replace("made here", "created here"))
    changed = fingerprint(rules=[str(rules)])
    assert changed != base
    (tmp_path / ".gleak.yml").write_text("severity:\n  TST001: note\n")
    noted = fingerprint(rules=[str(rules)])
    assert noted != changed, "the discovered .gleak.yml is part of the fingerprint"
    assert fingerprint(rules=[str(rules)], fail_level="error") != noted, "what is reported changes with it"


def test_one_engine_per_settings(leaky: Path) -> None:
    server = Server()
    for _ in range(3):
        assert server.handle_line(_req("scan", files=[str(leaky)], select=["GL402"]))["ok"]
    server.handle_line(_req("hello"))
    assert len(server._engines) == 2  # (select GL402) and (defaults): rules compiled once each


def test_config_error_names_file_and_line(leaky: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(TEST_RULE.read_text().replace("severity: warning", "severity: fatal"))
    answer = Server().handle_line(_req("hello", 3, rules=[str(bad)]))
    assert answer["ok"] is False and answer["id"] == 3
    assert answer["error"]["code"] == "config"
    assert f"{bad}:4: severity" in answer["error"]["message"]


def _shared_line_module(tmp_path: Path) -> Path:
    """The golangci-lint fixture module: leaky.go has a GL104 note and a GL403 error on one `go` line."""
    module = tmp_path / "module"
    (module).mkdir()
    (module / "leaky.go").write_bytes((FIXTURE_MODULE / "leaky.go").read_bytes())
    return module / "leaky.go"


def _rules_at(answer: dict[str, Any]) -> list[tuple[int, str]]:
    assert answer["ok"] is True, answer
    return [(f["line"], f["rule_id"]) for f in answer["findings"]]


def test_scan_answers_what_scan_fails_on(leaky: Path, tmp_path: Path) -> None:
    """golangci-lint fails on every issue it prints: the server returns the findings `scan` fails on at
    the fail level (default warning), the most severe first on a shared line (golangci-lint's
    uniq-by-line keeps the first one)."""
    path = _shared_line_module(tmp_path)
    shared = next(n for n, line in enumerate(path.read_text().splitlines(), 1) if "go func() {" in line
                  and n > 45)
    # the same goroutines' WaitGroup is waited on with no Done anywhere: GL414 (an error) on the Wait
    wait = next(n for n, line in enumerate(path.read_text().splitlines(), 1) if "wg.Wait()" in line and n > shared)
    server = Server()
    default = _rules_at(server.handle_line(_req("scan", 1, files=[str(path)])))
    assert (shared, "GL403") in default and (shared, "GL104") not in default  # notes do not fail
    # GL506 under //nolint:gleak comes back too: golangci-lint applies the directive itself
    # (GL402 is a note since the levels by evidence, bench/levels.py: not at the default fail level)
    assert {rule for _, rule in default} == {"GL201", "GL403", "GL414", "GL506"}
    everything = _rules_at(server.handle_line(_req("scan", 2, files=[str(path)], fail_level="note")))
    at_shared = [rule for line, rule in everything if line == shared]
    assert at_shared == ["GL403", "GL104"], everything  # the error first, although GL104 sorts before it
    # GL414 on the Wait is a warning since the levels by evidence (bench/levels.py)
    assert (wait, "GL414") in default
    assert _rules_at(server.handle_line(_req("scan", 3, files=[str(path)], fail_level="error"))) == [
        (shared, "GL403")]
    assert _rules_at(server.handle_line(_req("scan", 4, files=[str(path)], fail_level="none"))) == []
    bad = server.handle_line(_req("scan", 5, files=[str(path)], fail_level="fatal"))
    assert bad["ok"] is False and bad["error"]["code"] == "bad-request"


def test_scan_uses_the_config_as_scan_does(leaky: Path, tmp_path: Path) -> None:
    """The server resolves options with the resolver `scan` uses: fail-level, severity and exclude of the
    .gleak.yml found upward from the working directory apply, and the request's fields win."""
    path = _shared_line_module(tmp_path)
    (tmp_path / ".gleak.yml").write_text("fail-level: error\nseverity:\n  GL201: error\n")
    server = Server()
    assert {rule for _, rule in _rules_at(server.handle_line(_req("scan", 1, files=[str(path)])))} == {
        "GL201", "GL403"}  # GL201 raised to error; warnings (GL414, GL506) and notes not reported
    assert "GL104" in {r for _, r in _rules_at(server.handle_line(
        _req("scan", 2, files=[str(path)], fail_level="note")))}
    (tmp_path / ".gleak.yml").write_text("exclude: [module/*]\n")
    assert _rules_at(Server().handle_line(_req("scan", 3, files=[str(path)]))) == []


def test_bad_requests_keep_the_server_up(leaky: Path) -> None:
    answers = _serve(
        [
            b"not json",
            b"[1, 2]",
            json.dumps({"protocol": 2, "id": 1, "method": "hello"}).encode(),
            _req("explode", 2),
            _req("scan", 3, files="leaky.go"),
            _req("scan", 4, files=[str(leaky)], colour="red"),
            _req("scan", "five", files=[str(leaky.parent / "gone.go")]),
            _req("scan", 6, files=[str(leaky.parent)]),
            b"",
            _req("scan", 7, files=[str(leaky)], select=["GL402"]),
        ]
    )
    codes = [(a["id"], a["ok"] or a["error"]["code"]) for a in answers]
    assert codes == [
        (None, "bad-request"),
        (None, "bad-request"),
        (1, "bad-request"),
        (2, "bad-request"),
        (3, "bad-request"),
        (4, "bad-request"),
        ("five", "not-found"),
        (6, "not-found"),
        (7, True),
    ]
    assert "unsupported protocol 2" in answers[2]["error"]["message"]
    assert "does not exist" in answers[6]["error"]["message"]
    assert "is not a regular file" in answers[7]["error"]["message"]


def test_oversized_request_is_skipped_whole(leaky: Path) -> None:
    huge = _req("scan", 1, files=["x" * 5000])
    answers = _serve([huge, _req("hello", 2)], limit=1000)
    assert [(a["id"], a["ok"]) for a in answers] == [(None, False), (2, True)]
    assert answers[0]["error"]["code"] == "too-large"


def test_eof_without_newline_still_answers(leaky: Path) -> None:
    answers = _serve([], raw=_req("hello", 9))
    assert [(a["id"], a["ok"]) for a in answers] == [(9, True)]
    assert _serve([], raw=b"") == []
    assert [a["error"]["code"] for a in _serve([], raw=b'{"protocol": 1, "id": 1, "meth')] == ["bad-request"]


def test_stdio_process_writes_only_protocol_lines(leaky: Path) -> None:
    # A print() during a request must not reach the protocol stream: fd 1 is pointed at stderr.
    code = (
        "import sys\n"
        "from gleak_sarif.bridge import server\n"
        "handle = server.Server.handle_line\n"
        "def noisy(self, line):\n"
        "    print('noise from a rule')\n"
        "    return handle(self, line)\n"
        "server.Server.handle_line = noisy\n"
        "sys.exit(server.serve_stdio())\n"
    )
    requests = b"\n".join([_req("hello", 1), _req("scan", 2, files=[str(leaky)], select=["GL402"])]) + b"\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=requests,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(a["id"], a["ok"]) for a in answers] == [(1, True), (2, True)]
    assert b"noise from a rule" in proc.stderr


def test_cli_serve_exits_zero_on_eof(leaky: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gleak_sarif", "serve", "--stdio"],
        input=_req("hello") + b"\n",
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (answer,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert answer["ok"] is True and answer["fingerprint"]


def test_scan_drops_findings_an_equivalent_linter_directive_silences(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """golangci-lint does not apply `//nolint:govet` to gleak's issues: a GL301 finding it silences (GL301
    lists go vet's names as `equivalent-linters`) is dropped by the server, the unexcused one comes back
    (GL301 is a note: asked for at fail level note)."""
    (tmp_path / ".gleak.yml").write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ctx.go"
    path.write_text(
        'package p\n\nimport (\n\t"context"\n\t"time"\n)\n\n'
        "func Contexts() []context.Context {\n"
        "\ta, _ := context.WithTimeout(context.Background(), time.Hour) //nolint:govet // expires by itself\n"
        "\tb, _ := context.WithTimeout(context.Background(), time.Hour)\n"
        "\treturn []context.Context{a, b}\n}\n")
    answer = Server().handle_line(_req("scan", 1, files=[str(path)], select=["GL301"], fail_level="note"))
    assert answer["ok"] is True, answer
    assert [(f["rule_id"], f["line"]) for f in answer["findings"]] == [("GL301", 10)]
