"""_held_per_op in one pass gives what the first (cubic) version gave: every earlier lock against every
earlier unlock for every operation. The first version is kept here as the oracle."""

from __future__ import annotations

import random
import time

from gleak_sarif.gopackage.model import _held_per_op
from gleak_sarif.gopackage.summary import Op, Ref, Site


def _oracle(ops: list[Op]) -> list[list[Op]]:
    out: list[list[Op]] = []
    locks: list[Op] = []
    unlocks: list[Op] = []
    for op in ops:
        start = op.site.start
        held = []
        for lock in locks:
            if not (lock.block[0] <= start < lock.block[1]):
                continue
            released = False
            for unlock in unlocks:
                if unlock.ref is None or lock.ref is None or unlock.ref.text != lock.ref.text:
                    continue
                if unlock.site.start < lock.site.start:
                    continue
                if unlock.block[0] <= start < unlock.block[1] or not unlock.exits:
                    released = True
                    break
            if not released:
                held.append(lock)
        out.append(held)
        if op.kind == "lock" and not op.deferred and op.block != (0, 0) and op.ref is not None:
            locks.append(op)
        elif op.kind == "unlock" and not op.deferred and op.ref is not None:
            unlocks.append(op)
    return out


def _random_ops(rng: random.Random, count: int) -> list[Op]:
    # statement lists as nested intervals over [0, 10 * count); each op sits in one of those enclosing it
    blocks = [(0, 10 * count)]
    for _ in range(count // 3):
        a, b = sorted(rng.sample(range(10 * count), 2))
        blocks.append((a, b + 1))
    ops = []
    for position in sorted(rng.sample(range(10 * count), count)):
        around = [b for b in blocks if b[0] <= position < b[1]]
        kind = rng.choice(["lock", "unlock", "unlock", "call", "send"])
        text = rng.choice(["s.mu", "s.other", "mu"])
        ref = None if rng.random() < 0.05 else Ref("self", (text,), text, text)
        ops.append(Op(kind, Site("f.go", 1, 1, position, position + 5, "x"), ref=ref,
                      deferred=rng.random() < 0.1, block=rng.choice(around) if rng.random() < 0.95 else (0, 0),
                      exits=rng.random() < 0.4))
    return ops


def test_same_answers_as_the_cubic_version() -> None:
    rng = random.Random(20)
    for _ in range(600):
        ops = _random_ops(rng, rng.randint(0, 60))
        assert _held_per_op(ops) == _oracle(ops)


def test_linear_in_a_long_function() -> None:
    # 3,000 lines of lock / early return / unlock (a long handler): the cubic version took seconds here
    ops = []
    for i in range(1500):
        base = i * 100
        ref = Ref("g", ("mu",), "mu", "pkg.mu")
        ops.append(Op("lock", Site("f.go", 1, 1, base, base + 9, "mu.Lock()"), ref=ref, block=(0, 10**9)))
        ops.append(Op("unlock", Site("f.go", 1, 1, base + 20, base + 31, "mu.Unlock()"), ref=ref,
                      block=(base + 15, base + 40), exits=True))
        ops.append(Op("unlock", Site("f.go", 1, 1, base + 60, base + 71, "mu.Unlock()"), ref=ref,
                      block=(0, 10**9)))
    started = time.process_time()
    held = _held_per_op(ops)
    assert time.process_time() - started < 1.0
    assert held[1] == [ops[0]] and held[2] == [ops[0]] and held[3] == []
