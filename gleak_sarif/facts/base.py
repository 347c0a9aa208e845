"""What a `model:` fact is made of (`Fact`), and the `Asker` that answers one node's questions.

A fact is one module of this package holding everything about it: its options (a frozen dataclass whose
fields are the YAML keys; `binds`/`reads` mark the metavariable ones), the docs row, the byte tokens the
package must hold for it to match (the worker's prefilter), a cheap precondition, and its evaluation. The
rule schema (rules/schema.py), the compile-time checks (rules/compiler.py) and the rule-language docs are
derived from it; gleak_sarif/facts/__init__.py lists the facts in evaluation order.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from tree_sitter import Node

from gleak_sarif.gopackage.effect import Effect
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.store import ModelFile, PackageModels
from gleak_sarif.gopackage.summary import Evidence, Op, Site, norm
from gleak_sarif.gosource import Imports

Env = dict[str, Node]
Spec = TypeVar("Spec")


class FileView(Protocol):
    """The evaluator as facts see it (gleak_sarif.engine.evaluate.FileEvaluator)."""

    path: str
    root: Node
    source: bytes
    imports: Imports

    def text(self, node: Node) -> str: ...

    def unify(self, env: Env, binds: Env) -> Env | None: ...


def binds(doc: str = "") -> dict[str, str]:
    """Field metadata: the field names a metavariable the fact binds (or compares with when bound)."""
    return {"metavar": "binds", "doc": doc}


def reads(doc: str = "") -> dict[str, str]:
    """Field metadata: the field names a metavariable that must be bound before (the fact compares with it)."""
    return {"metavar": "reads", "doc": doc}


@dataclass(frozen=True)
class Fact(Generic[Spec]):
    key: str  # the YAML key under `model:`
    spec: type[Spec]  # its options: a frozen dataclass; field `a_b` is the key `a-b`
    usage: str  # docs: how it is written
    holds: str  # docs: when it holds
    binds_doc: str  # docs: what it binds
    run: Callable[[Asker, Spec, Env], Iterator[Env]]
    shorthand: str | None = None  # `key: $X` is short for `key: {<shorthand>: $X}`
    needs: Callable[[Asker], bool] | None = None  # cheap; checked for every fact of a query before any runs
    tokens: Callable[[Spec], frozenset[bytes]] | None = None  # some file of the package holds all of them
    file_tokens: frozenset[bytes] = frozenset()  # the asking file holds all of them
    # when the rule is loaded: (the option's key, what is wrong) for each bad option value (rules/compiler.py)
    check: Callable[[Spec], list[tuple[str, str]]] | None = None

    @property
    def attr(self) -> str:
        return self.key.replace("-", "_")

    def metavariables(self, spec: object) -> tuple[set[str], set[str]]:
        """(metavariables ``spec`` compares with, metavariables it binds)."""
        found: dict[str, set[str]] = {"reads": set(), "binds": set()}
        for item in dataclasses.fields(cast(Any, self.spec)):
            role = item.metadata.get("metavar")
            value = getattr(spec, item.name)
            if role is not None and value:
                found[role].add(value)
        return found["reads"], found["binds"]


def mode_ok(wanted: str, mode: str) -> bool:
    return wanted == "any" or wanted == mode


class Asker:
    """One node's questions. Locks held come from the file alone; the package model is built only when a
    fact needs callees (most calls run with no lock held, and then nothing else is asked)."""

    def __init__(self, evaluator: FileView, node: Node, models: PackageModels, file: ModelFile) -> None:
        self.ev = evaluator
        self.node = node
        self.models = models
        self.file = file
        self.path = file.path
        self._local: PackageModel | None = None
        self._local_function: int | None = None
        self._model: PackageModel | None = None
        self.function: int | None = None
        self.position = -1
        self.op: Op | None = None

    @property
    def local(self) -> PackageModel:
        """The one-file lock view (built on first use: `passes` and `calls-*` need the package model only)."""
        if self._local is None:
            self._local = self.models.file_model(self.file)
            self._local_function = self._local.function_at(self.path, self.node.start_byte, self.node.end_byte)
        return self._local

    @property
    def local_function(self) -> int | None:
        _ = self.local
        return self._local_function

    @property
    def model(self) -> PackageModel:
        if self._model is None:
            self._model = self.models.model(self.file)
            node = self.node
            self.function = self._model.function_at(self.path, node.start_byte, node.end_byte)
            found = self._model.op_at(self.path, node.start_byte, node.end_byte)
            if found is not None and found[0] == self.function:
                self.position = found[1]
                self.op = self._model.functions[found[0]].ops[found[1]]
        return self._model

    def in_locking_function(self) -> bool:
        """Cheap: does a function around the node take a lock itself? (byte ranges from the one-file view)"""
        return self.models.in_locking_function(self.file, self.node.start_byte)

    def evidence(self, text: str, site: Site) -> Node:
        shown = os.path.join(os.path.dirname(self.ev.path), os.path.basename(site.path))
        # an Evidence stands in for a node in the environment (evaluate.py reads its text and place)
        return cast(Node, Evidence(text, site, shown))

    def with_more(self, first: Node, more: list[Node]) -> Node:
        """One binding standing for several places (Evidence.more): each gets a related location."""
        value: object = first
        assert isinstance(value, Evidence)
        return cast(Node, dataclasses.replace(value, more=tuple(cast(list[Evidence], more))))

    def bind(self, env: Env, name: str | None, value: Node) -> Env | None:
        if name is None:
            return env
        return self.ev.unify(env, {name: value})

    def own_node(self, site: Site, kind: str) -> Node | None:
        node: Node | None = self.ev.root.descendant_for_byte_range(site.start, site.end)
        while node is not None and node.type != kind:
            node = node.parent
        return node

    def held(self) -> list[Op]:
        if self.local_function is None:
            return []
        return self.local.held_at(self.local_function, self.node.start_byte, self.node.end_byte)

    def package_held(self) -> list[Op]:
        """Locks held here, seen in the package model (identities resolved against the whole package)."""
        model = self.model
        if self.function is None:
            return []
        return model.held_at(self.function, self.node.start_byte, self.node.end_byte)

    def canon_of_held(self, text: str) -> str | None:
        for op in self.package_held():
            if op.ref is not None and norm(op.ref.text) == norm(text):
                return op.ref.canon
        return None

    def held_canon_of(self, env: Env, name: str) -> str | None:
        """The canon of the lock bound to ``name``, when the function holds it; None when unbound or not held."""
        bound = env.get(name)
        return None if bound is None else self.canon_of_held(self.ev.text(bound))

    def may_call_package(self, token: bytes = b"", node: Node | None = None) -> bool:
        """Cheap: is this a call of a name some file of the package (holding ``token``) declares?"""
        node = self.node if node is None else node
        if node.type != "call_expression":
            return False
        function = node.child_by_field_name("function")
        if function is None:
            return False
        if function.type == "identifier":
            name_text = self.ev.text(function)
            return self.models.declares(self.file, name_text, False, token) or _own_parameter(node, name_text,
                                                                                              self.ev.text)
        name = function.child_by_field_name("field") if function.type == "selector_expression" else None
        return name is not None and self.models.declares(self.file, self.ev.text(name), True, token)

    def callee_effects(self, token: bytes = b"") -> list[tuple[int, Effect, str | None]]:
        """(callee, effect, the effect's reference text in this call's terms) for a plain call here."""
        if not self.may_call_package(token):
            return []
        _ = self.model
        if self.function is None or self.op is None or self.op.kind != "call" or self.op.deferred:
            return []
        return [(target, effect, mapped.text if mapped is not None else None)
                for target, effect, mapped in self.model.callee_effects(self.function, self.position)]

    def chain(self, effect: Effect) -> str:
        return " -> ".join(site.text for site in effect.trace)

    def function_name(self, index: int) -> str:
        owner, name = self.model.functions[index].key
        if name.startswith("func@"):
            return "a function literal"
        return f"{owner}.{name}" if owner else name


def _own_parameter(node: Node, name: str, text: Callable[[Node], str]) -> bool:
    """Is ``name`` a parameter of the function (or literal) the node is written in? A call of it runs the
    function values the callers pass (gopackage/model.py, PackageModel.targets_of)."""
    current = node.parent
    while current is not None and current.type not in ("function_declaration", "method_declaration", "func_literal"):
        current = current.parent
    parameters = current.child_by_field_name("parameters") if current is not None else None
    if parameters is None:
        return False
    for declaration in parameters.named_children:
        for index, child in enumerate(declaration.children):
            if declaration.field_name_for_child(index) == "name" and text(child) == name:
                return True
    return False
