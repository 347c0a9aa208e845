"""SARIF logs handed to `merge` and `--baseline` (issue 22 item 10): any field of the wrong type is exit 2
naming its JSON path (they used to crash: 8 of 13 and 6 of 11 hostile files exited 3), and a location that
leaves the source root is refused (a committed baseline could make the scan print `/etc/passwd`)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gleak_sarif.baseline import apply_baseline
from gleak_sarif.config import ScanOptions
from gleak_sarif.engine import Engine
from gleak_sarif.errors import ConfigError
from gleak_sarif.report.merge import merge_sarif
from gleak_sarif.report.sarif import render_sarif
from tests.reliability.conftest import REPO, no_traceback, run_cli

EXAMPLE = (REPO / "fixtures" / "example" / "server.go").read_bytes()


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, dict[str, Any]]:
    """A real scan of the example and its SARIF log."""
    root = tmp_path_factory.mktemp("repo")
    (root / ".git").mkdir()
    (root / "leak.go").write_bytes(EXAMPLE)
    result = Engine(ScanOptions(jobs=1, use_cache=False, config_path=None)).scan([str(root)])
    log = json.loads(render_sarif(result, category=None, source_root=str(root), tool_version="0.1.0"))
    return root, result, log


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*at, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:2]):
            yield from _paths(child, (*at, index))


def _replace(log: dict[str, Any], at: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(log)
    node = out
    for part in at[:-1]:
        node = node[part]
    node[at[-1]] = value
    return out


WRONG = [None, 7, -1, 10**30, "text", [], {}, [1, "x"], {"a": 1}, True, 1.5]


def mutations(log: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The log with one field (any depth) replaced by a value of another type."""
    for at in _paths(log):
        if at:
            for value in WRONG:
                yield _replace(log, at, value)


def test_every_wrong_field_is_a_config_error(scanned: tuple[Path, Any, dict[str, Any]], tmp_path: Path) -> None:
    """Both readers, on every single-field type mutation of a real log: a result or a ConfigError that
    names a JSON path; never another exception."""
    _, result, log = scanned
    path = tmp_path / "in.sarif"
    tried = errors = 0
    for mutated in mutations(log):
        path.write_text(json.dumps(mutated))
        for read in (lambda: merge_sarif([str(path)]),
                     lambda: apply_baseline(result.model_copy(deep=True), str(path))):
            tried += 1
            try:
                read()
            except ConfigError as err:
                errors += 1
                assert str(err).startswith(("merge:", "baseline:")) or "in.sarif" in str(err), err
    assert tried > 2000 and errors > tried // 4, (tried, errors)


@pytest.mark.parametrize(("at", "value", "where"), [
    (("runs", 0, "results", 0, "locations", 0, "physicalLocation", "region", "startLine"), "7",
     "runs[0].results[0].locations[0].physicalLocation.region.startLine: expected an integer"),
    (("runs", 0, "results", 0, "message"), "text", "runs[0].results[0].message: expected an object"),
    (("runs", 0, "tool", "driver", "rules", 0), [], "runs[0].tool.driver.rules[0]: expected an object"),
    (("runs", 0, "invocations"), {}, "runs[0].invocations: expected an array"),
])
def test_cli_names_the_json_path(scanned: tuple[Path, Any, dict[str, Any]], tmp_path: Path,
                                 at: tuple[Any, ...], value: Any, where: str) -> None:
    root, _, log = scanned
    bad = tmp_path / "bad.sarif"
    bad.write_text(json.dumps(_replace(log, at, value)))
    for args in (["merge", str(bad), "-o", str(tmp_path / "out.sarif")],
                 ["scan", str(root), "--no-cache", "--baseline", str(bad)]):
        done = run_cli(*args, cwd=root)
        no_traceback(done)
        assert done.returncode == 2, done.stderr
        assert where in done.stderr, done.stderr
    assert not (tmp_path / "out.sarif").exists()


@pytest.mark.parametrize("uri", ["../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "/etc/passwd", "a/../../x.go",
                                 "https://example.com/x.go"])
def test_uris_leaving_the_root_are_refused(scanned: tuple[Path, Any, dict[str, Any]], tmp_path: Path,
                                           uri: str) -> None:
    _, result, log = scanned
    bad = tmp_path / "bad.sarif"
    at = ("runs", 0, "results", 0, "locations", 0, "physicalLocation", "artifactLocation", "uri")
    bad.write_text(json.dumps(_replace(log, at, uri)))
    with pytest.raises(ConfigError, match=r"locations\[0\]\.physicalLocation\.artifactLocation\.uri"):
        merge_sarif([str(bad)])
    with pytest.raises(ConfigError, match=r"artifactLocation\.uri"):
        apply_baseline(result.model_copy(deep=True), str(bad))


def test_baseline_file_uri_outside_the_root_is_refused(scanned: tuple[Path, Any, dict[str, Any]],
                                                       tmp_path: Path) -> None:
    """An absent baseline result is shown with a code frame read from its file: `file:///etc/passwd`
    would print a line of it into the CI log."""
    root, _, log = scanned
    secret = tmp_path / "secret.go"
    secret.write_text("package p // the secret line\n")
    bad = tmp_path / "bad.sarif"
    loc = {"uri": secret.as_uri()}
    mutated = _replace(log, ("runs", 0, "results", 0, "locations", 0, "physicalLocation", "artifactLocation"),
                       loc)
    bad.write_text(json.dumps(mutated))
    done = run_cli("scan", str(root), "--no-cache", "--baseline", str(bad), cwd=root)
    no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert "outside the source root" in done.stderr
    assert "the secret line" not in done.stdout
