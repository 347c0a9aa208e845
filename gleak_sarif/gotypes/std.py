"""The standard-library type table (std.json, written by scripts/stdtypes with go/types): result types of
functions and methods, types of variables and fields, for the packages goroutine-leak rules ask about.

Types are strings as go/types prints them, qualified by import path: `*net/http.Response`, `[]byte`,
`map[string][]string`, `sync.WaitGroup`. A type of the scanned package is its bare name (`Server`).
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any, cast

StdTable = dict[str, dict[str, Any]]


@functools.cache
def table() -> StdTable:
    text = resources.files("gleak_sarif.gotypes").joinpath("std.json").read_text(encoding="utf-8")
    return cast(StdTable, json.loads(text)["packages"])


def package(path: str) -> dict[str, Any] | None:
    return table().get(path)


def func_results(path: str, name: str) -> tuple[str, ...] | None:
    found = table().get(path, {}).get("funcs", {}).get(name)
    return tuple(found) if found is not None else None


def var_type(path: str, name: str) -> str | None:
    found = table().get(path, {}).get("vars", {}).get(name)
    return str(found) if found is not None else None


def named(path: str, name: str) -> dict[str, Any] | None:
    found = table().get(path, {}).get("types", {}).get(name)
    return cast("dict[str, Any] | None", found)


def alias(path: str, name: str) -> str | None:
    """`os.FileMode` -> `io/fs.FileMode` (a type alias stands for its target)."""
    found = table().get(path, {}).get("aliases", {}).get(name)
    return str(found) if found is not None else None


# `*net/http.Response` -> ("*", "net/http", "Response"); `[]byte` and `Server` have no package path
_QUALIFIED = re.compile(r"^(\**)([A-Za-z0-9_.\-~/]+)\.([A-Za-z_][A-Za-z0-9_]*)$")
_LOCAL = re.compile(r"^(\**)([A-Za-z_][A-Za-z0-9_]*)$")


def split_named(type_text: str) -> tuple[str, str, str] | None:
    """(pointer stars, import path or "" for the scanned package or a predeclared type, type name), or None
    for a composite type (`[]T`, `map[K]V`, `chan T`, `func(...)`)."""
    match = _QUALIFIED.match(type_text)
    if match is not None:
        return match.group(1), match.group(2), match.group(3)
    match = _LOCAL.match(type_text)
    if match is not None:
        return match.group(1), "", match.group(2)
    return None


def check_name(type_text: str) -> str | None:
    """Why a type name written in a rule (`sync.WaitGroup`, `*net/http.Response`) is wrong, or None when it
    is fine: a named type of a package the table lists must be in it (a typo would never match)."""
    parts = split_named(type_text)
    if parts is None:
        return (f"{type_text!r} is not a type name: write `path.Name` with the import path (`sync.WaitGroup`, "
                "`*net/http.Response`), `*` for a pointer")
    _, path, name = parts
    if not path:
        return None  # a predeclared type (`error`) or a type of the scanned package
    if path not in table():
        return None  # a package outside the table: its types are compared by name only
    if named(path, name) is None and alias(path, name) is None:
        return f"{type_text!r}: package {path} has no exported type {name}"
    return None


def normalize(type_text: str) -> str:
    """A rule's type name with aliases of the table replaced (`*os.FileMode` -> `*io/fs.FileMode`)."""
    parts = split_named(type_text)
    if parts is None or not parts[1]:
        return type_text
    stars, path, name = parts
    target = alias(path, name)
    return stars + target if target is not None else type_text
