"""Who starves when a goroutine is stuck: the senders on a channel only that goroutine's loop receives from.

A loop that serves several channels (`select { case <-tick: ... case <-s.reset: ... }`) stops serving all
of them when one operation of its body blocks for good. A sender on one of those channels elsewhere in the
package (`s.reset <- struct{}{}`) then blocks too, once the buffer is full: it is a victim of the stuck loop,
not a bug of its own. Root rules name these senders as related locations, as they name the waiters of the
stuck goroutine (gopackage/waiters.py).

The channel must be a field whose every receive in the package is in the stuck function, in the loop around
the stuck operation or after it, and that no other package can receive from (channel_field's outside_recv).
"""

from __future__ import annotations

from gleak_sarif.gopackage.channels import channel_field, field_ref, resolve
from gleak_sarif.gopackage.model import PackageModel
from gleak_sarif.gopackage.summary import Site


def starved(model: PackageModel, index: int, position: int) -> list[tuple[Site, Site]]:
    """(the stuck function's receive, a bare send elsewhere that only it serves) for the operation at
    ``position`` of function ``index``."""
    ops = model.functions[index].ops
    stuck = ops[position]
    found: list[tuple[Site, Site]] = []
    seen: set[tuple[str | None, str]] = set()
    for at, op in enumerate(ops):
        if op.kind not in ("recv", "range") or at == position or op.deferred:
            continue
        if at < position and (stuck.loop is None or op.loop != stuck.loop):
            continue  # received before the stuck operation, and not again
        record = field_ref(model, op)
        if record is None or record[0].endswith("()"):
            continue
        owners = resolve(model, *record)
        if len(owners) != 1 or owners[0][0] is None or owners[0] in seen:
            continue  # the field of a type not known: another type's field of that name may be meant
        seen.add(owners[0])
        channel = channel_field(model, *owners[0])
        if not channel.declared or channel.outside_recv or channel.escape is not None:
            continue
        receives = [use for use in channel.uses if use.kind in ("recv", "range")]
        if any(use.function != index for use in receives):
            continue  # another function may still receive
        found.extend((op.site, use.site) for use in channel.uses
                     if use.kind == "send" and use.bare and use.function != index)
    return found
