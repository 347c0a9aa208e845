"""A `.go` file linked from outside the scanned tree (issue 22 item 13): a pull request can add
`x.go -> /elsewhere/secret.go`; its code would reach the SARIF snippets under an absolute `file://` URI.
It is skipped with a notification unless `--follow-symlinks`, and then reported under its path in the
tree; links inside the tree are scanned."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.conftest import REPO, no_traceback, run_cli

EXAMPLE = (REPO / "fixtures" / "example" / "server.go").read_bytes()


def _tree(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.go").write_bytes(EXAMPLE.replace(b"package example", b"package example // SECRET"))
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / ".gleak.yml").write_text("{}\n")
    (root / "p").mkdir()
    (root / "p" / "own.go").write_bytes(EXAMPLE)
    (root / "p" / "linked.go").symlink_to(outside / "secret.go")
    (root / "p" / "alias.go").symlink_to("own.go")  # inside the tree: fine
    return root


def _uris(log: dict[str, object]) -> set[str]:
    runs = log["runs"]  # type: ignore[index]
    return {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in runs[0]["results"]}


def test_link_to_a_file_outside_is_skipped_with_a_note(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    done = run_cli("scan", ".", "--no-cache", "--format", "sarif", "-o", "out.sarif", cwd=root)
    no_traceback(done)
    assert done.returncode == 1, done.stderr
    text = (root / "out.sarif").read_text()
    log = json.loads(text)
    assert _uris(log) == {"p/own.go"}
    assert "SECRET" not in text and "/outside/" not in text
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == [
        "symbolic link to a file outside the scanned tree; skipped (--follow-symlinks scans it)."]


def test_follow_symlinks_scans_it(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    done = run_cli("scan", ".", "--no-cache", "--follow-symlinks", "--format", "sarif", "-o", "out.sarif",
                   cwd=root)
    no_traceback(done)
    text = (root / "out.sarif").read_text()
    assert _uris(json.loads(text)) == {"p/own.go", "p/linked.go"}  # under its path in the tree
    assert "/outside/" not in text
