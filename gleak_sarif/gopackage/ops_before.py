"""For each operation of one function, in source order, the locks it took or released earlier (the package
model's straight-line views; gopackage/model.py keeps one list per function)."""

from __future__ import annotations

from gleak_sarif.gopackage.summary import Op


def unlocked_before(ops: list[Op]) -> list[frozenset[str]]:
    """For each op, the texts of the locks the function released earlier in source order."""
    out: list[frozenset[str]] = []
    released: set[str] = set()
    for op in ops:
        out.append(frozenset(released))
        if op.kind == "unlock" and not op.deferred and op.ref is not None:
            released.add(op.ref.text)
    return out


def released_before(ops: list[Op]) -> list[frozenset[str]]:
    """For each op, the identities of the locks the function released earlier in source order."""
    out: list[frozenset[str]] = []
    released: set[str] = set()
    for op in ops:
        out.append(frozenset(released))
        if op.kind == "unlock" and not op.deferred and op.ref is not None and op.ref.canon:
            released.add(op.ref.canon)
    return out


def locked_before(ops: list[Op]) -> list[frozenset[str]]:
    """For each op, the identities of locks the function took earlier in source order."""
    out: list[frozenset[str]] = []
    taken: set[str] = set()
    for op in ops:
        out.append(frozenset(taken))
        if op.kind == "lock" and not op.deferred and op.ref is not None and op.ref.canon:
            taken.add(op.ref.canon)
    return out
