"""Check a SARIF log gleak-sarif is handed (`merge` inputs, `--baseline`) before reading it.

Such a log may come from anywhere (a baseline is usually committed to the repository, so a pull request
can change it). Every field that `merge` and `baseline` read is checked for its JSON type here, so a bad
log is a clear error (exit 2) naming the JSON path of the problem (`runs[0].results[3].locations[0]...`),
never a crash. Result locations must stay inside the source root: a relative URI that climbs out
(`../../etc/passwd`) or is absolute is refused, and with ``root_only`` (baselines, whose absent results
are shown with code frames read from the disk) so is a `file://` URI outside the root.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import unquote, urlparse

from gleak_sarif.errors import ConfigError


class _Missing:
    """A key that is not there (JSON null is a value, and a wrong one where SARIF wants a type)."""


MISSING: Any = _Missing()


def _get(container: dict[str, Any], key: str) -> Any:
    return container.get(key, MISSING)


class _Bad(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


def load_log(path: str, what: str) -> dict[str, Any]:
    """The parsed log at ``path``; ConfigError (``what: ...``) when it cannot be read or is not JSON."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read())
    except OSError as err:
        raise ConfigError(f"{what}: cannot read it ({err.strerror})", path=path) from None
    except (UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"{what}: not valid JSON ({err})", path=path) from None
    except RecursionError:
        raise ConfigError(f"{what}: not valid JSON (nested too deeply)", path=path) from None
    return data  # type: ignore[no-any-return]


def check_log(data: Any, path: str, what: str, *, source_root: str | None, root_only: bool) -> None:
    """ConfigError naming the first field of ``data`` that is not what a SARIF 2.1.0 log of gleak-sarif
    holds there, or a location outside the source root."""
    try:
        _log(data, source_root, root_only)
    except _Bad as bad:
        raise ConfigError(f"{what}: {bad}", path=path,
                          hint="pass a SARIF file written by `gleak-sarif scan --format sarif`") from None


def _log(data: Any, root: str | None, root_only: bool) -> None:
    data = _dict(data, "log", required=True)
    if _get(data, "version") != "2.1.0":
        raise _Bad("version", f"SARIF version {_get(data, 'version')!r} is not supported (need 2.1.0)")
    for i, run in enumerate(_list(_get(data, "runs"), "runs", required=True)):
        _run(run, f"runs[{i}]", root, root_only)


def _run(run: Any, at: str, root: str | None, root_only: bool) -> None:
    run = _dict(run, at, required=True)
    tool = _dict(_get(run, "tool"), f"{at}.tool", required=True)
    driver = _dict(_get(tool, "driver"), f"{at}.tool.driver", required=True)
    _str(_get(driver, "name"), f"{at}.tool.driver.name", required=True)
    for key in ("version", "semanticVersion"):
        _str(_get(driver, key), f"{at}.tool.driver.{key}")
    for i, rule in enumerate(_list(_get(driver, "rules"), f"{at}.tool.driver.rules")):
        rule = _dict(rule, f"{at}.tool.driver.rules[{i}]", required=True)
        _str(_get(rule, "id"), f"{at}.tool.driver.rules[{i}].id", required=True)
        _str(_get(rule, "name"), f"{at}.tool.driver.rules[{i}].name")
        config = _dict(_get(rule, "defaultConfiguration"), f"{at}.tool.driver.rules[{i}].defaultConfiguration")
        _str(_get(config, "level"), f"{at}.tool.driver.rules[{i}].defaultConfiguration.level")
    details = _dict(_get(run, "automationDetails"), f"{at}.automationDetails")
    _str(_get(details, "id"), f"{at}.automationDetails.id")
    for name, base in _dict(_get(run, "originalUriBaseIds"), f"{at}.originalUriBaseIds").items():
        _str(_get(_dict(base, f"{at}.originalUriBaseIds.{name}", required=True), "uri"),
             f"{at}.originalUriBaseIds.{name}.uri")
    _str(_get(run, "columnKind"), f"{at}.columnKind")
    for i, artifact in enumerate(_list(_get(run, "artifacts"), f"{at}.artifacts")):
        artifact = _dict(artifact, f"{at}.artifacts[{i}]", required=True)
        _artifact_location(_get(artifact, "location"), f"{at}.artifacts[{i}].location", root, root_only)
    for i, result in enumerate(_list(_get(run, "results"), f"{at}.results")):
        _result(result, f"{at}.results[{i}]", root, root_only)
    for i, invocation in enumerate(_list(_get(run, "invocations"), f"{at}.invocations")):
        where = f"{at}.invocations[{i}]"
        invocation = _dict(invocation, where, required=True)
        for key in ("startTimeUtc", "endTimeUtc"):
            _str(_get(invocation, key), f"{where}.{key}")
        if "executionSuccessful" in invocation and not isinstance(invocation["executionSuccessful"], bool):
            raise _Bad(f"{where}.executionSuccessful", "expected true or false")
        _dict(_get(invocation, "properties"), f"{where}.properties")
        for j, note in enumerate(_list(_get(invocation, "toolExecutionNotifications"),
                                       f"{where}.toolExecutionNotifications")):
            note_at = f"{where}.toolExecutionNotifications[{j}]"
            note = _dict(note, note_at, required=True)
            for k, location in enumerate(_list(_get(note, "locations"), f"{note_at}.locations")):
                _location(location, f"{note_at}.locations[{k}]", root, root_only)


def _result(result: Any, at: str, root: str | None, root_only: bool) -> None:
    result = _dict(result, at, required=True)
    _str(_get(result, "ruleId"), f"{at}.ruleId")
    _int(_get(result, "ruleIndex"), f"{at}.ruleIndex", minimum=0)
    _str(_get(result, "level"), f"{at}.level")
    _str(_get(result, "baselineState"), f"{at}.baselineState")
    _str(_get(_dict(_get(result, "message"), f"{at}.message"), "text"), f"{at}.message.text")
    for name, value in _dict(_get(result, "partialFingerprints"), f"{at}.partialFingerprints").items():
        _str(value, f"{at}.partialFingerprints.{name}", required=True)
    _dict(_get(result, "properties"), f"{at}.properties")
    _list(_get(result, "suppressions"), f"{at}.suppressions")
    for key in ("locations", "relatedLocations"):
        for i, location in enumerate(_list(_get(result, key), f"{at}.{key}")):
            _location(location, f"{at}.{key}[{i}]", root, root_only)


def _location(location: Any, at: str, root: str | None, root_only: bool) -> None:
    location = _dict(location, at, required=True)
    _str(_get(_dict(_get(location, "message"), f"{at}.message"), "text"), f"{at}.message.text")
    physical = _dict(_get(location, "physicalLocation"), f"{at}.physicalLocation")
    _artifact_location(_get(physical, "artifactLocation"), f"{at}.physicalLocation.artifactLocation", root,
                       root_only)
    region = _dict(_get(physical, "region"), f"{at}.physicalLocation.region")
    for key in ("startLine", "startColumn", "endLine", "endColumn"):
        _int(_get(region, key), f"{at}.physicalLocation.region.{key}", minimum=1)
    snippet = _dict(_get(region, "snippet"), f"{at}.physicalLocation.region.snippet")
    _str(_get(snippet, "text"), f"{at}.physicalLocation.region.snippet.text")


def _artifact_location(value: Any, at: str, root: str | None, root_only: bool) -> None:
    location = _dict(value, at)
    uri = _str(_get(location, "uri"), f"{at}.uri")
    _str(_get(location, "uriBaseId"), f"{at}.uriBaseId")
    _int(_get(location, "index"), f"{at}.index", minimum=0)
    if uri is not None:
        _inside_root(uri, f"{at}.uri", root, root_only)


def _inside_root(uri: str, at: str, root: str | None, root_only: bool) -> None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if root_only and root is not None:
            real = os.path.realpath(unquote(parsed.path))
            base = os.path.realpath(root)
            if real != base and not real.startswith(base.rstrip(os.sep) + os.sep):
                raise _Bad(at, f"{uri!r} lies outside the source root {base}")
        return
    if parsed.scheme or parsed.netloc:
        raise _Bad(at, f"{uri!r}: only relative URIs and file:// URIs name files")
    text = unquote(uri)
    if text.startswith("/") or ".." in text.replace("\\", "/").split("/"):
        raise _Bad(at, f"{uri!r} leaves the source root (absolute, or climbs out with `..`)")


def _dict(value: Any, at: str, *, required: bool = False) -> dict[str, Any]:
    if value is MISSING and not required:
        return {}
    if not isinstance(value, dict):
        raise _Bad(at, f"expected an object, found {_kind(value)}")
    return value


def _list(value: Any, at: str, *, required: bool = False) -> list[Any]:
    if value is MISSING and not required:
        return []
    if not isinstance(value, list):
        raise _Bad(at, f"expected an array, found {_kind(value)}")
    return value


def _str(value: Any, at: str, *, required: bool = False) -> str | None:
    if value is MISSING and not required:
        return None
    if not isinstance(value, str):
        raise _Bad(at, f"expected a string, found {_kind(value)}")
    return value


def _int(value: Any, at: str, *, minimum: int) -> None:
    if value is MISSING:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _Bad(at, f"expected an integer >= {minimum}, found {_kind(value)}")
    if value > 2**31:
        raise _Bad(at, f"expected an integer >= {minimum} below 2^31, found {_kind(value)}")


def _kind(value: Any) -> str:
    if value is MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int) and abs(value) > 10**18:
        return "a very large number"
    if isinstance(value, int | float):
        return f"the number {value!r}"[:60]
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return "an array" if isinstance(value, list) else "an object"
