"""Evaluate a compiled RulePack on one parsed Go file.

One pass of the combined query collects the matches of every atom; rules then start from their anchor
atom's matches and check relations against the other atoms' matches (found by byte range), so no rule
walks the whole tree. Metavariables bind to nodes; two bindings of one name must have the same text.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, cast

from tree_sitter import Node, QueryCursor

from gleak_sarif import clock as file_clock
from gleak_sarif.engine.ancestry import StopIndex, TopLevel, contains_strictly, path_down
from gleak_sarif.gopackage.summary import Evidence
from gleak_sarif.gosource import (
    DECLARATION_KINDS,
    FUNCTION_KINDS,
    Imports,
    file_imports,
    node_text,
    package_name,
    version_satisfies,
)
from gleak_sarif.model import Finding, Fix, RelatedLocation, Severity, Span, TextEdit
from gleak_sarif.rules.compiled import (
    AllStep,
    AnyStep,
    AsStep,
    AtomStep,
    CallsStep,
    CNode,
    CompiledRule,
    CRelation,
    IsStep,
    KindStep,
    MatchesStep,
    ModelQuery,
    ModelStep,
    NotStep,
    RegexStep,
    RelationStep,
    RulePack,
    SameStep,
    ScopeStep,
    Step,
)
from gleak_sarif.rules.regex import query_predicate

Env = dict[str, Node]


class PackageQuestions(Protocol):
    """What the evaluator asks beyond its file, answered by the scan context (engine/context.py): one per
    evaluated file, so that it can keep what it learnt about that file."""

    def calls(self, evaluator: FileEvaluator, rule: CNode, node: Node) -> bool:
        """`calls: R`: is ``node`` a call of a same-package function whose declaration matches R?"""
        ...

    def model(self, evaluator: FileEvaluator, query: ModelQuery, node: Node, env: Env) -> Iterator[Env]:
        """`model:`: the environments in which the package model's facts hold at ``node``."""
        ...


class FileClock:
    """The per-file clock's pauses: none by default (see worker.PackageClock)."""

    def paused(self, evaluator: FileEvaluator) -> bool:
        """Called when the deadline has passed: move ``evaluator.deadline`` by the time the clock stood
        still since the last call, and say whether the file may go on (the moved deadline is ahead)."""
        return False


class FileTimeoutError(Exception):
    """Rule evaluation on one file ran past the per-file time limit."""


NodeKey = tuple[int, int, int]
# A non-anchor atom is first looked for in the ranges relations ask about (one query each, which is cheap
# when they are few and small); after this many range queries in one file it is collected from the whole
# file once and answered by binary search, so nested ranges (a `has` asked of each of 3,000 nested
# blocks) cost one query instead of one per block, each over the whole subtree.
WHOLE_FILE_AFTER = 8
MAX_MESSAGE_VAR = 60


def _key(node: Node) -> NodeKey:
    return (node.start_byte, node.end_byte, node.kind_id)


@dataclass
class AtomMatch:
    node: Node
    binds: Env


def span_of(path: str, node: Node, *, one_line: bool = False, source: bytes = b"") -> Span:
    """The node's region; with ``one_line`` only its first line (trailing spaces and `{` trimmed)."""
    start_line, start_col = node.start_point
    end_line, end_col = node.end_point
    end_byte = node.end_byte
    if one_line and end_line != start_line:
        line_end = source.find(b"\n", node.start_byte)
        line_end = len(source) if line_end < 0 else line_end
        text = source[node.start_byte : line_end].rstrip(b" \t\r")
        end_byte = node.start_byte + len(text)
        end_line, end_col = start_line, start_col + len(text)
    return Span(
        path=path,
        start_byte=node.start_byte,
        end_byte=end_byte,
        start_line=start_line + 1,
        start_column=start_col + 1,
        end_line=end_line + 1,
        end_column=end_col + 1,
    )


class FileEvaluator:
    def __init__(
        self,
        pack: RulePack,
        path: str,
        rel_path: str,
        source: bytes,
        root: Node,
        go_version: tuple[int, int] | None,
        deadline: float | None = None,
        questions: PackageQuestions | None = None,
    ) -> None:
        self.pack = pack
        self.questions = questions  # None: `calls:` and `model:` never hold (no package to ask)
        self.path = path
        self.rel_path = rel_path
        self.source = source
        self.root = root
        self.go_version = go_version
        self.imports: Imports = file_imports(source, root)
        self.package = package_name(source, root)
        self.by_atom: list[list[AtomMatch]] = [[] for _ in pack.atoms]
        self.starts: list[list[int]] = []
        self._keyed: dict[int, dict[NodeKey, list[AtomMatch]]] = {}  # id(match list) -> matches by node
        self._declared: dict[int, set[str]] = {}
        self.deadline = deadline
        self.clock = FileClock()  # what stops the deadline's clock (package work: engine/worker.py sets it)
        self._at_cache: dict[tuple[int, int, int, int], list[AtomMatch]] = {}
        self._at_cursors: dict[int, QueryCursor] = {}
        self._range_cache: dict[tuple[int, int, int], list[Node]] = {}
        self._range_queries: dict[int, int] = {}  # atom -> range queries run so far in this file
        self._collected: dict[tuple[int, int, int], tuple[list[int], list[Node]]] = {}  # (atom, range) -> sorted
        self._top_level: TopLevel | None = None
        self._text_queries: dict[bytes, int] = {}  # the same for `same_as` text searches
        self._text_index: dict[bytes, tuple[list[int], list[list[Node]]]] = {}
        self._steps_taken = 0
        self._stop_indexes: dict[str, StopIndex] = {}
        self.lazy_atoms = False  # True: no collect() pass; every atom runs on demand (callee files)
        self._relation_memo: dict[tuple[object, ...], bool] = {}
        self._no_match: set[tuple[object, ...]] = set()  # (sub-rule, candidate, mentioned texts) giving no env

    # ---- matching -------------------------------------------------------------------------------
    def collect(self) -> None:
        """One pass of the combined query: the matches of every rule's anchor atoms.

        Atoms of one pattern with the same import checks share one list of matches, recorded once per
        query match (several rules anchor at every call_expression); exact-node lookups (`by_key`) are
        indexed when first asked. This Python bookkeeping, not the query, was most of the pass."""
        if self.pack.query is None:
            return
        cursor = QueryCursor(self.pack.query)
        groups = self.pack.pattern_groups
        lists: list[list[list[AtomMatch]]] = [[[] for _ in atoms_of] for atoms_of in groups]
        record = self._record
        for pattern_index, captures in cursor.matches(self.root, query_predicate):
            pattern_lists = lists[pattern_index]
            for group_index, group in enumerate(groups[pattern_index]):
                match = record(group[0], captures)
                if match is not None:
                    pattern_lists[group_index].append(match)
        # only anchor atoms get matches here: sorting every atom's list cost more than the query itself
        self.starts = [[] for _ in self.by_atom]
        for pattern_index, atoms_of in enumerate(groups):
            for group, matches in zip(atoms_of, lists[pattern_index], strict=True):
                if not matches:
                    continue
                matches.sort(key=_start_of)
                starts = [m.node.start_byte for m in matches]
                for atom_index in group:
                    self.by_atom[atom_index] = matches
                    self.starts[atom_index] = starts

    def _by_key(self, atom_index: int) -> dict[NodeKey, list[AtomMatch]]:
        """An anchor atom's matches by node, indexed on first use (shared by the atoms sharing matches)."""
        matches = self.by_atom[atom_index]
        index = self._keyed.get(id(matches))
        if index is None:
            index = self._keyed[id(matches)] = {}
            for match in matches:
                index.setdefault(_key(match.node), []).append(match)
        return index

    def _record(self, atom_index: int, captures: dict[str, list[Node]]) -> AtomMatch | None:
        """A query match as an AtomMatch, or None when metavariables or package names disagree."""
        atom = self.pack.atoms[atom_index]
        if len(captures) == 1 and not atom.package_checks:  # `((kind) @__match)`: nothing to bind or check
            return AtomMatch(captures["__match"][0], {})
        binds: Env = {}
        for name, nodes in captures.items():
            if name.startswith("__"):
                continue
            first = nodes[0]
            text = self.text(first)
            if any(self.text(other) != text for other in nodes[1:]):
                return None
            binds[name] = first
        for capture, import_path in atom.package_checks:
            if not self.resolves_to(captures[capture][0], import_path):
                return None
        return AtomMatch(captures["__match"][0], binds)

    def _atom_at(self, atom_index: int, node: Node) -> list[AtomMatch]:
        """Matches of one atom rooted exactly at ``node``."""
        atom = self.pack.atoms[atom_index]
        if atom.root_pattern is not None and not self.lazy_atoms:
            return self._by_key(atom_index).get(_key(node), [])
        if atom.root_kind is not None and node.type != atom.root_kind:
            return []  # most nodes asked about are of another kind: no query run needed
        cache_key = (atom_index, *_key(node))
        cached = self._at_cache.get(cache_key)
        if cached is None:
            cursor = self._at_cursors.get(atom_index)
            if cursor is None:
                cursor = QueryCursor(atom.query_object())
                cursor.set_max_start_depth(0)
                self._at_cursors[atom_index] = cursor
            cached = []
            for _, captures in cursor.matches(node, query_predicate):
                match = self._record(atom_index, captures)
                if match is not None and _key(match.node) == _key(node):
                    cached.append(match)
            self._at_cache[cache_key] = cached
        return cached

    def _atom_in(self, atom_index: int, start: int, end: int) -> list[Node]:
        """Nodes matched by one atom inside [start, end), in source order."""
        atom = self.pack.atoms[atom_index]
        if atom.root_pattern is not None and not self.lazy_atoms:
            starts = self.starts[atom_index]
            out = []
            for match in self.by_atom[atom_index][bisect.bisect_left(starts, start):]:
                if match.node.start_byte >= end:
                    break
                if match.node.end_byte <= end:
                    out.append(match.node)
            return out
        whole = None
        if self._range_queries.get(atom_index, 0) >= WHOLE_FILE_AFTER:
            # asked often in this file: collected once per top-level declaration holding the range (rules ask
            # inside the functions they look at), or once from the whole file for a range none holds
            self._top_level = self._top_level or TopLevel(self.root)
            decl = self._top_level.around(start, end)
            first, last = (decl.start_byte, decl.end_byte) if decl is not None else (0, len(self.source))
            whole = self._collected.get((atom_index, first, last))
            if whole is None:
                whole = self._collected[atom_index, first, last] = self._collect(atom_index, first, last)
        if whole is not None:
            starts, found_nodes = whole
            out = []
            for node in found_nodes[bisect.bisect_left(starts, start):]:
                if node.start_byte >= end:
                    break
                if node.end_byte <= end:
                    out.append(node)
            return out
        cache_key = (atom_index, start, end)
        cached = self._range_cache.get(cache_key)
        if cached is None:
            self._range_queries[atom_index] = self._range_queries.get(atom_index, 0) + 1
            cursor = QueryCursor(atom.query_object())
            cursor.set_byte_range(start, end)
            nodes: dict[NodeKey, Node] = {}
            for _, captures in cursor.matches(self.root, query_predicate):
                found = self._record(atom_index, captures)
                if found is None:
                    continue
                node = found.node
                if node.start_byte >= start and node.end_byte <= end:
                    nodes.setdefault(_key(node), node)
                    self._at_cache.setdefault((atom_index, *_key(node)), []).append(found)
            cached = sorted(nodes.values(), key=lambda n: (n.start_byte, -n.end_byte))
            self._range_cache[cache_key] = cached
        return cached

    def _collect(self, atom_index: int, start: int, end: int) -> tuple[list[int], list[Node]]:
        """Every match of one atom inside [start, end) (the whole file, or one top-level declaration), sorted
        by (start, -end); fills the per-node cache too."""
        by_node: dict[NodeKey, list[AtomMatch]] = {}
        nodes: dict[NodeKey, Node] = {}
        cursor = QueryCursor(self.pack.atoms[atom_index].query_object())
        whole = start == 0 and end >= self.root.end_byte
        if not whole:
            cursor.set_byte_range(start, end)
        for _, captures in cursor.matches(self.root, query_predicate):
            self.tick()
            found = self._record(atom_index, captures)
            if found is not None and (whole or (found.node.start_byte >= start and found.node.end_byte <= end)):
                key = _key(found.node)
                nodes.setdefault(key, found.node)
                by_node.setdefault(key, []).append(found)
        for key, matches in by_node.items():
            self._at_cache.setdefault((atom_index, *key), matches)
        ordered = sorted(nodes.values(), key=lambda n: (n.start_byte, -n.end_byte))
        return [n.start_byte for n in ordered], ordered

    def text(self, node: Node) -> str:
        value: object = node
        if isinstance(value, Evidence):  # a `model:` binding: text and place from the package model
            return value.text
        return node_text(self.source, node)

    def span(self, node: Node, *, one_line: bool = False) -> Span:
        value: object = node
        if isinstance(value, Evidence):
            site = value.site
            return Span(path=value.path, start_byte=site.start, end_byte=site.end, start_line=site.line,
                        start_column=site.column, end_line=site.line, end_column=site.column + len(site.text))
        return span_of(self.path, node, one_line=one_line, source=self.source)

    def resolves_to(self, name_node: Node, import_path: str) -> bool:
        """Is this identifier the file's name for ``import_path``, and not shadowed by a local?"""
        name = self.text(name_node)
        if self.imports.by_name.get(name) != import_path:
            return False
        index = self._stop_index("declaration")
        decl = index.around(name_node) if index is not None else None  # the enclosing top-level function
        if decl is None:
            return True
        return name not in self._declared_names(decl)

    def _declared_names(self, decl: Node) -> set[str]:
        cached = self._declared.get(decl.start_byte)
        if cached is not None:
            return cached
        names: set[str] = set()
        stack = [decl]
        while stack:
            node = stack.pop()
            kind = node.type
            if kind in ("parameter_declaration", "variadic_parameter_declaration", "var_spec", "const_spec"):
                for index, child in enumerate(node.children):
                    if node.field_name_for_child(index) == "name":
                        names.add(self.text(child))
            elif kind in ("short_var_declaration", "range_clause"):
                left = node.child_by_field_name("left")
                if left is not None:
                    names.update(self.text(c) for c in left.named_children if c.type == "identifier")
            stack.extend(node.named_children)
        self._declared[decl.start_byte] = names
        return names

    # ---- evaluation -----------------------------------------------------------------------------
    def unify(self, env: Env, binds: Env) -> Env | None:
        merged = dict(env)
        for name, node in binds.items():
            bound = merged.get(name)
            if bound is None:
                merged[name] = node
            elif bound is not node and self.text(bound) != self.text(node):
                return None
        return merged

    def matches(self, rule: CNode, node: Node, env: Env) -> Iterator[Env]:
        yield from self._checks(rule, 0, node, env)

    def _checks(self, rule: CNode, index: int, node: Node, env: Env) -> Iterator[Env]:
        steps = rule.steps
        # Steps that only pass or reject (at most one env out) run in this loop, not as nested generators:
        # the generator chain per step was most of the evaluation cost.
        count = len(steps)
        while index < count:
            step = steps[index]
            if not step.FILTER:
                break
            if type(step) is KindStep:
                if node.type != step.kind:
                    return
            elif type(step) is AsStep:
                merged = self.unify(env, {step.name: node})
                if merged is None:
                    return
                env = merged
            elif next(self._step(step, node, env), None) is None:
                return
            index += 1
        if index == count:
            yield env
            return
        for next_env in self._step(steps[index], node, env):
            yield from self._checks(rule, index + 1, node, next_env)

    def tick(self) -> None:
        """Count one unit of work; past the per-file deadline, stop the file's evaluation. Called by every
        step and by every loop of a relation walk, so no walk runs on unchecked."""
        self._steps_taken += 1
        if self.deadline is not None and not self._steps_taken & 1023 and file_clock.now() > self.deadline \
                and not self.clock.paused(self):
            raise FileTimeoutError

    def _step(self, step: Step, node: Node, env: Env) -> Iterator[Env]:
        self.tick()
        # the most frequent kinds first (GOROOT/src: atom, any, relation, all, matches, regex); KindStep and
        # AsStep never come here: _checks runs them inline
        if type(step) is AtomStep:
            for match in self._atom_at(step.atom, node):
                merged = self.unify(env, match.binds)
                if merged is not None:
                    yield merged
        elif type(step) is AnyStep:
            for branch in step.branches:
                yield from self.matches(branch, node, env)
        elif type(step) is RelationStep:
            yield from self._relation(step.name, step.relation, node, env)
        elif type(step) is AllStep:
            yield from self._all(step.items, 0, node, env)
        elif type(step) is MatchesStep:
            yield from self.matches(step.rule, node, env)
        elif type(step) is RegexStep:
            if step.regex.search(self.text(node)):
                yield env
        elif type(step) is CallsStep:
            if self.questions is not None and self.questions.calls(self, step.rule, node):
                yield env
        elif type(step) is ModelStep:
            if self.questions is not None:
                yield from self.questions.model(self, step.query, node, env)
        elif type(step) is NotStep:
            if next(self.matches(step.rule, node, env), None) is None:
                yield env
        elif type(step) is SameStep:
            bound = env.get(step.name)
            if bound is not None and (bound is node or self.text(bound) == self.text(node)):
                yield env
        elif type(step) is IsStep:
            bound = env.get(step.name)
            if bound is not None and _key(bound) == _key(node):
                yield env
        elif type(step) is ScopeStep:
            if node.type in FUNCTION_KINDS if step.scope == "function" else self.is_declaration_scope(node):
                yield env
        else:
            raise TypeError(f"unknown step {step!r}")

    def _all(self, items: list[CNode], index: int, node: Node, env: Env) -> Iterator[Env]:
        if index == len(items):
            yield env
            return
        for next_env in self.matches(items[index], node, env):
            yield from self._all(items, index + 1, node, next_env)

    # ---- relations ------------------------------------------------------------------------------
    def _relation(self, name: str, relation: CRelation, node: Node, env: Env) -> Iterator[Env]:
        if relation.stop_by == "neighbor":  # one or a few nodes to look at: a memo costs more than it saves
            yield from self._relation_matches(name, relation, node, env)
            return
        mentioned = relation.rule.mentions
        if all(name in env for name in mentioned):
            # Every metavariable the sub-rule reads or binds is bound already, so every result is ``env``
            # itself: answer once (not once per matching node, which re-ran the later checks each time)
            # and remember the answer for this node and those metavariables' texts (GL206 asks the same
            # question of one declaration for every receive on the channel).
            identities = relation.rule.identities
            if identities:
                memo_key = (id(relation), *_key(node), *(self._bound_key(env, name, identities)
                                                         for name in mentioned))
            else:
                memo_key = (id(relation), *_key(node), *(self.text(env[name]) for name in mentioned))
            found = self._relation_memo.get(memo_key)
            if found is None:
                found = self._relation_memo[memo_key] = (
                    next(self._relation_matches(name, relation, node, env), None) is not None)
            if found:
                yield env
            return
        yield from self._relation_matches(name, relation, node, env)

    def _relation_matches(self, name: str, relation: CRelation, node: Node, env: Env) -> Iterator[Env]:
        if name == "inside":
            others = self._ancestors(node, relation)
        elif name == "has":
            others = self._descendants(node, relation, env)
        else:
            others = self._ordered(node, relation, env, before=(name == "follows"))
        if name == "inside":
            for other in others:
                self.tick()
                yield from self.matches(relation.rule, other, env)
            return
        for other in others:
            self.tick()
            yield from self._candidate_matches(relation.rule, other, env)

    def _candidate_matches(self, rule: CNode, node: Node, env: Env) -> Iterator[Env]:
        """`matches(rule, node, env)` for a candidate of `has`/`follows`/`precedes`, skipping candidates
        known to give nothing. Whether one does depends only on the node and the texts bound to the
        metavariables the sub-rule mentions (what `_relation`'s memo relies on too), and relations ask the
        same candidates again and again: GL406 asks about every return after each lock of a function, so a
        long function made it quadratic in rule evaluation; now it is quadratic in dictionary lookups."""
        # (the common case, no `is:` below: texts only, inline, since this runs for every candidate)
        if rule.identities:
            key = (id(rule), *_key(node), *(self._bound_key(env, n, rule.identities) for n in rule.mentions))
        else:
            key = (id(rule), *_key(node), *(self.text(env[n]) if n in env else None for n in rule.mentions))
        if key in self._no_match:
            return
        found = False
        for out in self.matches(rule, node, env):
            found = True
            yield out
        if not found:
            self._no_match.add(key)

    def _bound_key(self, env: Env, name: str, identities: frozenset[str]) -> object:
        """What a memo keys a bound metavariable by: its text, or its node for one that `is:` compares."""
        bound = env.get(name)
        if bound is None:
            return None
        return _key(bound) if name in identities else self.text(bound)

    def _is_stop(self, node: Node, stop: str | CNode) -> bool:
        if isinstance(stop, str):
            if stop == "function":
                return node.type in FUNCTION_KINDS
            if stop == "declaration":
                return self.is_declaration_scope(node)
            return False
        return next(self.matches(stop, node, {}), None) is not None

    def _stop_index(self, stop: str) -> StopIndex | None:
        """The index of the scopes a `stopBy` word names (None: the word names none): `function` every
        function scope, `declaration` the top-level ones (gosource.is_declaration_scope, without its climb
        up `Node.parent`: declarations, and function literals inside no other function scope)."""
        if stop not in ("function", "declaration"):
            return None
        index = self._stop_indexes.get(stop)
        if index is None:
            functions = self._stop_indexes.get("function")
            if functions is None:
                functions = self._stop_indexes["function"] = StopIndex.of_kinds(self.root, FUNCTION_KINDS)
            if stop == "function":
                return functions
            top = [n for n in functions.nodes if n.type in DECLARATION_KINDS] + [
                n for n in functions.outermost() if n.type == "func_literal"]
            index = self._stop_indexes[stop] = StopIndex(top)
        return index

    def is_declaration_scope(self, node: Node) -> bool:
        """`gosource.is_declaration_scope` answered from the index (no walk up the tree)."""
        if node.type in DECLARATION_KINDS:
            return True
        functions = self._stop_index("function")
        return node.type == "func_literal" and functions is not None and functions.around(node) is None

    def _ancestors(self, node: Node, relation: CRelation) -> Iterator[Node]:
        stop = relation.stop_by
        if isinstance(stop, str) and stop != "neighbor":
            # the stop node from the index, then one cursor walk down to ``node``: ``Node.parent`` costs the
            # node's depth per step (see ancestry.py)
            index = self._stop_index(stop)
            top = (index.around(node) if index is not None else None) or self.root
            if node != top:
                between = path_down(top, node)
                if between is not None:
                    for ancestor in [*between, top]:
                        if relation.field is None or _field_contains(ancestor, relation.field, node, node):
                            yield ancestor
                    return
        child = node
        current = node.parent
        while current is not None:
            if relation.field is None or _field_contains(current, relation.field, child, node):
                yield current
            if stop == "neighbor" or self._is_stop(current, stop):
                return
            child = current
            current = current.parent

    def _within_field(self, node: Node, field_name: str | None) -> Node | None:
        return node if field_name is None else node.child_by_field_name(field_name)

    def _candidates(self, rule: CNode, start: int, end: int, env: Env) -> Iterator[Node]:
        """Nodes inside [start, end) that could match ``rule``: its anchor's matches, else every node."""
        if rule.anchor is not None:
            seen: set[NodeKey] = set()
            for atom in rule.anchor:
                for candidate in self._atom_in(atom, start, end):
                    if _key(candidate) not in seen:
                        seen.add(_key(candidate))
                        yield candidate
            return
        if rule.same_node is not None and rule.same_node in env:
            bound = env[rule.same_node]  # `is: $X`: the one node
            if bound.start_byte >= start and bound.end_byte <= end:
                yield bound
            return
        if rule.same_as is not None and rule.same_as in env:
            # a node with the same text as a bound metavariable: find the text, then its node
            needle = self.source[env[rule.same_as].start_byte : env[rule.same_as].end_byte]
            if not needle:
                return
            whole = self._text_index.get(needle)
            if whole is None and self._text_queries.get(needle, 0) >= WHOLE_FILE_AFTER:
                whole = self._text_index[needle] = self._index_text(needle)
            if whole is not None:  # asked often in this file: every occurrence found once, then bisect
                positions, spans = whole
                for at in range(bisect.bisect_left(positions, start), len(positions)):
                    if positions[at] + len(needle) > end:
                        break
                    yield from spans[at]
                return
            self._text_queries[needle] = self._text_queries.get(needle, 0) + 1
            position = self.source.find(needle, start, end)
            while position >= 0:
                self.tick()
                yield from self._nodes_spanning(position, len(needle))
                position = self.source.find(needle, position + 1, end)
            return
        stack = [self.root]
        while stack:
            self.tick()
            current = stack.pop()
            if current.end_byte <= start or current.start_byte >= end:
                continue
            if current.start_byte >= start and current.end_byte <= end:
                yield current
            stack.extend(reversed(current.named_children))

    def _nodes_spanning(self, position: int, length: int) -> list[Node]:
        """The nodes spanning exactly [position, position + length), largest first (a selector, an
        expression_list, then the identifier inside it with the same span): found by one walk down from
        the root, not by climbing ``Node.parent`` (which costs the depth per step)."""
        cursor = self.root.walk()
        end = position + length
        while not (cursor.node.start_byte == position and cursor.node.end_byte == end):  # type: ignore[union-attr]
            if cursor.goto_first_child_for_byte(position) is None:
                return []
            while cursor.node.end_byte <= position and cursor.node.start_byte < position:  # type: ignore[union-attr]
                if not cursor.goto_next_sibling():
                    return []
            if cursor.node.start_byte > position or cursor.node.end_byte < end:  # type: ignore[union-attr]
                return []  # no node spans exactly the text (it is part of a token or of several nodes)
        out: list[Node] = []
        hit: Node | None = cursor.node
        while hit is not None and hit.start_byte == position and hit.end_byte == end:
            out.append(hit)
            children = hit.named_children
            hit = children[0] if len(children) == 1 else None
        return out

    def _index_text(self, needle: bytes) -> tuple[list[int], list[list[Node]]]:
        """Every occurrence of ``needle`` in the file that some node spans exactly, in source order."""
        positions: list[int] = []
        spans: list[list[Node]] = []
        position = self.source.find(needle)
        while position >= 0:
            self.tick()
            nodes = self._nodes_spanning(position, len(needle))
            if nodes:
                positions.append(position)
                spans.append(nodes)
            position = self.source.find(needle, position + 1)
        return positions, spans

    def _crosses_stop(self, inner: Node, outer: Node, stop: str | CNode) -> bool:
        """Is there a stop node strictly between ``inner`` and ``outer`` (inner's ancestors)?"""
        if stop == "end":
            return False
        if isinstance(stop, str):  # the common case: this runs for every candidate of a relation
            index = self._stop_index(stop)
            if index is None:
                return False
            # stop nodes nest, so one lies between inner and outer iff the innermost one around inner does
            around = index.around(inner)
            return around is not None and contains_strictly(outer, around)
        current = inner.parent
        while current is not None and current != outer:
            self.tick()
            if self._is_stop(current, stop):
                return True
            current = current.parent
        return False

    def _descendants(self, node: Node, relation: CRelation, env: Env) -> Iterator[Node]:
        region = self._within_field(node, relation.field)
        if region is None:
            return
        if relation.stop_by == "neighbor":
            if region is not node:
                yield region  # `field:` with `stopBy: neighbor`: the field's own node
            else:
                yield from (child for child in node.named_children if child.type != "comment")
            return
        for candidate in self._candidates(relation.rule, region.start_byte, region.end_byte, env):
            if _key(candidate) == _key(node):
                continue
            if not self._crosses_stop(candidate, node, relation.stop_by):
                yield candidate

    def _scope(self, node: Node, stop: str | CNode) -> Node:
        if stop == "end":
            return self.root
        if isinstance(stop, str):
            index = self._stop_index(stop)
            return (index.around(node) if index is not None else None) or self.root
        current = node.parent
        while current is not None:
            self.tick()
            if self._is_stop(current, stop):
                return current
            current = current.parent
        return self.root

    def _ordered(self, node: Node, relation: CRelation, env: Env, *, before: bool) -> Iterator[Node]:
        stop = relation.stop_by
        if stop == "neighbor":
            sibling = node.prev_named_sibling if before else node.next_named_sibling
            while sibling is not None and sibling.type == "comment":
                sibling = sibling.prev_named_sibling if before else sibling.next_named_sibling
            if sibling is not None:
                yield sibling
            return
        scope = self._scope(node, stop)
        if before:
            start, end = scope.start_byte, node.start_byte
        else:
            start, end = node.end_byte, scope.end_byte
        for candidate in self._candidates(relation.rule, start, end, env):
            if not self._crosses_stop(candidate, scope, stop):
                yield candidate

    # ---- rules ----------------------------------------------------------------------------------
    def rule_applies(self, rule: CompiledRule) -> bool:
        output = rule.output
        if output.files and not any(_glob(self.rel_path, g) for g in output.files):
            return False
        if any(_glob(self.rel_path, g) for g in output.ignores):
            return False
        if rule.go_version is not None:
            if self.go_version is None:
                if output.go_version_unknown == "skip":
                    return False
            elif not version_satisfies(self.go_version, rule.go_version):
                return False
        if rule.package_regex is not None and not rule.package_regex.search(self.package):
            return False
        return not (rule.package_not_regex is not None and rule.package_not_regex.search(self.package))

    def run_rule(self, rule: CompiledRule) -> list[Finding]:
        findings: list[Finding] = []
        seen: set[tuple[int, int]] = set()
        anchor = rule.root.anchor or []
        candidates: list[Node] = []
        keys: set[NodeKey] = set()
        for atom in anchor:
            for match in self.by_atom[atom]:
                if _key(match.node) not in keys:
                    keys.add(_key(match.node))
                    candidates.append(match.node)
        candidates.sort(key=lambda n: n.start_byte)
        for candidate in candidates:
            env = next(
                (e for e in self.matches(rule.root, candidate, {}) if self._constraints_ok(rule, e)), None
            )
            if env is None:
                continue
            finding = self._finding(rule, candidate, env)
            position = (finding.primary.start_byte, finding.primary.end_byte)
            if position not in seen:
                seen.add(position)
                findings.append(finding)
        return findings

    def severity_of(self, rule: CompiledRule) -> Severity:
        """`severity-by-go-version`: the first row whose condition this file's go.mod meets."""
        if self.go_version is not None:
            for terms, severity in rule.severity_by_version:
                if version_satisfies(self.go_version, terms):
                    return severity
        return rule.meta.severity

    def level_of(self, rule: CompiledRule) -> tuple[Severity, dict[str, str]]:
        """A finding's level here and, when a test file lowered it, why (for result.properties): the level
        from `severity`/`severity-by-go-version`, capped in `_test.go` files by `severity-in-tests` (a leak in
        a test ends with the test binary; false findings there are what new users meet first)."""
        severity = self.severity_of(rule)
        in_tests = rule.meta.severity_in_tests
        if in_tests is None or in_tests.rank >= severity.rank or not self.path.endswith("_test.go"):
            return severity, {}
        return in_tests, {"severityReason": "test file", "severityOutsideTests": severity.value}

    def _constraints_ok(self, rule: CompiledRule, env: Env) -> bool:
        for name, (regex, not_regex) in rule.constraints.items():
            node = env.get(name)
            if node is None:
                return False
            text = self.text(node)
            if regex is not None and not regex.search(text):
                return False
            if not_regex is not None and not_regex.search(text):
                return False
        return True

    def substitute(self, template: str, env: Env, *, for_message: bool) -> str:
        def value(name: str) -> str:
            node = env.get(name)
            if node is None:
                return "$" + name
            text = self.text(node)
            if for_message:
                text = " ".join(text.split())
                if len(text) > MAX_MESSAGE_VAR:
                    text = text[: MAX_MESSAGE_VAR - 3] + "..."
            return text

        return re.sub(r"\$([A-Z_][A-Z0-9_]*)", lambda m: value(m.group(1)), template)

    def _finding(self, rule: CompiledRule, candidate: Node, env: Env) -> Finding:
        output = rule.output
        primary_node = env[output.primary.lstrip("$")] if output.primary else candidate
        related: list[RelatedLocation] = []
        for capture, message in output.related:
            bound = env.get(capture.lstrip("$"))
            if bound is None:
                continue
            text = self.substitute(message, env, for_message=True)
            value: object = bound
            # a `model:` binding may stand for several places (Evidence.more): one location each
            places = [bound, *cast(tuple[Node, ...], value.more)] if isinstance(value, Evidence) else [bound]
            related.extend(RelatedLocation(span=self.span(place, one_line=True), message=text) for place in places)
        fix = self._fix(rule, primary_node, env)
        severity, why = self.level_of(rule)
        return Finding(
            rule_id=rule.meta.id,
            rule_name=rule.meta.name,
            severity=severity,
            properties=dict(why),
            message=self.substitute(output.message, env, for_message=True).strip(),
            primary=self.span(primary_node, one_line=True),
            related=related,
            metavariables={name: self.substitute("$" + name, env, for_message=True) for name in sorted(env)},
            fix=fix,
        )

    def _fix(self, rule: CompiledRule, primary: Node, env: Env) -> Fix | None:
        """The first fix candidate whose `where` holds here (its bindings join the finding's), else None.
        A target that is not a node of this file (a `model:` binding elsewhere) gets no fix."""
        for candidate in rule.output.fixes:
            fix_env = env
            if candidate.where is not None:
                at = env.get(candidate.at, primary) if candidate.at else primary
                if isinstance(cast(object, at), Evidence):
                    continue
                found = next(self.matches(candidate.where, at, env), None)
                if found is None:
                    continue
                fix_env = found
            target = fix_env.get(candidate.target, primary) if candidate.target else primary
            if isinstance(cast(object, target), Evidence):
                continue
            return Fix(
                description=self.substitute(candidate.description, fix_env, for_message=True),
                edits=[TextEdit(path=self.path, start_byte=target.start_byte, end_byte=target.end_byte,
                                new_text=self.substitute(candidate.replace, fix_env, for_message=False))],
            )
        return None


def _start_of(match: AtomMatch) -> int:
    return match.node.start_byte


def _field_contains(ancestor: Node, field_name: str, child: Node, node: Node) -> bool:
    region = ancestor.child_by_field_name(field_name)
    return region is not None and region.start_byte <= node.start_byte and node.end_byte <= region.end_byte


def _glob(rel_path: str, pattern: str) -> bool:
    if fnmatch.fnmatchcase(rel_path, pattern):
        return True
    if "/" not in pattern:
        return fnmatch.fnmatchcase(rel_path.rsplit("/", 1)[-1], pattern)
    if pattern.startswith("**/"):
        return fnmatch.fnmatchcase(rel_path, pattern[3:])
    return False
