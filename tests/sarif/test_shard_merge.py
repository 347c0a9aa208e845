"""`scan --shard K/N` and `gleak-sarif merge`: the shards split the packages, and their SARIF merged is the
SARIF of one unsharded scan."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from gleak_sarif.engine.shard import folder_key, in_shard, parse_shard, shard_of
from gleak_sarif.errors import UsageError
from tests.cli.kit import REPO, run_cli

# several packages, rules that read the package (GL201's `model: passes`, GL207's `calls:`) and rules
# that read the file only; a fixed folder list keeps the run short
FOLDERS = ["fixtures/GL201", "fixtures/GL202", "fixtures/GL203", "fixtures/GL207", "fixtures/GL406",
           "fixtures/GL408", "fixtures/GL409", "fixtures/GL501", "fixtures/example"]


def _scan(tmp_path: Path, name: str, *extra: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.sarif"
    done = run_cli("scan", "-q", "--no-cache", "--select", "ALL", "-j1", "-f", "sarif", "-o", str(out),
                   *extra, *FOLDERS)
    assert done.returncode in (0, 1), done.stderr
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _without_times(log: dict[str, Any]) -> dict[str, Any]:
    for run in log["runs"]:
        for invocation in run.get("invocations", []):
            invocation.pop("startTimeUtc", None)
            invocation.pop("endTimeUtc", None)
    return log


def test_three_shards_merged_equal_the_unsharded_scan(tmp_path: Path) -> None:
    whole = _scan(tmp_path, "whole")
    parts = [_scan(tmp_path, f"shard{k}", "--shard", f"{k}/3") for k in (1, 2, 3)]
    uris = [{r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in part["runs"][0]["results"]}
            for part in parts]
    # a real split: every shard has findings, no file is in two shards
    assert all(uris), [len(u) for u in uris]
    assert not (uris[0] & uris[1] or uris[0] & uris[2] or uris[1] & uris[2])
    scanned = [part["runs"][0]["invocations"][0]["properties"]["filesScanned"] for part in parts]
    assert sum(scanned) == whole["runs"][0]["invocations"][0]["properties"]["filesScanned"]

    merged_path = tmp_path / "merged.sarif"
    done = run_cli("merge", *(str(tmp_path / f"shard{k}.sarif") for k in (1, 2, 3)), "-o", str(merged_path))
    assert done.returncode == 0, done.stderr
    merged = json.loads(merged_path.read_text(encoding="utf-8"))
    assert len(whole["runs"][0]["results"]) > 50
    assert _without_times(merged) == _without_times(whole)


def test_shard_choice_is_by_folder_and_stable(tmp_path: Path) -> None:
    root = str(tmp_path)
    files = [os.path.join(root, folder, name) for folder in ("a", "a/b", "c", ".") for name in ("x.go", "y_test.go")]
    parts = [in_shard(files, (k, 4), root) for k in range(1, 5)]
    assert sorted(p for part in parts for p in part) == sorted(files)  # a partition
    for part in parts:  # a folder's files stay together
        folders = {os.path.dirname(p) for p in part}
        assert all(os.path.dirname(f) not in folders for other in parts if other is not part for f in other)
    # a folder's shard depends on its own path only: more files elsewhere do not move it
    more = [*files, os.path.join(root, "z", "new.go"), os.path.join(root, "c", "new.go")]
    for k in range(1, 5):
        assert [p for p in in_shard(more, (k, 4), root) if p in files] == parts[k - 1]
    assert folder_key(os.path.join(root, "a", "b", "x.go"), root) == "a/b"
    assert folder_key(os.path.join(root, "x.go"), root) == "."
    # pinned: a salted hash() would split differently in each CI job; sha256 of the path is documented
    assert shard_of("server", 7) == 1 + int.from_bytes(hashlib.sha256(b"server").digest()[:8], "big") % 7
    assert [shard_of(f, 3) for f in ("a", "a/b", "server", ".")] == [2, 3, 3, 1]


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "x", "1/", "1/3/2", "-1/3"])
def test_bad_shard_specs_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_shard(text)


def test_shard_on_the_command_line() -> None:
    assert parse_shard(" 2 / 5 ") == (2, 5)
    done = run_cli("scan", "--shard", "4/3", "fixtures/example")
    assert done.returncode == 2
    assert "--shard 4/3" in done.stderr
    done = run_cli("scan", "-q", "--no-cache", "--shard", "1/1", "-f", "json", "fixtures/example", cwd=REPO)
    assert done.returncode in (0, 1) and json.loads(done.stdout)["findings"]
