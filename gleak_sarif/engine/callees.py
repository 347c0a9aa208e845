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
PACKAGE_LINE = re.compile(rb"^package[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)

Callee = tuple[str, str]  # (declaration kind, name)


def read_sibling(path: str) -> bytes | None:
    """A sibling file's bytes, at most one byte past MAX_SIBLING_BYTES (the caller can tell it is too
    large); None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_SIBLING_BYTES + 1)
    except OSError:
        return None
EvaluatorFactory = Callable[[str, bytes, Node, "tuple[int, int] | None"], "FileEvaluator"]


def _named_callee(evaluator: FileEvaluator, node: Node) -> tuple[Callee, Node | None] | None:
    """The (kind, name) a call names, and for `x.f(...)` with an identifier `x` that operand (it may be an
    imported package's name: see `callee_of`). Cheap: no scope lookup."""
    if node.type != "call_expression":
        return None
    function = node.child_by_field_name("function")
    if function is None:
        return None
    if function.type == "identifier":
        return (FUNCTION, evaluator.text(function)), None
    if function.type == "selector_expression":
        operand = function.child_by_field_name("operand")
        name = function.child_by_field_name("field")
        if operand is None or name is None:
            return None
        return (METHOD, evaluator.text(name)), (operand if operand.type == "identifier" else None)
    return None


def _names_import(evaluator: FileEvaluator, operand: Node | None) -> bool:
    """Is ``operand`` (of `operand.f(...)`) an imported package's name here (not shadowed)?"""
    if operand is None:
        return False
    path = evaluator.imports.by_name.get(evaluator.text(operand))
    return path is not None and evaluator.resolves_to(operand, path)


def callee_of(evaluator: FileEvaluator, node: Node) -> Callee | None:
    """The (kind, name) of the declaration a call names, or None (not a call, or not same-package)."""
    named = _named_callee(evaluator, node)
    if named is None or _names_import(evaluator, named[1]):
        return None  # pkg.F(...): another package
    return named[0]


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
    path: str = ""  # the file's absolute path
    answers: dict[tuple[int, str, str], bool] = field(default_factory=dict)


_FILES: weakref.WeakKeyDictionary[FileEvaluator, _FileState] = weakref.WeakKeyDictionary()
_PACKAGES: OrderedDict[tuple[int, str, str, bool], _PackageScope] = OrderedDict()
_PARSED: OrderedDict[tuple[int, str], _Parsed] = OrderedDict()


# Folder listings, reused within one scan: every file of a folder asks for its folder's listing (package
# scope, token check), and stat-ing every sibling for every file was quadratic in the folder's size (a fifth
# of GL207's time on GOROOT/src). `new_scan` (called by the engine before each scan) drops them; within a
# scan, a listing is re-read when the folder's own mtime changes (a file added, removed or renamed).
_LISTINGS: dict[tuple[str, bool], tuple[int, int, list[tuple[str, int, int]] | None]] = {}
_GENERATION = 0


def new_scan() -> None:
    """Forget folder listings: a new scan sees every sibling's current size and mtime."""
    global _GENERATION
    _GENERATION += 1
    _LISTINGS.clear()


def _read_listing(directory: str, tests: bool) -> list[tuple[str, int, int]] | None:
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


def _listing(directory: str, tests: bool) -> list[tuple[str, int, int]] | None:
    """The folder's `.go` files (test files when ``tests``) as (path, mtime, size), sorted; None when the
    folder cannot be read or has too many files."""
    try:
        folder_mtime = os.stat(directory).st_mtime_ns
    except OSError:
        return None
    key = (directory, tests)
    memo = _LISTINGS.get(key)
    if memo is not None and memo[0] == _GENERATION and memo[1] == folder_mtime:
        return memo[2]
    listing = _read_listing(directory, tests)
    _LISTINGS[key] = (_GENERATION, folder_mtime, listing)
    while len(_LISTINGS) > 2 * MAX_PACKAGES:
        del _LISTINGS[next(iter(_LISTINGS))]
    return listing


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
        data = read_sibling(sibling)
        if data is None:
            continue
        package = PACKAGE_LINE.search(data)
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
    """Token sets of the `calls:` checks that every match of ``root`` passes: the callee's file, this one
    or a sibling, holds each set."""
    from gleak_sarif.rules.compiler import required_tokens

    return required_tokens(root, lambda node: [frozenset(node.calls.tokens)] if node.calls and node.calls.tokens
                           else [])


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
        data = read_sibling(sibling)
        if data is not None and all(token in data for token in tokens):
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
        data = read_sibling(path) or b""
        known = scope.token_checks[key] = all(token in data for token in rule.tokens)
    return known


def _holds(evaluator: FileEvaluator, rule: CNode, decl: Node) -> bool:
    # R starts with fresh bindings: nodes of another file must not meet this file's metavariables
    return next(evaluator.matches(rule, decl, {}), None) is not None


def callee_matches(evaluator: FileEvaluator, rule: CNode, node: Node, factory: EvaluatorFactory) -> bool:
    """Does ``node`` call a same-file or same-package function/method whose declaration matches ``rule``?"""
    named = _named_callee(evaluator, node)
    if named is None:
        return False
    callee, operand = named
    state = _FILES.get(evaluator)
    if state is None:
        state = _FILES[evaluator] = _FileState()
    if not state.scope_known:
        state.scope = _scope(evaluator) if evaluator.package else None
        state.scope_known = True
    scope = state.scope
    here = state.path or os.path.abspath(evaluator.path)
    state.path = here
    local_decls = evaluator.local_declarations().get(callee, [])
    siblings = [p for p in scope.names.get(callee, []) if p != here] if scope is not None else []
    # Most calls name nothing declared in the package (`fmt.Println`): answer before the costlier check
    # whether `x` of `x.f(...)` is an imported package's name (a scope walk).
    if (not local_decls and not siblings) or _names_import(evaluator, operand):
        return False
    local_key = (id(rule), *callee)
    local = state.answers.get(local_key)
    if local is None:
        local = state.answers[local_key] = any(_holds(evaluator, rule, decl) for decl in local_decls)
    if local or scope is None:
        return local
    for path in siblings:  # this file is not among them: its own (possibly unsaved) text was searched above
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
