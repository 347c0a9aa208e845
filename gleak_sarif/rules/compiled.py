"""A compiled rule pack: the types the evaluator reads (atoms, rule objects, their steps, fixes, rules, the
pack), and the walks over compiled rule objects. Made by rules/compiler.py; plain data (a pack is pickled into
the user's cache without its tree-sitter Query objects, which compile lazily).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from tree_sitter import Query

from gleak_sarif import facts
from gleak_sarif.gosource import compile_query
from gleak_sarif.model import RuleMeta, Severity
from gleak_sarif.rules.regex import Regex

# A compiled `model:` query: (fact key, the fact's options) in the order the facts run (gleak_sarif/facts/).
ModelQuery = facts.ModelQuery

_QUERY_HEAD = re.compile(r"\(\(([a-z_]+)[\s)]")  # `((call_expression ...) @__match ...)`


@dataclass
class Atom:
    """One pattern of the combined query. The matched node is captured as ``@__match``."""

    index: int
    query: str
    metavars: set[str]
    package_checks: list[tuple[str, str]]
    tokens: set[bytes]
    compiled: Query | None = None  # this atom alone: run lazily on the ranges relations look at
    root_pattern: int | None = None  # pattern index in the pack's combined query, for rule anchors
    path: str = ""  # where the atom was written, for errors found when its query is compiled
    line: int | None = None
    root_kind: str | None = None  # the node type every match has (None: any), from the query's head

    def __post_init__(self) -> None:
        head = _QUERY_HEAD.match(self.query)
        if head is not None and head.group(1) != "_":
            self.root_kind = head.group(1)

    def query_object(self) -> Query:
        """The atom's own query, compiled on first use (tree-sitter takes ~5-10 ms per pattern)."""
        if self.compiled is None:
            self.compiled = compile_query(self.query)
        return self.compiled

    def __getstate__(self) -> dict[str, object]:
        # a tree-sitter Query does not pickle: the receiver compiles it again on first use
        return {**self.__dict__, "compiled": None}


@dataclass
class CRelation:
    rule: CNode
    stop_by: str | CNode  # "neighbor" | "function" | "declaration" | "end" | a rule
    field: str | None


@dataclass
class CNode:
    """A compiled rule object. Checks run in this order: atoms, regex, matches, relations, all, any, not."""

    atoms: list[int] = field(default_factory=list)
    kind: str | None = None  # node type check (a query atom is made only when it must enumerate)
    scope: str | None = None  # "function" | "declaration": the node is such a function scope
    same_as: str | None = None  # pattern `$X` alone: a node with the same text as bound $X
    same_node: str | None = None  # `is: $X`: the node bound to $X itself
    as_: str | None = None  # bind the matched node to this metavariable
    regex: Regex | None = None
    matches: CNode | None = None
    relations: list[tuple[str, CRelation]] = field(default_factory=list)
    all: list[CNode] | None = None
    any: list[CNode] | None = None
    not_: CNode | None = None
    calls: CNode | None = None  # `calls: R`: R is matched on the callee's declaration, fresh bindings
    model: ModelQuery | None = None  # `model:` facts from the package model
    model_reads: set[str] = field(default_factory=set)  # metavariables `model:` compares with
    # Atoms whose matches enumerate every node this object can match (None: must walk the tree).
    anchor: list[int] | None = None
    tokens: set[bytes] = field(default_factory=set)  # byte strings every matching file contains
    binds: set[str] = field(default_factory=set)  # metavariables a match of this object binds
    # every metavariable the evaluation of this object can read from its environment, sorted (set by
    # build_pack; see `mentions`)
    mentions: tuple[str, ...] = ()
    # the mentioned metavariables that `is:` compares by node, not text: memo keys use their position
    identities: frozenset[str] = frozenset()
    steps: tuple[Step, ...] = ()  # the evaluator's checks, in order (set by build_pack: see `plan`)


@dataclass
class CFix:
    """One fix candidate: offered when ``where`` (if any) matches at the ``at`` capture (default: primary)."""

    description: str
    target: str | None  # capture whose node is replaced (default: the primary node)
    replace: str
    at: str | None = None
    where: CNode | None = None


@dataclass
class RuleOutput:
    """What the evaluator reads of a rule file besides its rule: where it applies, what a finding says."""

    message: str
    primary: str | None = None
    related: list[tuple[str, str]] = field(default_factory=list)  # (capture, message)
    fixes: list[CFix] = field(default_factory=list)  # tried in order; the first that applies is offered
    files: list[str] = field(default_factory=list)
    ignores: list[str] = field(default_factory=list)
    go_version_unknown: str = "match"


@dataclass
class CompiledRule:
    meta: RuleMeta
    output: RuleOutput
    root: CNode
    tokens: frozenset[bytes]
    go_version: list[tuple[str, tuple[int, int]]] | None
    constraints: dict[str, tuple[Regex | None, Regex | None]]
    package_regex: Regex | None
    package_not_regex: Regex | None
    source_path: str
    # `severity-by-go-version`: (go.mod condition, severity); the first that holds wins
    severity_by_version: list[tuple[list[tuple[str, tuple[int, int]]], Severity]] = field(default_factory=list)
    # token sets that a file of the package holds whenever the rule matches (set by build_pack): one per
    # `calls:` callee every match needs, and one per `model:` fact (a prefilter before parsing)
    callee_tokens: list[frozenset[bytes]] = field(default_factory=list)
    package_tokens: list[frozenset[bytes]] = field(default_factory=list)


@dataclass
class RulePack:
    rules: list[CompiledRule]
    atoms: list[Atom]
    query: Query | None  # the rules' anchor atoms, one pass over each file
    fingerprint: str
    root_atoms: list[int] = field(default_factory=list)  # the anchor atoms in the combined query
    pattern_atoms: list[list[int]] = field(default_factory=list)  # pattern index -> its anchor atoms
    # pattern index -> its anchor atoms grouped by import checks (a group's atoms share their matches)
    pattern_groups: list[list[list[int]]] = field(default_factory=list)

    # A pack goes to another process (a scan context pickled for a worker) without its tree-sitter Query,
    # which does not pickle; the receiver compiles the same combined query again (rules/query.py made it
    # from these anchors' texts, in this order).
    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "query": None}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        if self.pattern_atoms:
            self.query = compile_query("\n".join(self.atoms[atoms[0]].query for atoms in self.pattern_atoms))


# ---- the evaluation plan: a rule object's checks as typed steps, in order --------------------------
# Built once per compiled rule object (build_pack); engine/evaluate.py runs them. A filter step passes or
# rejects the node with the environment it is given (at most one environment out); the others may give
# several environments (an atom matching in two ways, a relation holding at two nodes).

class Step:
    __slots__ = ()
    FILTER: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class KindStep(Step):
    FILTER: ClassVar[bool] = True
    kind: str


@dataclass(frozen=True, slots=True)
class ScopeStep(Step):
    FILTER: ClassVar[bool] = True
    scope: str  # "function" | "declaration"


@dataclass(frozen=True, slots=True)
class SameStep(Step):
    FILTER: ClassVar[bool] = True
    name: str


@dataclass(frozen=True, slots=True)
class IsStep(Step):
    FILTER: ClassVar[bool] = True
    name: str


@dataclass(frozen=True, slots=True)
class AtomStep(Step):
    atom: int


@dataclass(frozen=True, slots=True)
class RegexStep(Step):
    FILTER: ClassVar[bool] = True
    regex: Regex


@dataclass(frozen=True, slots=True)
class MatchesStep(Step):
    rule: CNode


@dataclass(frozen=True, slots=True)
class RelationStep(Step):
    name: str  # inside | has | follows | precedes
    relation: CRelation


@dataclass(frozen=True, slots=True)
class ModelStep(Step):
    query: ModelQuery


@dataclass(frozen=True, slots=True)
class CallsStep(Step):
    FILTER: ClassVar[bool] = True
    rule: CNode


@dataclass(frozen=True, slots=True)
class AllStep(Step):
    items: list[CNode]


@dataclass(frozen=True, slots=True)
class AnyStep(Step):
    branches: list[CNode]


@dataclass(frozen=True, slots=True)
class NotStep(Step):
    FILTER: ClassVar[bool] = True
    rule: CNode


@dataclass(frozen=True, slots=True)
class AsStep(Step):
    FILTER: ClassVar[bool] = True
    name: str


def plan(rule: CNode) -> tuple[Step, ...]:
    """The checks of one rule object in the order the evaluator runs them (docs/rule-language.md,
    "Composition and metavariables"): cheap filters first, then what binds, `as` last."""
    steps: list[Step] = []
    if rule.kind is not None:
        steps.append(KindStep(rule.kind))
    if rule.scope is not None:
        steps.append(ScopeStep(rule.scope))
    if rule.same_as is not None:
        steps.append(SameStep(rule.same_as))
    if rule.same_node is not None:
        steps.append(IsStep(rule.same_node))
    steps.extend(AtomStep(atom) for atom in rule.atoms)
    if rule.regex is not None:
        steps.append(RegexStep(rule.regex))
    if rule.matches is not None:
        steps.append(MatchesStep(rule.matches))
    steps.extend(RelationStep(name, relation) for name, relation in rule.relations)
    if rule.model is not None:
        steps.append(ModelStep(rule.model))
    if rule.calls is not None:
        steps.append(CallsStep(rule.calls))
    if rule.all is not None:
        steps.append(AllStep(rule.all))
    if rule.any is not None:
        steps.append(AnyStep(rule.any))
    if rule.not_ is not None:
        steps.append(NotStep(rule.not_))
    if rule.as_ is not None:
        steps.append(AsStep(rule.as_))
    return tuple(steps)


def required_tokens(root: CNode, tokens_of: Callable[[CNode], list[frozenset[bytes]]]) -> list[frozenset[bytes]]:
    """Token sets that ``tokens_of`` asks of the checks every match of ``root`` passes (the node itself,
    items of `all`, `matches`; for `any`, the sets every branch requires)."""
    out: list[frozenset[bytes]] = []
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        out.extend(tokens_of(node))
        if node.matches is not None:
            stack.append(node.matches)
        stack.extend(node.all or [])
        if node.any:
            branch_sets = [set(required_tokens(branch, tokens_of)) for branch in node.any]
            out.extend(set.intersection(*branch_sets))
    return out


def required_callee_tokens(root: CNode) -> list[frozenset[bytes]]:
    """Token sets of the `calls:` checks that every match of ``root`` passes: the callee's file, this one
    or a sibling, holds each set."""
    return required_tokens(root, lambda node: [frozenset(node.calls.tokens)] if node.calls and node.calls.tokens
                           else [])


def required_package_tokens(root: CNode) -> list[frozenset[bytes]]:
    """Byte strings some file of the package must hold for the `model:` facts every match of ``root``
    passes: lets the worker skip files of packages that cannot match."""
    return required_tokens(root, lambda node: facts.package_tokens(node.model) if node.model else [])


def reads_package(root: CNode) -> bool:
    """Does a rule look beyond its file (`calls:` or `model:` anywhere in it)? Its results then depend on
    the other files of the package, and the scan cache checks what they read of them (gopackage/reads.py)."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.calls is not None or node.model is not None:
            return True
        stack.extend(relation.rule for _, relation in node.relations)
        stack.extend(relation.stop_by for _, relation in node.relations if isinstance(relation.stop_by, CNode))
        stack.extend(node.all or [])
        stack.extend(node.any or [])
        stack.extend(child for child in (node.matches, node.not_) if child is not None)
    return False


def rule_reads_package(rule: CompiledRule) -> bool:
    """`reads_package` for the rule or any of its fixes' `where` conditions."""
    return reads_package(rule.root) or any(f.where is not None and reads_package(f.where) for f in rule.output.fixes)


def mentions(rule: CNode) -> tuple[str, ...]:
    """Every metavariable the evaluation of ``rule`` can read from its environment, sorted: atoms'
    metavariables, same-text (`$X` alone) and `as` names, through matches/relations/all/any/not (not
    `calls:` or `stopBy` rules, which start from fresh bindings)."""
    names: set[str] = set()
    stack, seen = [rule], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        names |= node.binds | node.model_reads
        if node.same_as is not None:
            names.add(node.same_as)
        if node.same_node is not None:
            names.add(node.same_node)
        if node.as_ is not None:
            names.add(node.as_)
        stack.extend(relation.rule for _, relation in node.relations)
        stack.extend(node.all or [])
        stack.extend(node.any or [])
        for child in (node.matches, node.not_):
            if child is not None:
                stack.append(child)
    return tuple(sorted(names))


def rule_roots(rule: CompiledRule) -> list[CNode]:
    """The rule object and its fixes' `where` conditions: every compiled rule object is reachable from them."""
    return [rule.root, *(fix.where for fix in rule.output.fixes if fix.where is not None)]


def rule_nodes(*roots: CNode) -> list[CNode]:
    """Every compiled rule object reachable from ``roots``, once (a util may be used several times)."""
    found: list[CNode] = []
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        children = [node.matches, node.not_, node.calls, *(node.all or []), *(node.any or [])]
        for _, relation in node.relations:
            children.append(relation.rule)
            if not isinstance(relation.stop_by, str):
                children.append(relation.stop_by)
        stack.extend(child for child in children if child is not None)
    return found


def pack_classes() -> list[type]:
    """Every class a pickled RulePack holds (the loader lets unpickling build these and nothing else, besides
    rule metadata and compiled regexes): the compiled types, the steps, and each `model:` fact's options."""
    return [Atom, CRelation, CNode, CFix, RuleOutput, CompiledRule, RulePack, *Step.__subclasses__(),
            *(fact.spec for fact in facts.FACTS)]


def identities(rule: CNode) -> frozenset[str]:
    """The metavariables that `is:` reads somewhere in ``rule`` (through the same children as `mentions`):
    two bindings of one of them with the same text but at different nodes give different answers."""
    names: set[str] = set()
    stack, seen = [rule], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.same_node is not None:
            names.add(node.same_node)
        stack.extend(relation.rule for _, relation in node.relations)
        stack.extend(node.all or [])
        stack.extend(node.any or [])
        for child in (node.matches, node.not_):
            if child is not None:
                stack.append(child)
    return frozenset(names)
