"""`model:` in the rule language: questions about the package model, asked at one node.

Each fact filters (and may extend) the environment; see docs/rule-language.md ("The package model").
Bindings that point into the model (`via`, `other`, `stop`, `unblocker`) are `Evidence`: a text for the
message and a location (possibly in a sibling file) for related locations.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, cast

from tree_sitter import Node

from gleak_sarif.engine.evaluate import Env, Evidence, FileEvaluator
from gleak_sarif.engine.package_model import Effect, ModelFile, Op, PackageModel, PackageModels, Site

if TYPE_CHECKING:
    from gleak_sarif.rules.schema import ModelQuery

# what unblocks a goroutine blocked on each operation
PARTNERS = {"send": ("recv", "range"), "recv": ("send", "close"), "range": ("send", "close"),
            "wait": ("wake",)}
# what ends the wait for good: a `range` goes on after each send and ends only at close
ENDERS = {**PARTNERS, "range": ("close",)}


def _norm(text: str) -> str:
    return "".join(text.split())


def _mode_ok(wanted: str, mode: str) -> bool:
    return wanted == "any" or wanted == mode


class _Asker:
    """One node's questions. Locks held come from the file alone; the package model is built only when a
    fact needs callees (most calls run with no lock held, and then nothing else is asked)."""

    def __init__(self, evaluator: FileEvaluator, node: Node, models: PackageModels, file: ModelFile) -> None:
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

    def evidence(self, text: str, site: Site) -> Node:
        shown = os.path.join(os.path.dirname(self.ev.path), os.path.basename(site.path))
        # an Evidence stands in for a node in the environment (evaluate.py reads its text and place)
        return cast(Node, Evidence(text, shown, site.line, site.column, site.start, site.end, len(site.text)))

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
            if op.ref is not None and _norm(op.ref.text) == _norm(text):
                return op.ref.canon
        return None

    def may_call_package(self, token: bytes = b"", node: Node | None = None) -> bool:
        """Cheap: is this a call of a name some file of the package (holding ``token``) declares?"""
        node = self.node if node is None else node
        if node.type != "call_expression":
            return False
        function = node.child_by_field_name("function")
        if function is None:
            return False
        if function.type == "identifier":
            return self.models.declares(self.file, self.ev.text(function), False, token)
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


def matches(evaluator: FileEvaluator, models: PackageModels, file: ModelFile, query: ModelQuery, node: Node,
            env: Env) -> Iterator[Env]:
    if query.held is not None and not _in_locking_function(models, file, node):
        return  # most calls: no lock is taken in their function at all
    asker = _Asker(evaluator, node, models, file)
    if (query.held is not None or query.lock_order_inverted is not None) and asker.local_function is None:
        return  # (the other facts find no function in the package model either)
    envs = [env]
    for name, fact in _FACTS:  # in this order: `held` binds what the others compare with
        if getattr(query, name) is not None:
            envs = [out for e in envs for out in fact(asker, query, e)]
    yield from envs


def _passes(asker: _Asker, query: ModelQuery, env: Env) -> Iterator[Env]:
    """The call (or `go` statement) hands an argument to a package function that sends on it, receives
    from it, ranges over it or closes it (through its parameter, itself or further down)."""
    spec = query.passes
    assert spec is not None
    node = asker.node
    call = node
    if node.type == "go_statement":
        call = next((c for c in node.named_children if c.type == "call_expression"), node)
    if call.type != "call_expression":
        return
    function = call.child_by_field_name("function")
    if function is None or (function.type != "func_literal" and not asker.may_call_package(node=call)):
        return
    arguments = call.child_by_field_name("arguments")
    args = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
    bound = env.get(spec.arg)
    wanted = _norm(asker.ev.text(bound)) if bound is not None else None
    if not args or (wanted is not None and not any(_norm(asker.ev.text(arg)) == wanted for arg in args)):
        return  # cheap first: `go func() { ... }()` passes nothing; the model is built only when needed
    model = asker.model
    if asker.function is None or asker.op is None or asker.op.kind not in ("call", "go"):
        return
    for target in model.targets_of(asker.function, asker.position):
        for position, arg in enumerate(args):
            if wanted is not None and _norm(asker.ev.text(arg)) != wanted:
                continue
            effects = [e for e in model.param_ops(target, position) if spec.op == "any" or e.kind == spec.op]
            if spec.once and (len(effects) != 1 or effects[0].looped):
                continue
            for effect in effects:
                if spec.bare and not effect.bare:
                    continue
                merged = _bind(asker, env, spec.arg, arg)
                if merged is not None:
                    merged = _bind(asker, merged, spec.via, asker.evidence(asker.chain(effect), effect.trace[-1]))
                if merged is not None:
                    yield merged
                    return


Fact = Callable[[_Asker, "ModelQuery", "Env"], Iterator["Env"]]


def _in_locking_function(models: PackageModels, file: ModelFile, node: Node) -> bool:
    """Cheap: does a function around the node take a lock itself? (byte ranges from the one-file view)"""
    ranges = file.locking
    if ranges is None:
        local = models.file_model(file)
        ranges = file.locking = sorted((f.start, f.end) for f in local.functions
                                       if any(op.kind == "lock" for op in f.ops))
    start = node.start_byte
    position = bisect.bisect_right(ranges, (start, 1 << 62))
    return any(first <= start < end for first, end in ranges[:position])


def _bind(asker: _Asker, env: Env, name: str | None, value: Node) -> Env | None:
    if name is None:
        return env
    return asker.ev.unify(env, {name: value})


def _held(asker: _Asker, query: ModelQuery, env: Env) -> Iterator[Env]:
    spec = query.held
    assert spec is not None
    for lock in asker.held():
        if not _mode_ok(spec.mode, lock.mode):
            continue
        call = asker.own_node(lock.site, "call_expression")
        function = call.child_by_field_name("function") if call is not None else None
        operand = function.child_by_field_name("operand") if function is not None else None
        if call is None or operand is None:
            continue
        merged = _bind(asker, env, spec.lock, operand)
        if merged is not None:
            merged = _bind(asker, merged, spec.at, call)
        if merged is not None:
            yield merged


def _calls_locking(asker: _Asker, query: ModelQuery, env: Env) -> Iterator[Env]:
    spec = query.calls_locking
    assert spec is not None
    lock = env.get(spec.lock)
    if lock is None:
        return
    wanted = _norm(asker.ev.text(lock))
    for _, effect, text in asker.callee_effects(b"Lock()"):
        if effect.kind == "lock" and text is not None and _norm(text) == wanted and _mode_ok(spec.mode, effect.mode):
            merged = _bind(asker, env, spec.via, asker.evidence(asker.chain(effect), effect.trace[-1]))
            if merged is not None:
                yield merged
                return


def _calls_blocking(asker: _Asker, query: ModelQuery, env: Env) -> Iterator[Env]:
    spec = query.calls_blocking
    assert spec is not None
    lock_canon: str | None = None
    if spec.unblocker_holds is not None:
        lock = env.get(spec.unblocker_holds)
        if lock is None:
            return
        lock_canon = asker.canon_of_held(asker.ev.text(lock))
        if lock_canon is None:
            return
    model = asker.model
    for _, effect, _text in asker.callee_effects():
        if effect.kind not in PARTNERS or not effect.bare or effect.canon is None:
            continue
        if lock_canon is not None and lock_canon in effect.released:
            continue  # the callee lets go of the lock before it blocks
        if effect.kind in ("send", "recv") and effect.canon in model.buffered:
            continue  # a buffered channel: its partner is not needed to go on (not proven, trusted)
        if effect.kind in ("send", "recv", "range") and not model.is_channel(effect.canon):
            continue
        # the functions on the way down to the blocking operation: their own later operations run on this
        # goroutine, after the block, so they cannot end it
        chain = {found for site in effect.trace
                 if (found := model.function_at(site.path, site.start, site.end)) is not None}
        partner = _partner(model, effect, lock_canon, chain)
        if spec.unblocker_holds is not None and partner is None:
            continue
        merged = _bind(asker, env, spec.via, asker.evidence(asker.chain(effect), effect.trace[-1]))
        if merged is not None and partner is not None:
            index, other = partner
            text = f"{asker.function_name(index)}: {other.trace[-1].text}"
            merged = _bind(asker, merged, spec.unblocker, asker.evidence(text, other.trace[0]))
        if merged is not None:
            yield merged
            return


def _partner(model: PackageModel, blocked: Effect, lock_canon: str | None,
             chain: frozenset[int] | set[int] = frozenset()) -> tuple[int, Effect] | None:
    """A function of the package that does the unblocking operation after taking ``lock_canon``. With a
    lock, every function outside the blocked call ``chain`` that ends the wait must take the lock first:
    one that does not (a pool's Release refilling the slots a locked Wait waits for) can always end it,
    so nothing is returned then (issue 16: GL410 named the blocked function's own later send as its
    partner)."""
    kinds = PARTNERS[blocked.kind]
    assert blocked.canon is not None
    # the partner names the same field: only files that mention it are read
    token = ("." + blocked.canon.rsplit(".", 1)[-1]).encode()
    found: tuple[int, Effect] | None = None
    for index in model.functions_in_files_with(token):
        for effect in model.effects_of(index).values():
            if effect.kind not in kinds or effect.canon != blocked.canon:
                continue
            if lock_canon is None:
                return index, effect
            if lock_canon not in effect.before:
                if effect.kind in ENDERS[blocked.kind] and index not in chain:
                    return None
                continue
            if found is None:
                found = index, effect
    return found


def _calls_starting(asker: _Asker, query: ModelQuery, env: Env) -> Iterator[Env]:
    spec = query.calls_starting
    assert spec is not None
    if not asker.may_call_package(b"go "):
        return
    model = asker.model
    if asker.function is None or asker.op is None or asker.op.kind != "call":
        return
    for target in model.targets_of(asker.function, asker.position):
        starter = model.functions[target]
        for body, trace in model.starts_of(target).items():
            stops: dict[str, Site] = {}
            if spec.stoppable or spec.unstopped_on is not None:
                stops = _stop_methods(model, target, body)
                if not stops:
                    continue
            if spec.unstopped_on is not None:
                receiver = env.get(spec.unstopped_on)
                if receiver is None or _stop_called(asker, _norm(asker.ev.text(receiver)), set(stops)):
                    continue
            merged = _bind(asker, env, spec.via, asker.evidence(" -> ".join(s.text for s in trace), trace[-1]))
            if merged is not None and stops:
                name = sorted(stops)[0]
                merged = _bind(asker, merged, spec.stop, asker.evidence(f"{starter.recv_type}.{name}", stops[name]))
            if merged is not None:
                yield merged
                return


def _stop_methods(model: PackageModel, starter: int, body: int) -> dict[str, Site]:
    """Methods of the starter's type, other than the starter, that close a channel field of the type the
    started goroutine waits on: name -> the close."""
    type_name = model.functions[starter].recv_type
    if not type_name:
        return {}
    prefix = type_name + "."
    waited = {e.canon for e in model.effects_of(body).values()
              if e.kind in ("recv", "range") and e.canon and e.canon.startswith(prefix)}
    if not waited:
        return {}
    out: dict[str, Site] = {}
    for index in model.methods_of(type_name):
        func = model.functions[index]
        if index in (starter, body):
            continue
        for effect in model.effects_of(index).values():
            if effect.kind == "close" and effect.canon in waited:
                out.setdefault(func.key[1], effect.trace[-1])
    return out


def _stop_called(asker: _Asker, receiver: str, stops: set[str]) -> bool:
    """Is a stopping method called on ``receiver`` in the top-level declaration around the node?"""
    model = asker.model
    assert asker.function is not None
    outer = model.functions[asker.function]
    for index in model.by_path.get(outer.path, ()):
        func = model.functions[index]
        if not func.is_literal and func.start <= outer.start and outer.end <= func.end:
            outer = func
    for index in model.by_path.get(outer.path, ()):
        func = model.functions[index]
        if not (outer.start <= func.start and func.end <= outer.end):
            continue
        for op in func.ops:
            if op.kind in ("call", "go") and op.callee is not None and op.callee[1] in stops and \
                    op.recv is not None and _norm(op.recv.text) == receiver:
                return True
    return False


def _lock_order(asker: _Asker, query: ModelQuery, env: Env) -> Iterator[Env]:
    spec = query.lock_order_inverted
    assert spec is not None
    held_node = env.get(spec.held)
    if held_node is None or asker.local_function is None:
        return
    held_text = _norm(asker.ev.text(held_node))
    held_ops = [op for op in asker.package_held() if op.ref is not None and _norm(op.ref.text) == held_text]
    if not held_ops or held_ops[0].ref is None or not held_ops[0].ref.canon:
        return
    outer = held_ops[0].ref.canon
    outer_mode = held_ops[0].mode
    held_here = frozenset(op.ref.canon for op in asker.package_held() if op.ref is not None and op.ref.canon)
    inner: list[tuple[str, str]] = []
    model = asker.model
    op = asker.op
    if op is not None and op.kind == "lock" and op.ref is not None and op.ref.canon:
        inner.append((op.ref.canon, op.mode))
    elif op is not None and op.kind == "call":
        for _, effect, _text in asker.callee_effects(b"Lock()"):
            if effect.kind == "lock" and effect.canon and outer not in effect.released:
                inner.append((effect.canon, effect.mode))
    for canon, mode in inner:
        if canon == outer:
            continue
        for edge in model.order_edges(canon, outer):
            if "write" not in (outer_mode, mode, edge.outer_mode, edge.inner_mode):
                continue  # readers only: they do not exclude each other
            if (held_here & edge.held) - {canon, outer}:
                continue  # both paths hold a third lock first: it lets one of them in at a time
            owner, name = edge.function
            where = f"{owner}.{name}" if owner and not name.startswith("func@") else name
            if name.startswith("func@"):
                where = "a function literal"
            text = f"{where} takes {canon.removeprefix('pkg.')} then {outer.removeprefix('pkg.')}"
            merged = _bind(asker, env, spec.other, asker.evidence(text, edge.trace[0]))
            if merged is not None:
                yield merged
                return


def _buffered(asker: _Asker, query: ModelQuery, env: Env) -> Iterator[Env]:
    """The send or receive at this node is on the bound channel, and the package makes that channel (by
    its identity: a field of a type, a package variable) with a buffer somewhere: in a constructor of
    another file (`&T{result: make(chan R, 1)}`), an assignment `x.f = make(chan R, n)`, ..."""
    spec = query.buffered
    assert spec is not None
    bound = env.get(spec.chan)
    if bound is None:
        return
    model = asker.model
    op = asker.op
    if op is None or op.kind not in ("send", "recv") or op.ref is None or op.ref.canon is None:
        return
    if op.ref.text == _norm(asker.ev.text(bound)) and model.is_buffered(op.ref.canon):
        yield env


_FACTS: tuple[tuple[str, Fact], ...] = (
    ("held", _held),
    ("calls_locking", _calls_locking),
    ("calls_blocking", _calls_blocking),
    ("calls_starting", _calls_starting),
    ("lock_order_inverted", _lock_order),
    ("passes", _passes),
    ("buffered", _buffered),
)
