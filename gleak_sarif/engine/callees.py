"""`calls: R`: look one level into the same-file or same-package function or method a call names.

No type information: a plain call `f(...)` names the package-level function `f`; a method call
`x.f(...)` names every method `f` of the package, whatever its receiver (a call through an imported package
name, `pkg.F(...)`, names nothing here). The package is the call's file plus the other `.go` files of its
directory with the same package clause (`_test.go` files only when the calling file is a test).

Cost is bounded: sibling files are indexed by a byte-level regex over their `func` lines (no parse); a
sibling is parsed only when it declares a function of the wanted name, kept in a small LRU, and every
answer (rule object, kind, name) is cached per package for the process.
"""

from __future__ import annotations

import os
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tree_sitter import Node

from gleak_sarif.gosource import go_version_for, parser, utf8_safe

if TYPE_CHECKING:
    from gleak_sarif.engine.evaluate import FileEvaluator
    from gleak_sarif.rules.compiler import CNode, RulePack

FUNCTION = "function_declaration"
METHOD = "method_declaration"

MAX_SIBLING_FILES = 500  # a directory with more .go files is scanned file by file (no package scope)
MAX_SIBLING_BYTES = 2 * 1024 * 1024  # larger siblings are not indexed
MAX_PACKAGES = 512  # package scopes (names and cached answers) kept per process
MAX_PARSED = 48  # parsed sibling files kept per process

_FUNC_LINE = re.compile(rb"^func[ \t]*(\([^)\n]*\))?[ \t]*([A-Za-z_][A-Za-z0-9_]*)", re.M)
_PACKAGE_LINE = re.compile(rb"^package[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)

Callee = tuple[str, str]  # (declaration kind, name)
EvaluatorFactory = Callable[[str, bytes, Node, "tuple[int, int] | None"], "FileEvaluator"]


def callee_of(evaluator: FileEvaluator, node: Node) -> Callee | None:
    """The (kind, name) of the declaration a call names, or None (not a call, or not same-package)."""
    if node.type != "call_expression":
        return None
    function = node.child_by_field_name("function")
    if function is None:
        return None
    if function.type == "identifier":
        return (FUNCTION, evaluator.text(function))
    if function.type == "selector_expression":
        operand = function.child_by_field_name("operand")
        name = function.child_by_field_name("field")
        if operand is None or name is None:
            return None
        if operand.type == "identifier":
            path = evaluator.imports.by_name.get(evaluator.text(operand))
            if path is not None and evaluator.resolves_to(operand, path):
                return None  # pkg.F(...): another package
        return (METHOD, evaluator.text(name))
    return None


def declarations(source: bytes, root: Node) -> dict[Callee, list[Node]]:
    """Top-level functions and methods of one file by (kind, name)."""
    out: dict[Callee, list[Node]] = {}
    for child in root.named_children:
        if child.type in (FUNCTION, METHOD):
            name = child.child_by_field_name("name")
            if name is not None:
                text = source[name.start_byte : name.end_byte].decode("utf-8", "replace")
                out.setdefault((child.type, text), []).append(child)
    return out


@dataclass
class _PackageScope:
    signature: tuple[tuple[str, int, int], ...]
    names: dict[Callee, list[str]] = field(default_factory=dict)  # callee -> sibling paths declaring it
    answers: dict[tuple[int, str, str, str], bool] = field(default_factory=dict)  # (rule, kind, name, path)
    token_checks: dict[tuple[int, str], bool] = field(default_factory=dict)  # (rule, path): has R's tokens


@dataclass
class _Parsed:
    signature: tuple[int, int]
    evaluator: FileEvaluator
    decls: dict[Callee, list[Node]]


@dataclass
class _FileState:
    """Per evaluated file: its package scope (looked up once) and answers for its own declarations."""

    scope: _PackageScope | None = None
    scope_known: bool = False
    answers: dict[tuple[int, str, str], bool] = field(default_factory=dict)


_FILES: weakref.WeakKeyDictionary[FileEvaluator, _FileState] = weakref.WeakKeyDictionary()
_PACKAGES: OrderedDict[tuple[int, str, str, bool], _PackageScope] = OrderedDict()
_PARSED: OrderedDict[tuple[int, str], _Parsed] = OrderedDict()


def _listing(directory: str, tests: bool) -> list[tuple[str, int, int]] | None:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return None
    files = []
    prefix = os.path.join(os.path.abspath(directory), "")  # once, not abspath+join per entry (hot: big dirs)
    for entry in entries:
        name = entry.name
        if not name.endswith(".go") or (not tests and name.endswith("_test.go")):
            continue
        path = prefix + name
        try:
            info = entry.stat()
        except OSError:
            continue
        if entry.is_file() and info.st_size <= MAX_SIBLING_BYTES:
            files.append((path, info.st_mtime_ns, info.st_size))
    if len(files) > MAX_SIBLING_FILES:
        return None
    return sorted(files)


def _scope(evaluator: FileEvaluator) -> _PackageScope | None:
    path = os.path.abspath(evaluator.path)
    directory = os.path.dirname(path)
    tests = path.endswith("_test.go")
    key = (id(evaluator.pack), directory, evaluator.package, tests)
    listing = _listing(directory, tests)
    if listing is None:
        return None
    signature = tuple(listing)
    scope = _PACKAGES.get(key)
    if scope is not None and scope.signature == signature:
        _PACKAGES.move_to_end(key)
        return scope
    scope = _PackageScope(signature)
    wanted = evaluator.package.encode()
    for sibling, _, _ in listing:
        try:
            with open(sibling, "rb") as handle:
                data = handle.read(MAX_SIBLING_BYTES + 1)
        except OSError:
            continue
        package = _PACKAGE_LINE.search(data)
        if package is None or package.group(1) != wanted:
            continue
        for match in _FUNC_LINE.finditer(data):
            kind = METHOD if match.group(1) else FUNCTION
            callee = (kind, match.group(2).decode())
            paths = scope.names.setdefault(callee, [])
            if sibling not in paths:
                paths.append(sibling)
    _PACKAGES[key] = scope
    while len(_PACKAGES) > MAX_PACKAGES:
        _PACKAGES.popitem(last=False)
    return scope


def _parsed(pack: RulePack, path: str, factory: EvaluatorFactory) -> _Parsed | None:
    try:
        info = os.stat(path)
        signature = (info.st_mtime_ns, info.st_size)
        key = (id(pack), path)
        cached = _PARSED.get(key)
        if cached is not None and cached.signature == signature:
            _PARSED.move_to_end(key)
            return cached
        with open(path, "rb") as handle:
            source = handle.read(MAX_SIBLING_BYTES + 1)
    except OSError:
        return None
    source = utf8_safe(source)[0]  # predicates on invalid UTF-8 raised out of the scan
    root = parser().parse(source).root_node
    sibling = factory(path, source, root, go_version_for(path))
    parsed = _Parsed(signature, sibling, declarations(source, root))
    _PARSED[key] = parsed
    while len(_PARSED) > MAX_PARSED:
        _PARSED.popitem(last=False)
    return parsed


def required_callee_tokens(root: CNode) -> list[frozenset[bytes]]:
    """Token sets of the `calls:` checks that every match of ``root`` passes (items of `all`, `matches`):
    the callee's file, this one or a sibling, holds each set."""
    out: list[frozenset[bytes]] = []
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.calls is not None and node.calls.tokens:
            out.append(frozenset(node.calls.tokens))
        if node.matches is not None:
            stack.append(node.matches)
        stack.extend(node.all or [])
    return out


_PACKAGE_TOKENS: OrderedDict[tuple[str, frozenset[bytes]], tuple[tuple[tuple[str, int, int], ...], bool]] = (
    OrderedDict())


def package_may_hold(path: str, tokens: frozenset[bytes]) -> bool:
    """Might a `.go` file of ``path``'s folder hold all ``tokens``? False lets a rule whose every match
    needs such a callee skip the file unparsed. A yes is kept for the process (a stale yes only costs
    time); a no is re-checked against the folder's listing (a long-running server sees new siblings)."""
    directory = os.path.dirname(os.path.abspath(path))
    key = (directory, tokens)
    known = _PACKAGE_TOKENS.get(key)
    if known is not None and known[1]:
        return True
    listing = _listing(directory, True)
    if listing is None:
        return True
    signature = tuple(listing)
    if known is not None and known[0] == signature:
        return False
    found = False
    for sibling, _, _ in listing:
        try:
            with open(sibling, "rb") as handle:
                data = handle.read(MAX_SIBLING_BYTES + 1)
        except OSError:
            continue
        if all(token in data for token in tokens):
            found = True
            break
    _PACKAGE_TOKENS[key] = ((), True) if found else (signature, False)
    while len(_PACKAGE_TOKENS) > 4 * MAX_PACKAGES:
        _PACKAGE_TOKENS.popitem(last=False)
    return found


def _may_hold(scope: _PackageScope, rule: CNode, path: str) -> bool:
    if not rule.tokens:
        return True
    key = (id(rule), path)
    known = scope.token_checks.get(key)
    if known is None:
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_SIBLING_BYTES + 1)
        except OSError:
            data = b""
        known = scope.token_checks[key] = all(token in data for token in rule.tokens)
    return known


def _holds(evaluator: FileEvaluator, rule: CNode, decl: Node) -> bool:
    # R starts with fresh bindings: nodes of another file must not meet this file's metavariables
    return next(evaluator.matches(rule, decl, {}), None) is not None


def callee_matches(evaluator: FileEvaluator, rule: CNode, node: Node, factory: EvaluatorFactory) -> bool:
    """Does ``node`` call a same-file or same-package function/method whose declaration matches ``rule``?"""
    callee = callee_of(evaluator, node)
    if callee is None:
        return False
    state = _FILES.get(evaluator)
    if state is None:
        state = _FILES[evaluator] = _FileState()
    local_key = (id(rule), *callee)
    local = state.answers.get(local_key)
    if local is None:
        decls = evaluator.local_declarations().get(callee, [])
        local = state.answers[local_key] = any(_holds(evaluator, rule, decl) for decl in decls)
    if local:
        return True
    if not evaluator.package:
        return False
    if not state.scope_known:
        state.scope, state.scope_known = _scope(evaluator), True
    scope = state.scope
    if scope is None:
        return False
    here = os.path.abspath(evaluator.path)
    for path in scope.names.get(callee, []):
        if path == here:
            continue  # this file: its own (possibly unsaved) text was searched above
        answer_key = (id(rule), *callee, path)
        answer = scope.answers.get(answer_key)
        if answer is None:
            # a declaration matching R lies in the file, so the file holds R's literal tokens: most
            # siblings fail this byte check and are never parsed
            parsed = _parsed(evaluator.pack, path, factory) if _may_hold(scope, rule, path) else None
            answer = False
            if parsed is not None:
                parsed.evaluator.deadline = evaluator.deadline
                answer = any(_holds(parsed.evaluator, rule, decl) for decl in parsed.decls.get(callee, []))
            scope.answers[answer_key] = answer
        if answer:
            return True
    return False
