"""PackageModel: the functions of one package, loaded on demand, with their effects through calls."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Sequence

from gleak_sarif.gopackage import dispatch, held_after
from gleak_sarif.gopackage.channels import ChannelField, ChannelIndex
from gleak_sarif.gopackage.effect import Effect, OrderEdge, Trace, through_guard
from gleak_sarif.gopackage.index import PackageIndex
from gleak_sarif.gopackage.ops_before import locked_before, released_before, unlocked_before
from gleak_sarif.gopackage.summary import (
    FileSummary,
    FunctionSummary,
    Op,
    Ref,
    Site,
    decode_canon,
    element_type,
    lock_token,
    named_type,
)

MAX_DEPTH = 12  # call chains deeper than this are cut

class PackageModel:
    """Functions of one package, loaded on demand.

    A file's summary is read (parsed) only when a question needs one of its functions, types or
    operations: the function a call resolves to, a constructor's result type, a struct's field types, the
    methods of a type, or the files holding a token (every file that locks, for lock order). Effects are
    computed depth first with a memo; a call cycle sees what is known so far (documented limit)."""

    def __init__(self, files: list[FileSummary], *, index: PackageIndex | None = None,
                 loader: Callable[[str], FileSummary | None] | None = None) -> None:
        self.index = index
        self.loader = loader
        # runs the adding of a loaded sibling's summary (PackageModels times it: the package's work, which
        # stops the asking file's clock, engine/worker.PackageClock)
        self.build: Callable[[Callable[[], None]], None] | None = None
        self.loaded: set[str] = set()
        self.types: dict[str, dict[str, str]] = {}
        self.globals: set[str] = set(index.globals) if index is not None else set()
        self.buffered: set[str] = set()
        self.interfaces: dict[str, list[str]] = {}
        self.func_types: set[str] = set()
        self.func_values: dict[str, list[str]] = {}
        # (Cond identity, mutex path from the same owner, mode): `x.c = sync.NewCond(&x.mu)` (cond_lock)
        self.cond_locks: list[tuple[str, str, str]] = []
        self._conds_read = False
        self.dispatch_memo: dict[tuple[str, str], list[int]] = {}
        self.value_calls: set[tuple[int, int]] = set()  # calls resolved through a function-valued field
        self._value_call = False
        # calls resolved by dispatch (interface, function-valued field) to more than one function
        self.multi_calls: set[tuple[int, int]] = set()
        self._dispatch_call = False
        self.functions: list[FunctionSummary] = []
        self.digests: dict[str, bytes] = {}
        self.by_key: dict[tuple[str, str], list[int]] = {}
        self.by_path: dict[str, list[int]] = {}
        self.path_starts: dict[str, list[int]] = {}
        self.ops_at: dict[tuple[str, int, int], tuple[int, int]] = {}  # (function, position)
        self.held: list[list[list[Op]]] = []
        self.locked_before: list[list[frozenset[str]]] = []
        self.unlocked_before: list[list[frozenset[str]]] = []
        self.released_before: list[list[frozenset[str]]] = []
        self.targets: list[dict[int, list[int]]] = []  # per function, per op position: resolved callees (lazy)
        self._param_ops: dict[tuple[int, int], list[Effect]] = {}
        self.effects: list[dict[tuple[object, ...], Effect]] = []
        self.starts: list[dict[int, Trace]] = []
        self.state: list[int] = []  # 0 not computed, 1 in progress, 2 done
        self._edges: dict[tuple[str, str], list[OrderEdge]] | None = None
        self._identities: dict[str, str] = {}
        self._placeholder_depth = 0
        self._function_edges: dict[int, list[OrderEdge]] = {}
        self._pending: list[FileSummary] = []
        self.files: dict[str, FileSummary] = {}  # the summaries loaded, by path
        self.channel_fields: dict[tuple[str | None, str], ChannelField] = {}  # channels.py's, by (owner, field)
        self.channel_index = ChannelIndex()  # their raw material, by field
        self.fact_memo: dict[tuple[object, ...], object] = {}  # facts' per-package answers (fact name first)
        self._functions_with: dict[tuple[bytes, ...], list[int]] = {}  # functions_in_files_with's answers
        self._cancel_pairs: dict[str, list[tuple[str, str, tuple[str, str]]]] = {}
        self._context_parents: dict[str, list[tuple[str, tuple[str, str]]]] = {}
        for summary in files:
            self.loaded.add(summary.path)
            self._pending.append(summary)
        self._flush()

    # ---- loading ----
    def add(self, summary: FileSummary) -> None:
        """Add a file's summary made by the caller (the evaluated file's own, maybe unsaved, text)."""
        self.loaded.add(summary.path)
        self._pending.append(summary)
        self._flush()

    def load(self, path: str) -> None:
        if path in self.loaded or self.loader is None:
            return
        self.loaded.add(path)
        summary = self.loader(path)
        if summary is not None:
            self._pending.append(summary)
            if self.build is not None:
                self.build(self._flush)
            else:
                self._flush()

    def _flush(self) -> None:
        """Add pending summaries: declarations first, then their functions (whose names may need them)."""
        while self._pending:
            batch, self._pending = self._pending, []
            for summary in batch:
                self.files[summary.path] = summary
                self.types.update(summary.types)
                self.globals |= summary.globals
                self.buffered |= summary.buffered
                self.interfaces.update(summary.interfaces)
                self.func_types |= summary.func_types
                for field_id, values in summary.func_values.items():
                    self.func_values.setdefault(field_id, []).extend(values)
                self.cond_locks.extend(summary.cond_locks)
                self.digests[summary.path] = summary.digest
            for summary in batch:
                for original in summary.functions:
                    index = len(self.functions)
                    self.functions.append(original)  # replaced below, once its names are resolved
                    self.by_key.setdefault(original.key, []).append(index)
                    self.by_path.setdefault(original.path, []).append(index)
                    self.held.append([])
                    self.locked_before.append([])
                    self.unlocked_before.append([])
                    self.released_before.append([])
                    self.targets.append({})
                    self.effects.append({})
                    self.starts.append({})
                    self.state.append(0)
            if not self._conds_read and any(_cond_lock_ref(op) for summary in batch for function in
                                            summary.functions for op in function.ops):
                # a lock of a Cond's L (`x.c.L.Lock()`): read the files that make Conds (their locks)
                self._conds_read = True
                self.functions_in_files_with(b"NewCond")
            for summary in batch:
                for index in self.by_path.get(summary.path, ()):
                    original = self.functions[index]
                    # a copy: summaries are cached and shared between models, whose names resolve apart
                    func = dataclasses.replace(original, ops=sorted(
                        (self._normalized(op) for op in original.ops), key=lambda op: op.site.start))
                    self.functions[index] = func
                    self.held[index] = _held_per_op(func.ops)
                    self.locked_before[index] = locked_before(func.ops)
                    self.unlocked_before[index] = unlocked_before(func.ops)
                    self.released_before[index] = released_before(func.ops)
                    for position, op in enumerate(func.ops):
                        self.ops_at[(op.site.path, op.site.start, op.site.end)] = (index, position)
                self.path_starts[summary.path] = [self.functions[i].start for i in self.by_path.get(summary.path, ())]

    def ensure_function(self, key: tuple[str, str]) -> list[int]:
        """The functions declared with this key (receiver type or "", name), their files loaded."""
        return self._ensure_function(key)

    def ensure_type(self, name: str) -> dict[str, str] | None:
        return self._ensure_type(name)

    def _ensure_function(self, key: tuple[str, str]) -> list[int]:
        if self.index is not None:
            for path in self.index.functions.get(key, ()):
                self.load(path)
        return self.by_key.get(key, [])

    def _ensure_type(self, name: str) -> dict[str, str] | None:
        if name not in self.types and self.index is not None:
            for path in self.index.types.get(name, ()):
                self.load(path)
        return self.types.get(name)

    def methods_of(self, type_name: str) -> list[int]:
        if self.index is not None:
            for path in self.index.receivers.get(type_name, ()):
                self.load(path)
        return [i for i, f in enumerate(self.functions) if f.recv_type == type_name and not f.is_literal]

    def functions_in_files_with(self, *tokens: bytes) -> Sequence[int]:
        """Every function of the files that hold all ``tokens`` (loaded now if needed); a shared answer, not to
        be changed."""
        if self.index is None:
            return list(range(len(self.functions)))
        known = self._functions_with.get(tokens)
        if known is None:
            paths = self.index.paths_with(tokens)
            for path in paths:
                self.load(path)
            # once per token set: the files are loaded now and their functions stay as they are (every
            # question on a channel or WaitGroup field listed every function of the files naming it)
            known = self._functions_with[tokens] = [i for path in paths for i in self.by_path.get(path, ())]
        return known

    def is_buffered(self, canon: str) -> bool:
        """Is the channel ``canon`` made with a buffer somewhere in the package? Reads the files that make a
        channel and name it (`T{f: make(chan X, 1)}`, `x.f = make(chan X, n)`), loaded now if needed."""
        if canon not in self.buffered:
            self.functions_in_files_with(b"make(chan", canon.rsplit(".", 1)[-1].encode())
        return canon in self.buffered

    def cancel_pairs(self, cancel: str) -> list[tuple[str, str, tuple[str, str]]]:
        """(Done identity, parent, the function making the pair) of the contexts whose CancelFunc the field
        ``cancel`` (`T.cancel`) holds (gopackage/extract_cancel.py). Reads the files naming the field and
        `context.With`."""
        known = self._cancel_pairs.get(cancel)
        if known is not None:
            return known
        name = cancel.rsplit(".", 1)[-1].encode()
        self.functions_in_files_with(b"context.With", name)
        out: list[tuple[str, str, tuple[str, str]]] = []
        for summary in self.files.values():
            for field_canon, done, parent, function in summary.cancel_pairs:
                if field_canon == cancel and (done, parent, function) not in out:
                    out.append((done, parent, function))
        self._cancel_pairs[cancel] = out
        return out

    def context_parents(self, done: str) -> list[tuple[str, tuple[str, str]]]:
        """(parent, the function making the pair) of the paired contexts whose Done identity is ``done``;
        empty when ``done`` is no such identity."""
        owner, _, _ = done.removesuffix(".Done()").rpartition(".")
        if not done.endswith(".Done()") or not owner:
            return []
        known = self._context_parents.get(done)
        if known is not None:
            return known
        self.functions_in_files_with(b"context.With")
        out: list[tuple[str, tuple[str, str]]] = []
        for summary in self.files.values():
            for _, other, parent, function in summary.cancel_pairs:
                if other == done and (parent, function) not in out:
                    out.append((parent, function))
        self._context_parents[done] = out
        return out

    # ---- names and types ----
    def _fix_ref(self, ref: Ref | None) -> Ref | None:
        if ref is None:
            return None
        if ref.root == "g":
            name = ref.text.split(".", 1)[0]
            if name not in self.globals:
                return Ref("local", ref.rest, ref.text, None)
            return ref
        # `@NewT#0...` (a constructor's result) stays as it is: resolving it reads the constructor's
        # file, which only a method call on it (type_of) needs
        return ref

    def _result_type(self, function: str, index: int) -> str:
        for candidate in self._ensure_function(("", function)):
            results = self.functions[candidate].results
            if index < len(results) and self._ensure_type(results[index]) is not None:
                return results[index]
        return ""

    def _placeholder_type(self, text: str) -> str:
        """The type a placeholder of the extractor stands for (see extract_locals.type_of), "" when unknown."""
        depth = self._placeholder_depth
        if depth > 8:
            return ""  # a placeholder built from itself (x = x.next[0] in a loop): give up
        self._placeholder_depth += 1
        try:
            if text.startswith("@elem(") and text.endswith(")"):
                owner, _, name = decode_canon(text[6:-1]).rpartition(".")
                fields = self._ensure_type(self.type_of(owner) if "." in owner or owner.startswith("@") else owner)
                return element_type(fields.get(name, "")) if fields is not None else ""
            if text.startswith("@res(") and text.endswith(")"):
                receiver, _, call = text[5:-1].rpartition("/")
                method, _, result = call.partition("#")
                receiver = decode_canon(receiver)
                type_name = self.type_of(receiver) if "." in receiver or receiver.startswith("@") else receiver
                if not type_name or self._ensure_type(type_name) is None:
                    return ""
                for candidate in self._ensure_function((type_name, method)):
                    results = self.functions[candidate].results
                    index = int(result or 0)
                    if index < len(results) and self._ensure_type(results[index]) is not None:
                        return results[index]
                return ""
            ctor, _, result = text[1:].partition("#")
            return self._result_type(ctor, int(result or 0))
        finally:
            self._placeholder_depth -= 1

    def type_of(self, canon: str | None) -> str:
        """The named type of the value an identity denotes (`Server.pool` -> `Pool` via field types)."""
        if not canon or canon.startswith("pkg."):
            return ""
        parts = canon.split(".")
        current = self._placeholder_type(parts[0]) if parts[0].startswith("@") else parts[0]
        for name in parts[1:]:
            if name.endswith("()"):  # a method call (channel operands only): its declared first result
                methods = self._ensure_function((current, name[:-2]))
                results = self.functions[methods[0]].results if methods else ()
                if not results:
                    return ""
                current = results[0]
                continue
            current = self._field_type(current, name)
            if not current:
                return ""
        return current if self._ensure_type(current) is not None else ""

    def field_type(self, type_name: str, name: str) -> str:
        """The declared type text of field ``name`` of the package struct ``type_name`` ("" if unknown)."""
        fields = self._ensure_type(type_name) or {}
        return fields.get(name, "").strip()

    def resolved(self, canon: str | None) -> str | None:
        """An identity whose root is a constructor's result (`@newT#0.mu`) in the type's terms (`T.mu`)."""
        if not canon or not canon.startswith("@"):
            return canon
        root, _, rest = canon.partition(".")
        type_name = self.type_of(root)
        return f"{type_name}.{rest}" if type_name and rest else (type_name or canon)

    def field_owner(self, type_name: str, name: str, depth: int = 0) -> str | None:
        """The struct type that declares field ``name`` of ``type_name``: itself, or an embedded struct the
        field is promoted from; None when the package declares no such field."""
        fields = self._ensure_type(type_name)
        if fields is None:
            return None
        if name in fields:
            return type_name
        if depth < 4:
            for embedded, type_text in fields.items():
                if embedded == named_type(type_text):  # an embedded field is named after its type
                    found = self.field_owner(embedded, name, depth + 1)
                    if found is not None:
                        return found
        return None

    def field_text(self, type_name: str, name: str) -> str | None:
        """The declared type (as written) of field ``name`` of ``type_name`` (promoted ones too), or None."""
        owner = self.field_owner(type_name, name)
        return None if owner is None else self.types[owner][name]

    def _field_type(self, type_name: str, name: str) -> str:
        """The named type of field ``name`` of ``type_name`` ("" when it has none or is not known)."""
        text = self.field_text(type_name, name)
        return named_type(text) if text is not None else ""

    def identity(self, canon: str | None) -> str | None:
        """One name per lock (or channel) field, whatever path reaches it: `Replica.store.coalescedMu` is
        `Store.coalescedMu` when the field `store` of `Replica` has type `Store`; a constructor's result
        (`@NewT#0.mu`) is `T.mu`. Unresolvable owners keep the path as it is."""
        if not canon or canon.startswith("pkg.") or "." not in canon:
            return canon
        owner, _, name = canon.rpartition(".")
        if "." not in owner and not owner.startswith("@"):
            return canon
        found = self._identities.get(canon)
        if found is None:
            type_name = self.type_of(owner)
            found = self._identities[canon] = f"{type_name}.{name}" if type_name else canon
        return found

    def object_type(self, canon: str) -> str:
        """The type of the object a lock (or channel) belongs to: `Server.stats.mu` is part of a `Server`
        when `stats` is a struct held by value; `Replica.store.mu` belongs to a `Store` when `store` is a
        pointer (or any other reference: another object). Package variables belong to `pkg`."""
        parts = canon.split(".")
        if len(parts) == 1:
            return canon  # an embedded mutex: the type itself
        owner = current = self._placeholder_type(parts[0]) if parts[0].startswith("@") else parts[0]
        for name in parts[1:-1]:
            text = (self._ensure_type(current) or {}).get(name, "")
            current = named_type(text)
            if not current or not (text and text[0].isalpha()) or "." in text:
                owner = current or "?"  # through a pointer, map, slice or interface: another object
        return owner or "?"

    def lock_sites(self, canon: str, mode: str = "any") -> list[tuple[int, Op]]:
        """Every `Lock()` (mode write) / `RLock()` (mode read) call of the package on the lock ``canon`` (an
        identity), as (function, op) in file and source order. Only the files naming the lock's last field
        (or variable) are read."""
        wanted = self.identity(canon)
        token = lock_token(canon)
        out: list[tuple[int, Op]] = []
        for index in self.functions_in_files_with(b"Lock()", token):
            for op in self.functions[index].ops:
                if op.kind == "lock" and op.ref is not None and op.ref.canon and \
                        (mode == "any" or op.mode == mode) and self.identity(op.ref.canon) == wanted:
                    out.append((index, op))
        return out

    def callers(self, index: int) -> list[tuple[int, int]]:
        """(function, op position) of every call or `go` statement of the package that resolves to function
        ``index`` (not a literal: literals are not called by name). The files naming it are read."""
        func = self.functions[index]
        if func.is_literal:
            return []
        name = func.key[1]
        out: list[tuple[int, int]] = []
        for caller in self.functions_in_files_with(name.encode()):
            for position, op in enumerate(self.functions[caller].ops):
                if op.kind in ("call", "go") and op.callee is not None and op.callee[1] == name and \
                        index in self.targets_of(caller, position):
                    out.append((caller, position))
        return out

    def is_channel(self, canon: str | None) -> bool:
        if not canon or "." not in canon or canon.startswith("pkg."):
            return False
        owner, _, name = canon.rpartition(".")
        type_name = self.type_of(owner) if "." in owner or owner.startswith("@") else owner
        fields = self._ensure_type(type_name) or {}
        return fields.get(name, "").lstrip("<-").strip().startswith("chan")

    def cond_lock(self, cond: str) -> tuple[str, str] | None:
        """(mutex path from the Cond's owner, mode) of the Cond field ``cond`` made with `sync.NewCond(&x.mu)`
        ("write") or `sync.NewCond(x.mu.RLocker())` ("read") somewhere in the package; None when unknown or
        when the package makes it with two different locks."""
        wanted = self.identity(cond)
        found = {(path, mode) for made, path, mode in self.cond_locks if made == cond or self.identity(made) == wanted}
        return found.pop() if len(found) == 1 else None

    def _cond_alias(self, op: Op, ref: Ref | None) -> Op | None:
        """`x.c.L.Lock()` as the lock of the mutex the Cond was made with (`x.mu`, read for an RLocker)."""
        if ref is None or not _cond_lock_ref(op) or not ref.canon or not self.cond_locks:
            return None
        alias = self.cond_lock(ref.canon.rsplit(".", 1)[0])
        if alias is None:
            return None
        path, mode = alias
        base_text = ref.text.rsplit(".", 2)[0]
        base_canon = ref.canon.rsplit(".", 2)[0]
        mapped = Ref(ref.root, (*ref.rest[:-2], *path.split(".")), f"{base_text}.{path}", f"{base_canon}.{path}")
        return dataclasses.replace(op, ref=mapped, mode=mode)

    def _normalized(self, op: Op) -> Op:
        ref, recv = self._fix_ref(op.ref), self._fix_ref(op.recv)
        aliased = self._cond_alias(op, ref)
        if aliased is not None:
            return aliased
        args = tuple(self._fix_ref(a) for a in op.args)
        if ref is op.ref and recv is op.recv and all(a is b for a, b in zip(args, op.args, strict=True)):
            return op  # nothing to resolve: share it
        return dataclasses.replace(op, ref=ref, recv=recv, args=args)

    def _resolve(self, op: Op) -> list[int]:
        if op.kind == "go" and op.literal is not None:
            return list(self.by_key.get(op.literal, []))
        if op.kind not in ("call", "go") or op.callee is None:
            return []
        owner, name = op.callee
        if owner == "":
            return list(self._ensure_function(("", name)))
        if op.recv is None:
            return []
        type_name = self.type_of(op.recv.canon) if op.recv.canon else ""
        if not type_name:
            return []
        found = list(self._ensure_function((type_name, name)))
        if found:
            return found
        if type_name in self.interfaces:  # dispatch (gopackage/dispatch.py)
            self._dispatch_call = True
            return dispatch.implementations(self, type_name, name)
        field_type = (self.types.get(type_name) or {}).get(name, "")
        if field_type.startswith("func") or named_type(field_type) in self.func_types:
            targets, same_owner = dispatch.field_values(self, type_name, name)
            self._value_call = not same_owner
            self._dispatch_call = True
            return targets
        return []

    def targets_of(self, index: int, position: int) -> list[int]:
        targets = self.targets[index].get(position)
        if targets is None and (callee := self.functions[index].ops[position].callee) is not None and \
                callee[0] == "@param":
            self.targets[index][position] = []  # a cycle through the callers sees none
            targets = self.targets[index][position] = dispatch.param_targets(self, index, int(callee[1]))
            self.value_calls.add((index, position))  # the receiver is not the call's
            if len(targets) > 1:
                self.multi_calls.add((index, position))
            return targets
        if targets is None:  # per call: resolving reads the callee's file
            self._value_call = self._dispatch_call = False
            targets = self.targets[index][position] = self._resolve(self.functions[index].ops[position])
            if self._value_call:
                self.value_calls.add((index, position))
            if self._dispatch_call and len(targets) > 1:
                self.multi_calls.add((index, position))
        return targets

    def call_view(self, index: int, position: int) -> Op:
        """The call at ``position`` as its callees' references map through it (map_ref): a call through a
        function-valued field (`x.onDone()`) runs a literal or a method value whose receiver is not `x`,
        so only its arguments map."""
        op = self.functions[index].ops[position]
        if (index, position) in self.value_calls:
            return dataclasses.replace(op, recv=None)
        return op

    def param_ops(self, index: int, param: int, depth: int = 0) -> list[Effect]:
        """Channel operations function ``index`` does on its parameter ``param``, itself or in the
        functions it passes the parameter to (only those calls are followed: cheaper than effects_of)."""
        key = (index, param)
        known = self._param_ops.get(key)
        if known is not None:
            return known
        out: list[Effect] = []
        self._param_ops[key] = out  # a recursive cycle sees what is known so far
        root = f"p{param}"
        for position, op in enumerate(self.functions[index].ops):
            if op.kind in ("send", "recv", "range", "close") and op.ref is not None and op.ref.root == root \
                    and not op.ref.rest:
                out.append(Effect(op.kind, op.ref, op.ref.canon, "", op.bare, frozenset(), (op.site,),
                                  looped=op.looped))
            elif op.kind in ("call", "go") and depth < MAX_DEPTH:
                for argument, arg in enumerate(op.args):
                    if arg is None or arg.root != root or arg.rest:
                        continue
                    for target in self.targets_of(index, position):
                        if target == index and argument == param:
                            continue
                        for effect in self.param_ops(target, argument, depth + 1):
                            out.append(Effect(effect.kind, arg, effect.canon, "", effect.bare, frozenset(),
                                              (op.site, *effect.trace), looped=op.looped or effect.looped))
        return out

    # ---- mapping a callee's reference into the caller's terms ----
    @staticmethod
    def map_ref(ref: Ref | None, call: Op) -> Ref | None:
        if ref is None:
            return None
        base: Ref | None
        if ref.root == "self":
            base = call.recv
        elif ref.root.startswith("p") and ref.root[1:].isdigit():
            position = int(ref.root[1:])
            base = call.args[position] if position < len(call.args) else None
        elif ref.root == "g":
            return ref
        else:
            return None
        if base is None or base.root == "?":
            return None
        rest = base.rest + ref.rest
        text = ".".join([base.text, *ref.rest]) if ref.rest else base.text
        canon = ref.canon or (".".join([base.canon, *ref.rest]) if base.canon else None)
        return Ref(base.root, rest, text, canon)

    # ---- effects, depth first ----
    def _direct(self, index: int) -> dict[tuple[object, ...], Effect]:
        func = self.functions[index]
        out: dict[tuple[object, ...], Effect] = {}
        unlocked: set[str] = set()
        for position, op in enumerate(func.ops):
            held = self.held[index][position]
            held_canons = frozenset(h.ref.canon for h in held if h.ref is not None and h.ref.canon)
            before = self.locked_before[index][position] | held_canons
            released = self.released_before[index][position]
            if op.kind == "unlock" and op.ref is not None:
                unlocked.add(op.ref.text)
            if op.kind == "lock" and not op.deferred and op.ref is not None:
                fresh = op.ref.text not in unlocked and not any(h.ref == op.ref for h in held)
                if fresh:
                    _add(out, Effect("lock", op.ref, op.ref.canon, op.mode, True, before, (op.site,), op.guard,
                                     released))
                elif op.ref.text in unlocked and not any(h.ref == op.ref for h in held):
                    # unlocked first, then locked again ("called with the lock held"): not a lock the caller
                    # takes anew (GL408), but it is taken again while the caller's other locks are held:
                    # a lock order (GL409)
                    _add(out, Effect("relock", op.ref, op.ref.canon, op.mode, True, before, (op.site,), op.guard,
                                     released))
            elif op.kind in ("send", "recv", "range", "close"):
                if op.kind == "range" and op.ref is not None and op.ref.rest and not self.is_channel(op.ref.canon):
                    continue
                _add(out, Effect(op.kind, op.ref, op.ref.canon if op.ref else None, "", op.bare, before,
                                 (op.site,), None, released))
            elif op.kind == "cancel" and op.ref is not None and op.ref.canon:
                # a call of a field holding a context's CancelFunc closes that context's Done channel
                for done, _, _ in self.cancel_pairs(op.ref.canon):
                    _add(out, Effect("close", _done_ref(op.ref, done), done, "", True, before, (op.site,),
                                     None, released))
            elif op.kind in ("wait", "wake") and not op.deferred:
                _add(out, Effect(op.kind, op.ref, op.ref.canon if op.ref else None, "", True, before,
                                 (op.site,), None, released))
        return out

    def effects_of(self, index: int, depth: int = 0) -> dict[tuple[object, ...], Effect]:
        """What function ``index`` does itself and through same-package calls, in its own terms."""
        if self.state[index] == 2 or self.state[index] == 1:
            return self.effects[index]  # done, or a call cycle: what is known so far
        if depth > MAX_DEPTH:
            return self._direct(index)
        self.state[index] = 1
        effects = self.effects[index] = self._direct(index)
        starts = self.starts[index]
        func = self.functions[index]
        for position, op in enumerate(func.ops):
            if op.kind == "go":
                for target in self.targets_of(index, position):
                    starts.setdefault(target, (op.site,))
            if op.kind != "call":
                continue
            targets = self.targets_of(index, position)
            if not targets:
                continue
            held = self.held[index][position]
            held_canons = frozenset(h.ref.canon for h in held if h.ref is not None and h.ref.canon)
            before = self.locked_before[index][position] | held_canons
            several = (index, position) in self.multi_calls
            for target in targets:
                if target == index:
                    continue
                for effect in list(self.effects_of(target, depth + 1).values()):
                    if len(effect.trace) > MAX_DEPTH:
                        continue
                    keep, guard = through_guard(effect, op)
                    if not keep:
                        continue
                    if effect.kind == "lock" and guard is None:
                        guard = op.guard  # a call made only `if p`: its locks too
                    mapped = self.map_ref(effect.ref, self.call_view(index, position))
                    kind = effect.kind
                    if kind == "lock" and mapped is not None and mapped.text in self.unlocked_before[index][position]:
                        kind = "relock"  # released here first: a function called with the lock held
                    canon = effect.canon or (mapped.canon if mapped is not None else None)
                    _add(effects, Effect(kind, mapped, canon, effect.mode, effect.bare,
                                         effect.before | before, (op.site, *effect.trace), guard,
                                         effect.released | self.released_before[index][position],
                                         dispatched=several or effect.dispatched))
                for started, trace in list(self.starts[target].items()):
                    if started not in starts and len(trace) <= MAX_DEPTH:
                        starts[started] = (op.site, *trace)
        self.state[index] = 2
        return effects

    def starts_of(self, index: int) -> dict[int, Trace]:
        self.effects_of(index)
        return self.starts[index]

    def order_edges(self, first: str, then: str) -> list[OrderEdge]:
        """The places that hold lock ``first`` and take ``then`` (directly or through calls). Only the
        files naming both locks' last field (or variable) are read."""
        key = (first, then)
        if self._edges is None:
            self._edges = {}
        found = self._edges.get(key)
        if found is not None:
            return found
        tokens = {lock_token(name) for name in (first, then)}
        out: list[OrderEdge] = []
        for index in self.functions_in_files_with(b"Lock()", *tokens):
            for edge in self._edges_of(index):
                if edge.outer == first and edge.inner == then:
                    out.append(edge)
        self._edges[key] = out
        return out

    def _edges_of(self, index: int) -> list[OrderEdge]:
        """(held, then taken) lock pairs of one function."""
        known = self._function_edges.get(index)
        if known is not None:
            return known
        edges: list[OrderEdge] = []
        self._function_edges[index] = edges
        func = self.functions[index]
        for position, op in enumerate(func.ops):
            held_ops = self.held[index][position]
            if not held_ops:
                continue
            inner: list[tuple[str, str, Trace, frozenset[str]]] = []
            if op.kind == "lock" and not op.deferred and op.ref is not None and op.ref.canon:
                inner.append((op.ref.canon, op.mode, (op.site,), frozenset()))
            elif op.kind == "call":
                for target in self.targets_of(index, position):
                    if target == index:
                        continue
                    for effect in self.effects_of(target).values():
                        if effect.kind in ("lock", "relock") and through_guard(effect, op) == (True, None):
                            mapped = self.map_ref(effect.ref, self.call_view(index, position))
                            canon = effect.canon or (mapped.canon if mapped else None)
                            if canon:
                                inner.append((canon, effect.mode, (op.site, *effect.trace), effect.released))
            # identities, whatever path reaches the lock (`r.store.mu` is `Store.mu`)
            ident = self.identity
            held_canons = frozenset(i for h in held_ops if h.ref is not None and (i := ident(h.ref.canon)))
            for held in held_ops:
                outer = ident(held.ref.canon) if held.ref is not None else None
                if not outer:
                    continue
                for canon, mode, trace, released in inner:
                    inner_id = ident(canon)
                    if inner_id and inner_id != outer and outer not in {ident(c) for c in released}:
                        edges.append(OrderEdge(outer, inner_id, held.mode, mode, func.key, trace, held_canons))
        # a call that returns holding a lock (gopackage/held_after.py): the locks taken after it pair with it
        for pair in held_after.kept_pairs(self, index):
            edges.append(OrderEdge(pair.outer, pair.inner, pair.outer_mode, pair.inner_mode, func.key, pair.trace,
                                   pair.held))
        return edges

    # ---- questions rules ask ----
    def function_at(self, path: str, start: int, end: int) -> int | None:
        """The innermost function or literal of ``path`` around [start, end)."""
        indexes = self.by_path.get(path)
        if not indexes:
            return None
        position = bisect.bisect_right(self.path_starts[path], start) - 1
        while position >= 0:  # functions nest: the nearest start at or before that contains it
            func = self.functions[indexes[position]]
            if func.start <= start and end <= func.end:
                return indexes[position]
            position -= 1
        return None

    def op_at(self, path: str, start: int, end: int) -> tuple[int, int] | None:
        """(function, position) of the operation at exactly [start, end)."""
        return self.ops_at.get((path, start, end))

    def held_at(self, index: int, start: int, end: int) -> list[Op]:
        """Locks held at [start, end) in function ``index`` (straight-line view, see _held_per_op)."""
        found = self.ops_at.get((self.functions[index].path, start, end))
        if found is not None and found[0] == index:
            return self.held[index][found[1]]
        func = self.functions[index]
        probe = Op("probe", Site(func.path, 0, 0, start, end, ""))
        ops = [op for op in func.ops if op.site.start < start] + [probe]
        return _held_per_op(ops)[-1]

    def callers_of(self, index: int) -> list[int]:
        """Functions of the package that call function ``index`` (a `go` is not a call: the goroutine it
        starts is a root of its own). Reads the files that name the function."""
        func = self.functions[index]
        if func.is_literal:
            return []
        name = func.key[1]
        out = []
        for caller in self.functions_in_files_with(f"{name}(".encode()):
            for position, op in enumerate(self.functions[caller].ops):
                if op.kind == "call" and op.callee is not None and op.callee[1] == name and \
                        index in self.targets_of(caller, position):
                    out.append(caller)
                    break
        return out

    def starters_of(self, index: int) -> list[tuple[int, int]]:
        """(function, position) of the `go` statements that start function ``index``."""
        func = self.functions[index]
        # a literal is started where it is written, in its own file
        candidates = self.by_path.get(func.path, []) if func.is_literal else \
            self.functions_in_files_with(b"go ", f"{func.key[1]}(".encode())
        out = []
        for starter in list(candidates):
            for position, op in enumerate(self.functions[starter].ops):
                if op.kind == "go" and index in self.targets_of(starter, position):
                    out.append((starter, position))
        return out

    def top_level(self, index: int) -> tuple[str, int, int]:
        """(path, start, end) of the outermost function around function ``index`` (itself if top-level)."""
        func = self.functions[index]
        best = (func.path, func.start, func.end)
        for other in self.by_path.get(func.path, ()):
            candidate = self.functions[other]
            if candidate.start <= best[1] and best[2] <= candidate.end:
                best = (candidate.path, candidate.start, candidate.end)
        return best

    def callee_effects(self, index: int, position: int) -> list[tuple[int, Effect, Ref | None]]:
        """Effects of the functions a call resolves to, with each effect's reference in the caller's terms."""
        out: list[tuple[int, Effect, Ref | None]] = []
        op = self.functions[index].ops[position]
        for target in self.targets_of(index, position):
            if target == index:
                continue
            for effect in self.effects_of(target).values():
                keep, guard = through_guard(effect, op)
                if keep and guard is None:  # a lock still waiting on the caller's flag: not known to happen
                    out.append((target, effect, self.map_ref(effect.ref, self.call_view(index, position))))
        return out


def _cond_lock_ref(op: Op) -> bool:
    """Is the op a lock or unlock of a field's `L` (`x.c.L.Lock()`, a sync.Cond's lock)?"""
    return op.kind in ("lock", "unlock") and op.ref is not None and len(op.ref.rest) >= 2 and op.ref.rest[-1] == "L"


def _done_ref(cancel: Ref, done: str) -> Ref | None:
    """`x.cancel` -> `x.ctx.Done()` when ``done`` is `T.ctx.Done()` of the same owner, `x.cancel.Done()` for
    the cancel's own name of the channel; None when the context lives elsewhere (the identity is kept)."""
    owner = cancel.canon.rpartition(".")[0] if cancel.canon else ""
    head, _, field_name = done.removesuffix(".Done()").rpartition(".")
    if not owner or head != owner:
        return None
    rest = (*cancel.rest[:-1], field_name, "Done()")
    base = cancel.text.rpartition(".")[0]
    return Ref(cancel.root, rest, f"{base}.{field_name}.Done()", done)


def _add(effects: dict[tuple[object, ...], Effect], effect: Effect) -> bool:
    """Record an effect; the same operation reached again only widens its `before` set (and a direct way
    to it makes it not `dispatched`). True: changed."""
    key = (effect.kind, effect.ref.root if effect.ref else None, effect.ref.rest if effect.ref else None,
           effect.canon, effect.mode, effect.bare, effect.trace[-1].start, effect.trace[-1].path, effect.guard)
    known = effects.get(key)
    if known is None:
        effects[key] = effect
        return True
    dispatched = known.dispatched and effect.dispatched
    if effect.before <= known.before and effect.released <= known.released and dispatched == known.dispatched:
        return False
    effects[key] = Effect(known.kind, known.ref, known.canon, known.mode, known.bare,
                          known.before | effect.before, known.trace, known.guard,
                          known.released | effect.released, dispatched=dispatched)
    return True


def _held_per_op(ops: list[Op]) -> list[list[Op]]:
    """For each op, the lock ops held when it runs. A lock counts while its statement list encloses the op
    and no unlock of the same text lies between them, except an unlock in a list that ends by leaving
    (`mu.Unlock(); return`) and does not enclose the op. A deferred unlock releases nothing here.

    ``ops`` are in source order. One pass: a lock leaves the live list for good when an unlock of its text
    that does not leave follows it, or when its statement list ends; unlocks that leave release only the ops
    inside their own list (was: every earlier lock against every earlier unlock for every op, cubic in a
    long function's operations)."""
    out: list[list[Op]] = []
    live: list[Op] = []  # locks that may still be held at a later op, in the order they were taken
    leaving: dict[str, list[Op]] = {}  # unlocks in a list that ends by leaving, by lock text
    for op in ops:
        start = op.site.start
        if any(start >= lock.block[1] for lock in live):
            live = [lock for lock in live if start < lock.block[1]]  # its statement list is behind us
        held = []
        for lock in live:
            assert lock.ref is not None
            if lock.block[0] > start:
                continue
            exits = leaving.get(lock.ref.text)
            if exits and any(u.site.start >= lock.site.start and u.block[0] <= start < u.block[1] for u in exits):
                continue
            held.append(lock)
        out.append(held)
        if op.kind == "lock" and not op.deferred and op.block != (0, 0) and op.ref is not None:
            live.append(op)
        elif op.kind == "unlock" and not op.deferred and op.ref is not None:
            text = op.ref.text
            if op.exits:
                exits = leaving.setdefault(text, [])
                exits[:] = [u for u in exits if start < u.block[1]]  # lists already closed release nothing
                exits.append(op)
            else:
                live = [lock for lock in live
                        if lock.ref is None or lock.ref.text != text or lock.site.start > op.site.start]
    return out

