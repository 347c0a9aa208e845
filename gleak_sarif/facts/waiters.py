"""`waiters`: who waits for the goroutine that runs the operation at the node (downstream of a leak)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gleak_sarif.facts.base import Asker, Env, Fact, binds, reads
from gleak_sarif.gopackage.summary import Evidence
from gleak_sarif.gopackage.waiters import waiters


@dataclass(frozen=True, slots=True)
class Waiters:
    wait: str | None = field(default=None, metadata=binds("where another function waits for that goroutine"))
    signal: str | None = field(default=None, metadata=binds("the goroutine's end signal it never reaches"))
    # `of`: the goroutine blocked at a place a fact bound before (each place of a several-place binding such
    # as lock-sites' `sites`: the next lockers of a mutex left locked), instead of the node's
    of: str | None = field(default=None, metadata=reads("the blocked operation(s), bound before"))


def _places(asker: Asker, spec: Waiters, env: Env) -> list[tuple[int, int]]:
    """(function, op position) of the operations whose goroutine is asked about."""
    model = asker.model
    if spec.of is None:
        if asker.function is None or asker.op is None:
            return []
        return [(asker.function, asker.position)]
    bound: object = env.get(spec.of)
    if bound is None:
        return []
    if isinstance(bound, Evidence):
        sites = [(e.site.path, e.site.start, e.site.end) for e in (bound, *bound.more)]
    else:
        node = env[spec.of]
        sites = [(asker.path, node.start_byte, node.end_byte)]
    return [found for site in sites if (found := model.op_at(*site)) is not None]


def _run(asker: Asker, spec: Waiters, env: Env) -> Iterator[Env]:
    """The node is an operation the package model records (a send, receive, lock, call, `Wait`...) in a
    goroutine body or a function one calls (up to 3 calls up); that goroutine signals its end after the
    operation or in a `defer` (`wg.Done()`, `close(done)`, a send; also in a called function), and another
    function waits for that signal (`wg.Wait()`, a bare `<-done`, `range done`): if the operation blocks for
    good, so does the waiter (gopackage/waiters.py)."""
    model = asker.model
    for function, position in _places(asker, spec, env):
        for found in waiters(model, function, position):
            merged = asker.bind(env, spec.wait, asker.evidence(found.wait.text, found.wait))
            if merged is not None:
                merged = asker.bind(merged, spec.signal, asker.evidence(found.signal.text, found.signal))
            if merged is not None:
                yield merged
                return


FACT = Fact(
    key="waiters",
    spec=Waiters,
    usage="`waiters: {wait: NAME, signal: NAME, of: $X}`",
    holds="the node is an operation of a goroutine body (a `go` statement's function, or a function it calls, "
          "up to 3 calls up, or a function literal passed to a package function that runs it in a `go`: then "
          "its deferred signals only) that signals its end after the operation or in a `defer` (`wg.Done()`, "
          "`close(done)`, a send, also in a callee or a deferred function literal; or a signal that a function on "
          "the way to the operation gives after it, such as `close(s.stopped)` after a stuck `s.drain.Wait()`), "
          "and another function waits for that signal (`wg.Wait()`, "
          "a bare `<-done`, `range done`; the same field, also through an accessor `<-s.Stopped()` that returns "
          "it, or the same local of the top-level function, or the "
          "argument passed to the goroutine): when the operation blocks for good, the waiter does too. Use it "
          "for a related location a finding may lack: `any: [{model: {waiters: {wait: W}}}, {regex: \"\"}]` as "
          "the last item of `all`. `of: $X`: the goroutine blocked at `$X` (bound before; each place of a "
          "binding that stands for several, such as `lock-sites`' `sites`) instead of the node's",
    binds_doc="`wait` the waiting operation, `signal` the end signal the goroutine never reaches",
    run=_run,
)
