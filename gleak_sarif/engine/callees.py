"""`calls: R`: look one level into the same-file or same-package function or method a call names.

No type information: a plain call `f(...)` names the package-level function `f`; a method call
`x.f(...)` names every method `f` of the package, whatever its receiver (a call through an imported package
name, `pkg.F(...)`, names nothing here). The package is the call's file plus the other `.go` files of its
directory with the same package clause (`_test.go` files only when the calling file is a test).

Cost is bounded: sibling files are indexed by a byte-level regex over their `func` lines (no parse); a
sibling is parsed only when it declares a function of the wanted name, kept in a small LRU, and every
answer (rule object, kind, name) is cached per package for the scan (one `Callees` per scan context).
"""

from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Node

from gleak_sarif.engine.evaluate import FileEvaluator, PackageQuestions
from gleak_sarif.gopackage.folders import MAX_SIBLING_BYTES, PACKAGE_LINE, Folders, read_sibling
from gleak_sarif.gopackage.index import (
    CALLEE_FUNC_LINE,
    content_digest,
    paths_digest,
    skeleton_digest,
    tokens_text,
)
from gleak_sarif.gopackage.reads import PackageReads, declaration_digest
from gleak_sarif.gosource import parser, too_wide, utf8_safe
from gleak_sarif.rules.compiled import CNode, RulePack

FUNCTION = "function_declaration"
METHOD = "method_declaration"

# package scopes (names and cached answers) kept per process: one per package view, and a worker takes a
# folder's files one view after the other (Folders.view_order); 512 held a copy of every view's names
MAX_PACKAGES = 16
MAX_PACKAGE_TOKENS = 2048  # answers of package_may_hold kept per process
MAX_PARSED = 48  # parsed sibling files kept per scan

_FUNC_LINE = CALLEE_FUNC_LINE

Callee = tuple[str, str]  # (declaration kind, name)


def _named_callee(evaluator: FileEvaluator, node: Node) -> tuple[Callee, Node | None] | None:
    """The (kind, name) a call names, and for `x.f(...)` with an identifier `x` that operand (it may be an
    imported package's name: see `_names_import`). Cheap: no scope lookup."""
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


# stops that keep an `inside` / `follows` / `precedes` below a node of a declaration inside that declaration
_INNER_STOPS = ("function", "declaration")


def decl_local(rule: CNode, *, at_root: bool = True, seen: set[int] | None = None) -> bool:
    """Does matching ``rule`` on a top-level declaration look only inside it (and at the file's imports, for
    names)? Then a `calls:` answer about a sibling rests on that declaration's text alone, not on the whole
    file (gopackage/reads.py `declaration_digest`). ``at_root``: the node may be the declaration itself,
    whose ancestors (the file) and neighbours (the other declarations) lie outside; below it, `inside` and
    ordering relations stopped by the enclosing function or declaration stay inside. A nested `calls:`
    notes its own reads; `model:` facts may read more of the file than its summary, so they are not local."""
    seen = set() if seen is None else seen
    key = id(rule) * 2 + at_root
    if key in seen:  # a cycle through `matches:`: the other paths decide
        return True
    seen.add(key)
    if rule.model is not None:  # facts may read the file's tree beyond the node (its summary is checked apart)
        return False
    for name, relation in rule.relations:
        if name == "has":  # candidates strictly below the node
            inner = decl_local(relation.rule, at_root=False, seen=seen)
        elif at_root or relation.stop_by not in (*_INNER_STOPS, "neighbor"):
            return False
        else:  # `inside` may reach the declaration itself; ordering relations stay strictly within it
            inner = decl_local(relation.rule, at_root=name == "inside", seen=seen)
        if not inner:
            return False
    parts = [*(rule.all or []), *(rule.any or [])]
    parts += [r for r in (rule.matches, rule.not_) if r is not None]
    return all(decl_local(part, at_root=at_root, seen=seen) for part in parts)


@dataclass
class CalleeFile:
    """What `calls:` keeps for one evaluated file: its package scope (looked up once), its own declarations
    and the answers about them."""

    scope: _PackageScope | None = None
    scope_known: bool = False
    path: str = ""  # the file's absolute path
    decls: dict[Callee, list[Node]] | None = None
    answers: dict[tuple[int, str, str], bool] = field(default_factory=dict)


class Callees:
    """The `calls:` answers of one scan: package scopes, parsed siblings, package token checks.

    ``new_questions`` gives the package questions of a sibling file parsed here (a `calls:` inside R asks
    one level further down)."""

    def __init__(self, pack: RulePack, folders: Folders, new_questions: Callable[[], PackageQuestions],
                 reads: PackageReads | None = None) -> None:
        self.pack = pack
        self.folders = folders
        self.reads = reads  # where reads of sibling files are noted for the scan cache (gopackage/reads.py)
        self.new_questions = new_questions
        self._packages: OrderedDict[tuple[str, str, bool, int], _PackageScope] = OrderedDict()
        self._parsed: OrderedDict[str, _Parsed] = OrderedDict()
        # the evaluators of parsed siblings -> the digest of the file's bytes as read
        self._siblings: weakref.WeakKeyDictionary[FileEvaluator, str] = weakref.WeakKeyDictionary()
        self._local: dict[int, bool] = {}  # id(R) -> decl_local(R), for the rules of this pack
        self._noted: set[tuple[str, str, str, str]] = set()  # (path, kind, name, bytes digest) noted as read
        self._package_tokens: OrderedDict[tuple[str, frozenset[bytes]],
                                          tuple[tuple[tuple[str, int, int], ...], bool]] = OrderedDict()

    def _scope(self, evaluator: FileEvaluator) -> _PackageScope | None:
        path = os.path.abspath(evaluator.path)
        directory = os.path.dirname(path)
        tests = path.endswith("_test.go")
        listing = self.folders.listing_for(path, tests)  # without files no build compiles together with it
        if listing is None:
            return None
        signature = tuple(listing)
        key = (directory, evaluator.package, tests, hash(signature))  # a unix and a windows file: two scopes
        scope = self._packages.get(key)
        if scope is not None and scope.signature == signature:
            self._packages.move_to_end(key)
            return scope
        scope = _PackageScope(signature)
        wanted = evaluator.package.encode()
        read: list[tuple[str, bytes]] = []
        for sibling, _, _ in listing:
            data = read_sibling(sibling)
            if data is None:
                continue
            package = PACKAGE_LINE.search(data)
            if package is None or package.group(1) != wanted:
                continue
            read.append((sibling, data))
            for match in _FUNC_LINE.finditer(data):
                kind = METHOD if match.group(1) else FUNCTION
                callee = (kind, match.group(2).decode())
                paths = scope.names.setdefault(callee, [])
                if sibling not in paths:
                    paths.append(sibling)
        if self.reads is not None:
            origin = (path, "1" if tests else "0", evaluator.package)
            self.reads.note(path, ("listing", path, origin[1], paths_digest([p for p, _, _ in listing])))
            # the same files as the package index of this file (gopackage/store.py index_files), when none is
            # too large or unreadable; otherwise the check fails and the file is scanned again (safe)
            self.reads.note(path, ("skeleton", *origin, skeleton_digest(read)))
        self._packages[key] = scope
        while len(self._packages) > MAX_PACKAGES:
            self._packages.popitem(last=False)
        return scope

    def _parse(self, path: str, deadline: float | None) -> _Parsed | None:
        try:
            info = os.stat(path)
            signature = (info.st_mtime_ns, info.st_size)
            cached = self._parsed.get(path)
            if cached is not None and cached.signature == signature:
                self._parsed.move_to_end(path)
                return cached
            with open(path, "rb") as handle:
                source = raw = handle.read(MAX_SIBLING_BYTES + 1)
        except OSError:
            return None
        source = utf8_safe(source)[0]  # predicates on invalid UTF-8 raised out of the scan
        root = parser().parse(source).root_node
        if too_wide(root) is not None:  # its queries would take minutes: the file is reported when scanned
            return None
        sibling = FileEvaluator(self.pack, path, path, source, root, self.folders.go_version(path), deadline,
                                questions=self.new_questions())
        sibling.lazy_atoms = True  # no collect() pass: only the callee's declaration is asked about
        parsed = _Parsed(signature, sibling, declarations(source, root))
        self._siblings[sibling] = content_digest(raw)
        self._parsed[path] = parsed
        while len(self._parsed) > MAX_PARSED:
            self._parsed.popitem(last=False)
        return parsed

    def _note_read(self, rule: CNode, sibling: FileEvaluator, path: str, callee: Callee) -> None:
        """Note what matching R on ``callee``'s declarations in the sibling ``path`` read of it: the
        declarations (and the file's imports and types) when R looks only inside them, else its bytes."""
        assert self.reads is not None
        digest = self._siblings[sibling]
        local = self._local.get(id(rule))
        if local is None:
            local = self._local[id(rule)] = decl_local(rule)
        key = (path, *callee, digest) if local else (path, "", "", digest)
        if key in self._noted:
            return
        self._noted.add(key)
        if local:
            self.reads.note(path, ("decl", path, *callee, declaration_digest(sibling.source, sibling.root, *callee),
                                   digest))
        else:
            self.reads.note(path, ("bytes", path, digest))

    def package_may_hold(self, path: str, tokens: frozenset[bytes]) -> bool:
        """Might a `.go` file of ``path``'s folder hold all ``tokens``? False lets a rule whose every match
        needs such a callee skip the file unparsed. A yes is kept for the scan (a stale yes only costs
        time); a no is re-checked against the folder's listing."""
        directory = os.path.dirname(os.path.abspath(path))
        key = (directory, tokens)
        known = self._package_tokens.get(key)
        if known is not None and known[1]:
            return True
        listing = self.folders.listing(directory, True)
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
        if self.reads is not None:
            self.reads.note(path, ("folder", directory, tokens_text(tokens), "1" if found else "0"))
        self._package_tokens[key] = ((), True) if found else (signature, False)
        while len(self._package_tokens) > MAX_PACKAGE_TOKENS:
            self._package_tokens.popitem(last=False)
        return found

    def matches(self, evaluator: FileEvaluator, state: CalleeFile, rule: CNode, node: Node) -> bool:
        """Does ``node`` call a same-file or same-package function/method whose declaration matches
        ``rule``? ``state``: what was learnt about ``evaluator``'s file so far."""
        named = _named_callee(evaluator, node)
        if named is None:
            return False
        callee, operand = named
        if not state.scope_known:
            state.scope = self._scope(evaluator) if evaluator.package else None
            state.scope_known = True
        scope = state.scope
        here = state.path or os.path.abspath(evaluator.path)
        state.path = here
        if state.decls is None:
            state.decls = declarations(evaluator.source, evaluator.root)
        local_decls = state.decls.get(callee, [])
        if self.reads is not None and evaluator in self._siblings:  # a `calls:` inside R, in a sibling
            self._note_read(rule, evaluator, here, callee)
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
                parsed = self._parse(path, evaluator.deadline) if _may_hold(scope, rule, path, self.reads) else None
                answer = False
                if parsed is not None:
                    parsed.evaluator.deadline = evaluator.deadline
                    answer = any(_holds(parsed.evaluator, rule, decl) for decl in parsed.decls.get(callee, []))
                    if self.reads is not None:
                        self._note_read(rule, parsed.evaluator, path, callee)
                scope.answers[answer_key] = answer
            if answer:
                return True
        return False


def _may_hold(scope: _PackageScope, rule: CNode, path: str, reads: PackageReads | None) -> bool:
    if not rule.tokens:
        return True
    key = (id(rule), path)
    known = scope.token_checks.get(key)
    if known is None:
        data = read_sibling(path) or b""
        known = scope.token_checks[key] = all(token in data for token in rule.tokens)
        if reads is not None:
            reads.note(path, ("has", path, tokens_text(rule.tokens), "1" if known else "0"))
    return known


def _holds(evaluator: FileEvaluator, rule: CNode, decl: Node) -> bool:
    # R starts with fresh bindings: nodes of another file must not meet this file's metavariables
    return next(evaluator.matches(rule, decl, {}), None) is not None
