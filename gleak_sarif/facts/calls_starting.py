"""`calls-starting`: the node is a call of a package method that starts a goroutine (itself or further down)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.effect import Effect
from gleak_sarif.gopackage.extract_cancel import BACKGROUND
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import Site, norm


@dataclass(frozen=True, slots=True)
class CallsStarting:
    # the goroutine waits on a channel of the type that only another method closes
    stoppable: bool = False
    # the stop is a method of the type the called function returns (a value it made for the caller only)
    result_dropped: bool = False
    unstopped_on: str | None = field(default=None, metadata=reads("the value the method is called on"))
    via: str | None = field(default=None, metadata=binds("the `go` statement"))
    stop: str | None = field(default=None, metadata=binds("the stopping method's close"))


def _run(asker: Asker, spec: CallsStarting, env: Env) -> Iterator[Env]:
    if not asker.may_call_package(b"go "):
        return
    model = asker.model
    if asker.function is None or asker.op is None or asker.op.kind != "call":
        return
    for target in model.targets_of(asker.function, asker.position):
        starter = model.functions[target]
        for body, trace in model.starts_of(target).items():
            stops: dict[str, Site] = {}
            owner = starter.recv_type
            if spec.result_dropped:
                owner = starter.results[0] if starter.results and starter.fresh_result else None
            if spec.stoppable or spec.unstopped_on is not None or spec.result_dropped:
                if not owner:
                    continue
                waited = _waited(model, owner, body, trace)
                if _ends_by_itself(model, owner, body, trace):
                    continue  # the goroutine may leave its loop and end without any stop method
                if not _contexts_never_cancelled(asker, model, target, waited):
                    continue
                stops = _stop_methods(model, owner, (target, body), waited)
                if not stops:
                    continue
            if spec.unstopped_on is not None:
                receiver = env.get(spec.unstopped_on)
                if receiver is None or _stop_called(asker, norm(asker.ev.text(receiver)), set(stops)):
                    continue
            merged = asker.bind(env, spec.via, asker.evidence(" -> ".join(s.text for s in trace), trace[-1]))
            if merged is not None and stops:
                name = sorted(stops)[0]
                merged = asker.bind(merged, spec.stop, asker.evidence(f"{owner}.{name}", stops[name]))
            if merged is not None:
                yield merged
                return


def _waited(model: PackageModel, type_name: str, body: int, trace: tuple[Site, ...]) -> set[str]:
    """Identities of the channels of ``type_name`` the started goroutine waits on; a wait on one of the
    goroutine's parameters is read in the `go` statement's terms (`go t.watch(ctx)` with `ctx` the context
    whose cancel `t.cancel` holds)."""
    return {canon for canon, _ in _waits_on_type(model, type_name, body, trace)}


def _waits_on_type(model: PackageModel, type_name: str, body: int,
                   trace: tuple[Site, ...]) -> list[tuple[str, Effect]]:
    """The goroutine's receives and ranges on channels of ``type_name``, each with its identity read in the
    `go` statement's terms where it waits on one of the goroutine's parameters."""
    found = model.op_at(trace[-1].path, trace[-1].start, trace[-1].end)
    go = model.functions[found[0]].ops[found[1]] if found is not None else None
    waits = []
    for effect in model.effects_of(body).values():
        if effect.kind not in ("recv", "range"):
            continue
        canon = effect.canon
        if canon is None and go is not None and go.kind == "go":
            mapped = model.map_ref(effect.ref, go)
            canon = mapped.canon if mapped is not None else None
        if canon and canon.startswith(type_name + "."):
            waits.append((canon, effect))
    return waits


def _ends_by_itself(model: PackageModel, type_name: str, body: int, trace: tuple[Site, ...]) -> bool:
    """Does the goroutine wait on the type's channels only in its own loops that all have a condition (`for
    s.it.Next() { select { ...; case <-closed: return } }`)? It ends when that condition turns false (a
    finite source read to its end), without the stop method: not a goroutine that only the stop ends. A
    wait reached only through a call with several possible callees (`s.it.Next()` on an interface one of
    whose implementations waits) is left out: which one runs is not known (it costs the finding where the
    source is the blocking implementation)."""
    waits = 0
    for _, effect in _waits_on_type(model, type_name, body, trace):
        if effect.dispatched:
            continue  # reached only through a call of several possible callees (an interface's Next): a guess
        site = effect.trace[-1]
        at = model.op_at(site.path, site.start, site.end)
        if len(effect.trace) != 1 or at is None or at[0] != body or not model.functions[at[0]].ops[at[1]].loop_ends:
            return False  # a wait through a call, or outside such loops
        waits += 1
    return waits > 0


def _contexts_never_cancelled(asker: Asker, model: PackageModel, starter: int, waited: set[str]) -> bool:
    """A waited context Done channel (a context whose cancel a field holds) closes only by that cancel when
    its parent is never cancelled: `context.Background()`/`TODO()`, or a parameter of the called method
    that this call passes one of those for. Any other parent may end the wait without a stop."""
    key = model.functions[starter].key
    for canon in waited:
        parents = model.context_parents(canon)
        # the pair the called method makes is the one its goroutine waits on; pairs made elsewhere belong to
        # other values of the type (they decide only when the method makes none)
        own = [(parent, function) for parent, function in parents if function == key]
        for parent, function in own or parents:
            if parent == "bg":
                continue
            if parent.startswith("p") and function == key and _argument_is_background(asker, int(parent[1:])):
                continue
            return False
    return True


def _argument_is_background(asker: Asker, position: int) -> bool:
    arguments = asker.node.child_by_field_name("arguments")
    args = [a for a in arguments.named_children if a.type != "comment"] if arguments is not None else []
    return position < len(args) and norm(asker.ev.text(args[position])) in BACKGROUND


def _stop_methods(model: PackageModel, type_name: str, skip: tuple[int, int], waited: set[str]) -> dict[str, Site]:
    """Methods of ``type_name``, other than the starter and the goroutine body (``skip``), that close a
    channel of the type the started goroutine waits on: name -> the close."""
    if not waited:
        return {}
    out: dict[str, Site] = {}
    for index in model.methods_of(type_name):
        func = model.functions[index]
        if index in skip:
            continue
        for effect in model.effects_of(index).values():
            if effect.kind == "close" and effect.canon in waited:
                out.setdefault(func.key[1], effect.trace[-1])
    return out


def _stop_called(asker: Asker, receiver: str, stops: set[str]) -> bool:
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
                    op.recv is not None and norm(op.recv.text) == receiver:
                return True
    return False


def _tokens(spec: CallsStarting) -> frozenset[bytes]:
    # a stop may close a channel or call a stored context.CancelFunc: `go ` is all every match needs
    return frozenset({b"go "})


FACT = Fact(
    key="calls-starting",
    spec=CallsStarting,
    usage="`calls-starting: {stoppable: true, unstopped-on: $X, result-dropped: true, via: NAME, stop: NAME}`",
    holds="the node is a call of a package method that starts a goroutine (itself or further down); "
          "`stoppable`: the goroutine waits on a channel field of the method's type that another method of the "
          "type closes (directly, through calls, or in a `sync.Once`); a context's `Done()` counts when a field "
          "of the type holds its cancel (a call of that field is the close, see \"Context cancel pairs\"; "
          "the context the goroutine is handed counts too), and only when its parent is never cancelled: "
          "`context.Background()`/`TODO()`, or a parameter of the called method this call passes one of those "
          "for; not when every such wait is the goroutine body's own operation inside loops that all have a "
          "condition (`for it.Next() {`, `for i := 0; i < n; i++ {`; not `for {` nor a `range`; waits reached only "
          "through a call of several possible callees left out): the goroutine may end by itself, a finite "
          "source read to its end; `unstopped-on`: and no such method is called on `$X` in the enclosing top-level function "
          "(deferred, in closures or not); `result-dropped`: the channel and the stopping method belong to the "
          "type the called function returns instead, a value it makes and hands out only as its result (no "
          "argument, store or capture of it in the function: gopackage/extract_fresh.py)",
    binds_doc="`via` the `go` statement, `stop` the closing method's `close`",
    run=_run,
    tokens=_tokens,
)
