"""A local set from a function literal's parameter is the argument the called function hands that parameter.

`F(func(done <-chan struct{}) { seen = done }, stop)` with `func F(wait func(<-chan struct{}), done <-chan
struct{}) { wait(done) }`: F calls the literal with its own parameter `done`, which is the caller's `stop`, so
after the call the enclosing local `seen` is `stop` (when F calls the literal at all). What each function hands
its function-valued parameters is read from its calls of them (the call ops with callee ("@param", "<N>"),
which the call graph follows too: param_calls below), which enclosing locals a literal sets from its
parameters from FunctionSummary.param_stores. Only receive-only parameters
count (`done <-chan T` in the callee and in the literal): through them nobody can send on the channel or
close it, so the hand-over changes nothing about who can end a receive on it.
"""

from __future__ import annotations

from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import FunctionSummary, Ref


def param_calls(func: FunctionSummary) -> list[tuple[int, tuple[int, ...]]]:
    """The function's calls of its own function-valued parameters with its own parameters as arguments:
    `wait(done)` is (the position of `wait`, (the position of `done`,)); -1 for an argument that is not a
    parameter as written (a field of one, an expression)."""
    return [(int(op.callee[1]), tuple(_param_position(ref) for ref in op.args)) for op in func.ops
            if op.kind == "call" and op.callee is not None and op.callee[0] == "@param"]


def _param_position(ref: Ref | None) -> int:
    if ref is None or not ref.root.startswith("p") or ref.rest or not ref.text.isidentifier():
        return -1
    return int(ref.root[1:])


def param_aliases(model: PackageModel, index: int, name: str) -> list[tuple[int, int, int]]:
    """(function, position of the call, argument position) of each argument that the local ``name``, read
    in function ``index``, stands for through a literal's parameter (same top-level function, by name)."""
    top = model.top_level(index)
    path = model.functions[index].path
    found: list[tuple[int, int, int]] = []
    for literal in model.by_path.get(path, ()):
        func = model.functions[literal]
        if not func.is_literal or func.argument is None or model.top_level(literal) != top:
            continue
        for param, local in func.param_stores:
            if local != name:
                continue
            call_start, argument = func.argument
            outer = model.function_at(path, call_start, call_start + 1)
            if outer is None:
                continue
            for position, op in enumerate(model.functions[outer].ops):
                if op.kind != "call" or op.site.start != call_start:
                    continue
                for target in model.targets_of(outer, position):
                    callee = model.functions[target]
                    for called, args in param_calls(callee):
                        # both ends receive-only: neither the callee nor the literal can send on it or close it
                        if called == argument and param < len(args) and args[param] >= 0 and \
                                args[param] in callee.recv_only_params and param in func.recv_only_params and \
                                (outer, position, args[param]) not in found:
                            found.append((outer, position, args[param]))
    return found
