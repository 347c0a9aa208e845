"""The engine server (docs/engine-protocol.md) under hostile input, beyond tests/bridge/test_server.py:
a clear error answer for each bad request, the server stays up, and it exits cleanly (status 0, no
traceback) when the client goes away."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gleak_sarif.bridge.server import PROTOCOL_VERSION, serve
from tests.reliability.conftest import REPO

EXAMPLE = (REPO / "fixtures" / "example" / "server.go").read_bytes()


def _req(rid: int, method: str = "scan", **fields: Any) -> bytes:
    return json.dumps({"protocol": PROTOCOL_VERSION, "id": rid, "method": method, **fields}).encode()


def _serve(lines: list[bytes]) -> list[dict[str, Any]]:
    out = io.BytesIO()
    assert serve(io.BytesIO(b"".join(line + b"\n" for line in lines)), out, max_request_bytes=1 << 20) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".gleak.yml").write_text("{}\n")
    (tmp_path / "leak.go").write_bytes(EXAMPLE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_hostile_requests_get_clear_answers(workdir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(workdir / "fifo.go")
    (workdir / "latin1.go").write_bytes(EXAMPLE.replace(b"results", b"r\xe9sults"))
    (workdir / "binary.go").write_bytes(bytes(range(256)))
    (workdir / "bomb.yml").write_text("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)))
    (workdir / "tag.yml").write_text("!!python/object/apply:os.system ['touch pwned']\n")
    answers = _serve([
        b"[" * 200_000,  # nested past the JSON decoder's recursion limit
        b"\xff\xfe\x00garbage",  # not UTF-8
        b'{"protocol": 1, "id": 1, "method": "hello", "rules": [NaN]}',
        _req(2, files=[str(workdir / "fifo.go")]),  # must not block on the FIFO
        _req(3, files=[str(workdir / "latin1.go"), str(workdir / "binary.go")]),
        _req(4, "hello", config=str(workdir / "bomb.yml")),
        _req(5, "hello", rules=[str(workdir / "tag.yml")]),
        _req(6, files=[str(workdir / "leak.go")] * 3 + ["\x00.go"]),
        _req(7, files=[str(workdir / "leak.go")]),
    ])
    codes = [(a["id"], a["ok"] or a["error"]["code"]) for a in answers]
    assert codes == [
        (None, "bad-request"),
        (None, "bad-request"),
        (1, "bad-request"),
        (2, "not-found"),
        (3, True),
        (4, "config"),
        (5, "config"),
        (6, "not-found"),
        (7, True),
    ]
    assert "nested too deeply" in answers[0]["error"]["message"]
    notes = {(n["path"], n["message"].split(" (")[0].split(";")[0]) for n in answers[4]["notifications"]}
    assert (str(workdir / "binary.go"), "not Go source") in notes
    assert (str(workdir / "latin1.go"), "invalid UTF-8") in notes
    assert "too many YAML aliases" in answers[5]["error"]["message"]
    assert "bomb.yml" in answers[5]["error"]["message"]
    assert "invalid YAML" in answers[6]["error"]["message"]
    assert answers[8]["findings"], "the server still scans after every bad request"
    assert not (workdir / "pwned").exists()
    assert "Traceback" not in capfd.readouterr().err


def _server() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gleak_sarif", "serve", "--stdio"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def test_abrupt_eof_mid_request(workdir: Path) -> None:
    """The client dies half way through a request line: one bad-request answer, exit 0, no traceback."""
    proc = _server()
    out, err = proc.communicate(_req(1, "hello") + b"\n" + _req(2)[:25], timeout=120)
    assert proc.returncode == 0, err
    answers = [json.loads(line) for line in out.splitlines()]
    assert [(a["id"], a["ok"] or a["error"]["code"]) for a in answers] == [(1, True), (None, "bad-request")]
    assert b"Traceback" not in err


def test_client_closes_the_answer_stream(workdir: Path) -> None:
    """golangci-lint exits without reading: a broken pipe ends the server with status 0, silently."""
    proc = _server()
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.close()
    proc.stdin.write(b"".join(_req(i, "hello") + b"\n" for i in range(50)))
    proc.stdin.close()
    proc.wait(timeout=120)
    err = proc.stderr.read() if proc.stderr else b""
    assert proc.returncode == 0, err
    assert b"Traceback" not in err


def test_lone_surrogates_are_bad_requests(workdir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """`"\\ud800"` is valid JSON but no text: in `id`, a path, a rule or a key, it used to crash the server
    (exit 3 while encoding the answer). Now: an error answer, and the server keeps serving."""
    answers = _serve([
        b'{"protocol": 1, "id": "\\ud800", "method": "hello"}',
        b'{"protocol": 1, "id": 2, "method": "scan", "files": ["\\udcff.go"]}',
        b'{"protocol": 1, "id": 3, "method": "hello", "rules": ["x\\udfff"]}',
        b'{"protocol": 1, "id": 4, "method": "hello", "\\ud800": 1}',
        _req(5, files=[str(workdir / "leak.go")]),
    ])
    assert [(a["id"], a["ok"] or a["error"]["code"]) for a in answers] == [
        (None, "bad-request"), (2, "bad-request"), (3, "bad-request"), (4, "bad-request"), (5, True)]
    assert "request.files[0] holds a lone surrogate" in answers[1]["error"]["message"]
    assert answers[4]["findings"]
    assert "Traceback" not in capfd.readouterr().err


def test_lone_surrogate_through_the_real_process(workdir: Path) -> None:
    lines = b'{"protocol": 1, "id": "\\ud800", "method": "hello"}\n' + _req(2, "hello") + b"\n"
    done = subprocess.run([sys.executable, "-m", "gleak_sarif", "serve", "--stdio"], input=lines,
                          capture_output=True, timeout=120, cwd=workdir,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["ok"] for a in answers] == [False, True]
