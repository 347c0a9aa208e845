"""Calls the package model follows beyond a method of a known type: interface dispatch and function values.

- `x.m()` where x's type is an interface declared in the package with at least two methods: every type of
  the package whose methods include all of the interface's (by name, embedded interfaces of the package
  included; at most 8 types) is a target, with its method `m`. Types of other packages that implement it
  are not known; a one-method interface (io.Writer-like) would match unrelated types by a common name, so
  it is followed only when exactly one type of the package has the method and the method is not one of a
  standard library one-method interface (`Close`, `Write`, `String`, `ServeHTTP`...: STANDARD_METHODS).
- `f(...)` where f is a function-valued parameter of the function it is written in: the function values
  the callers pass there (literals, package functions, method values, function-valued fields, through a
  conversion to a func type of the package; PackageModel.targets_of).
- `x.f()` where `f` is a function-valued field of x's type: whatever the package assigns to that field
  (`x.f = func() {...}`, `= g`, `= y.m`, `T{f: ...}`; see extract_funcs.func_value) is a target. A value passed
  in through a parameter (`x.f = cb`) or held by a local is not followed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gleak_sarif.gopackage.index import PackageIndex
from gleak_sarif.gopackage.summary import FunctionSummary, decode_canon, named_type


class PackageModel(Protocol):
    """What dispatch reads of the package model (gopackage/model.py, which calls it: no import back)."""

    index: PackageIndex | None
    interfaces: dict[str, list[str]]
    func_values: dict[str, list[str]]
    dispatch_memo: dict[tuple[str, str], list[int]]
    by_key: dict[tuple[str, str], list[int]]

    func_types: set[str]
    functions: list[FunctionSummary]

    def ensure_function(self, key: tuple[str, str]) -> list[int]: ...

    def callers(self, index: int) -> list[tuple[int, int]]: ...

    def field_text(self, type_name: str, name: str) -> str | None: ...

    def field_owner(self, type_name: str, name: str, depth: int = 0) -> str | None: ...

    def ensure_type(self, name: str) -> dict[str, str] | None: ...

    def functions_in_files_with(self, *tokens: bytes) -> Sequence[int]: ...

    def identity(self, canon: str | None) -> str | None: ...

    def type_of(self, canon: str | None) -> str: ...

MAX_IMPLEMENTATIONS = 8  # an interface every type implements (Stringer-like) is not a call graph edge
# Methods of the standard library's one-method interfaces (io, fmt, sync, net/http, sort, encoding): a
# package's one-method interface with such a method (`type closer interface{ Close() }`) is shaped to take
# other packages' values (files, connections, buffers), so its one package implementation is no evidence
STANDARD_METHODS = frozenset({
    "Read", "Write", "Close", "Seek", "ReadAt", "WriteAt", "ReadFrom", "WriteTo", "ReadByte", "WriteByte",
    "ReadRune", "WriteString", "String", "GoString", "Format", "Error", "Unwrap", "Lock", "Unlock", "RLock",
    "RUnlock", "ServeHTTP", "RoundTrip", "Flush", "Hijack", "Len", "Less", "Swap", "MarshalJSON",
    "UnmarshalJSON", "MarshalText", "UnmarshalText", "MarshalBinary", "UnmarshalBinary", "Scan", "Value",
})


def method_set(model: PackageModel, interface: str, seen: frozenset[str] = frozenset()) -> set[str] | None:
    """The method names of a package interface, embedded package interfaces included; None when it embeds
    an interface of another package (its methods are unknown)."""
    entries = model.interfaces.get(interface)
    if entries is None or interface in seen:
        return None
    out: set[str] = set()
    for entry in entries:
        if entry.startswith("~"):
            model.ensure_type(entry[1:])
            inner = method_set(model, entry[1:], seen | {interface})
            if inner is None:
                return None
            out |= inner
        else:
            out.add(entry)
    return out


def implementations(model: PackageModel, interface: str, method: str) -> list[int]:
    """Functions a call of ``method`` on a value of the package interface ``interface`` may run."""
    key = (interface, method)
    known = model.dispatch_memo.get(key)
    if known is not None:
        return known
    out: list[int] = []
    methods = method_set(model, interface)
    # a one-method interface (io.Writer-like adapters) matches unrelated types by a common name (a
    # connection's Write for a hash's): followed only when exactly one type of the package has that method
    # (the package's own handler behind its own interface) and the method is not a standard interface's
    single = methods is not None and len(methods) == 1
    if methods and method in methods and model.index is not None and not (single and method in STANDARD_METHODS):
        functions = model.index.functions
        types = [t for t in model.index.receivers if all((t, m) in functions for m in methods)]
        if len(types) <= (MAX_IMPLEMENTATIONS if len(methods) >= 2 else 1):
            for type_name in sorted(types):
                out.extend(model.ensure_function((type_name, method)))
    model.dispatch_memo[key] = out
    return out


def field_values(model: PackageModel, type_name: str, name: str) -> tuple[list[int], bool]:
    """Functions the function-valued field ``type_name.name`` may hold (assigned anywhere in the package),
    and whether each runs on the field's owner (`g.onDone = g.finish`): then a call `x.onDone()` runs
    them with x as their receiver; otherwise their receiver is unknown at the call."""
    key = (type_name, "." + name)
    known = model.dispatch_memo.get(key)
    if known is not None:
        return known, (type_name, "=" + name) in model.dispatch_memo
    model.functions_in_files_with(name.encode())  # the files that may assign it
    wanted = f"{type_name}.{name}"
    out: list[int] = []
    same = True
    for field_id, values in sorted(model.func_values.items()):
        if model.identity(field_id) != wanted:
            continue
        for value in values:
            kind, _, rest = value.partition(":")
            same = same and (kind.endswith("=") or kind == "fn")  # (a package function has no receiver)
            kind = kind.rstrip("=")
            if kind == "lit":
                out.extend(model.by_key.get(("", rest), []))
            elif kind == "fn":
                out.extend(model.ensure_function(("", rest)))
            elif kind == "m":
                owner, _, method = rest.rpartition("/")
                owner_type = model.type_of(decode_canon(owner))
                if owner_type:
                    out.extend(model.ensure_function((owner_type, method)))
    model.dispatch_memo[key] = out = sorted(set(out))
    if same:
        model.dispatch_memo[(type_name, "=" + name)] = out
    return out, same


def param_targets(model: PackageModel, index: int, position: int) -> list[int]:
    """What a call of function ``index``'s function-valued parameter ``position`` runs: the function values
    its callers pass there (Op.funcs), read through the files that call it."""
    out: set[int] = set()
    for caller, at in model.callers(index):
        call = model.functions[caller].ops[at]
        if call.kind == "call" and position < len(call.funcs):
            out.update(func_value_targets(model, call.funcs[position]))
    return sorted(out)


def func_value_targets(model: PackageModel, value: str) -> list[int]:
    """The functions an Op.funcs descriptor stands for (see gopackage/summary.py)."""
    kind, _, rest = value.partition(":")
    if kind == "lit":
        return list(model.by_key.get(("", rest), []))
    if kind == "fn":
        return list(model.ensure_function(("", rest)))
    if kind == "conv":
        name, _, inner = rest.partition("|")
        model.ensure_type(name)
        return func_value_targets(model, inner) if name in model.func_types else []
    if kind == "val":
        owner, _, name = decode_canon(rest).rpartition(".")
        type_name = model.type_of(owner) if "." in owner or owner.startswith("@") else owner
        if not type_name or model.ensure_type(type_name) is None:
            return []
        field_type = model.field_text(type_name, name) or ""
        if field_type.startswith("func") or named_type(field_type) in model.func_types:
            return field_values(model, model.field_owner(type_name, name) or type_name, name)[0]
        return list(model.ensure_function((type_name, name)))  # a method value
    return []
