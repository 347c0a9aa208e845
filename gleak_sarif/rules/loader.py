"""Find rule files, validate them and compile them into a RulePack.

Every problem is a ConfigError naming the rule file, the line and a hint; nothing in a rule file is
executed (safe YAML, no code).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gleak_sarif.errors import ConfigError

# The compiler, the rule schema and YAML are imported where rules are compiled: finding the rule files
# (`rule_files`, for the scan cache's salt) must not pay for them.
if TYPE_CHECKING:
    from pydantic import ValidationError

    from gleak_sarif.rules.compiled import Atom, CNode, CompiledRule, RulePack

RULE_SUFFIXES = (".yml", ".yaml")


def builtin_rules_dir() -> Path:
    """Rules shipped with the package (wheel) or, in a source checkout, the repository's rules/."""
    here = Path(__file__).resolve().parent.parent
    bundled = here / "_builtin_rules"
    if bundled.is_dir():
        return bundled
    return here.parent / "rules"


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                found.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(RULE_SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(
                f"rule path does not exist: {path}", hint="pass a rule file or a folder of them"
            )
    return found


def _field_names(model: type[Any]) -> list[str]:
    names = []
    for name, info in model.model_fields.items():
        names.append(info.alias or name)
    return names


def _explain_validation(err: ValidationError, data: Any, path: str) -> ConfigError:
    from gleak_sarif.rules.schema import RuleFile
    from gleak_sarif.yamlload import line_of

    first = err.errors()[0]
    loc = tuple(first["loc"])
    # pydantic reports union members as extra path elements; keep the ones that exist in the data
    clean: list[int | str] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            clean.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            clean.append(part)
            node = node[part]
    where = ".".join(str(p) for p in clean) or "(top level)"
    line = line_of(data, tuple(clean))
    kind = first["type"]
    hint = ""
    if kind == "extra_forbidden":
        key = str(loc[-1])
        message = f"unknown key {key!r} in {'.'.join(str(p) for p in clean[:-1]) or 'the rule file'}"
        from gleak_sarif.rules.schema import Relation, RuleObject

        candidates = _field_names(RuleFile) + _field_names(Relation) + _field_names(RuleObject)
        close = difflib.get_close_matches(key, candidates, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "see docs/rule-language.md for the keys"
    elif kind == "missing":
        message = f"missing required key {str(loc[-1])!r} at {where}"
    else:
        message = f"{where}: {first['msg']}"
    return ConfigError(message, path=path, line=line, hint=hint)


def load_rule_file(
    path: Path, atoms: list[Atom], config_rows: dict[str, list[Any]] | None = None
) -> tuple[CompiledRule | None, bytes]:
    """Compile one rule file; a template (`parameters:`) with no rows at all gives None."""
    from pydantic import ValidationError

    from gleak_sarif.rules.compiler import compile_rule
    from gleak_sarif.rules.query import validate_atoms
    from gleak_sarif.rules.schema import RuleFile
    from gleak_sarif.yamlload import load_yaml_text

    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read rule file: {err.strerror}", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("rule file is not UTF-8", path=str(path)) from None
    data = load_yaml_text(text, str(path))
    if not isinstance(data, dict):
        raise ConfigError(
            "a rule file must be a YAML mapping (id, name, rule, docs, ...)", path=str(path), line=1
        )
    if "parameters" in data:
        from gleak_sarif.rules.template import expand

        has_rows, rows_key = expand(data, str(path), config_rows or {})
        if not has_rows:
            return None, raw
        raw += rows_key  # the table (with the user's rows) is part of the rule for the cache key
    try:
        spec = RuleFile.model_validate(data)
    except ValidationError as err:
        raise _explain_validation(err, data, str(path)) from None
    first_atom = len(atoms)
    compiled = compile_rule(spec, data, str(path), atoms)
    validate_atoms(atoms[first_atom:], raw)
    return compiled, raw


def rule_selected(rule_id: str, enabled_by_default: bool, select: list[str], ignore: list[str]) -> bool:
    """`select`/`ignore` take IDs or prefixes (GL2, GL20). An explicit select enables off-by-default rules."""
    if any(rule_id.startswith(prefix) for prefix in ignore):
        return False
    if select:
        return any(rule_id.startswith(prefix) for prefix in select if prefix != "ALL") or ("ALL" in select)
    return enabled_by_default


def load_pack(
    extra: Iterable[str | Path] = (),
    *,
    builtin: bool = True,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    config_path: str | None = None,
) -> RulePack:
    """``config_path``: the project's `.gleak.yml`, whose list keys feed `parameters.from-config` tables."""
    from gleak_sarif.rules.compiled import rule_roots
    from gleak_sarif.rules.compiler import build_pack

    select = select or []
    ignore = ignore or []
    config_rows: dict[str, list[Any]] = {}
    if config_path is not None:
        from gleak_sarif.config import load_project_config

        project = load_project_config(config_path)
        config_rows = {
            name: list(getattr(project, name))
            for name in type(project).model_fields
            if isinstance(getattr(project, name), list)
        }
    paths: list[Path] = []
    if builtin:
        paths.extend(rule_files([builtin_rules_dir()]))
    paths.extend(rule_files(extra))
    cache_file = _pack_cache_file(paths, config_rows, select, ignore)
    cached = _load_cached_pack(cache_file)
    if cached is not None:
        return cached
    atoms: list[Atom] = []
    compiled: list[CompiledRule] = []
    sources: list[bytes] = []
    seen: dict[str, str] = {}
    for path in paths:
        rule, raw = load_rule_file(path, atoms, config_rows)
        if rule is None:
            continue
        if rule.meta.id in seen:
            raise ConfigError(
                f"duplicate rule id {rule.meta.id} (also in {seen[rule.meta.id]})",
                path=str(path),
                line=1,
                hint="rule IDs are unique; give one of them a new ID",
            )
        seen[rule.meta.id] = str(path)
        sources.append(raw)
        compiled.append(rule)
    enabled = [r for r in compiled if rule_selected(r.meta.id, r.meta.enabled_by_default, select, ignore)]
    for prefix in select:
        if prefix != "ALL" and not any(r.meta.id.startswith(prefix) for r in compiled):
            raise ConfigError(
                f"--select {prefix}: no rule has this ID or prefix",
                hint="run `gleak-sarif rules list` to see the rule IDs",
            )
    # Keep only the atoms the enabled rules use, renumbered, so the combined query stays small.
    used: set[int] = set()
    for rule in enabled:
        _collect_atoms(rule_roots(rule), used)
    if len(used) != len(atoms):
        mapping = {old: new for new, old in enumerate(sorted(used))}
        atoms = [dataclasses.replace(a, index=mapping[a.index]) for a in atoms if a.index in used]
        for rule in enabled:
            _renumber(rule_roots(rule), mapping)
    enabled.sort(key=lambda r: r.meta.id)
    pack = build_pack(enabled, atoms, sources)
    _store_pack(cache_file, pack)
    return pack


# Compiled packs are kept (pickled) in the user's cache, keyed by the engine version, every rule file's
# path and bytes, the config tables and select/ignore: YAML parsing, schema validation and compilation
# cost ~0.5 s, which dominated a pre-commit scan of a few files. Query objects are not kept (they compile
# lazily); a damaged or unreadable entry is ignored.
_PACKS_KEPT = 16


def _pack_cache_file(paths: list[Path], config_rows: dict[str, list[Any]], select: list[str],
                     ignore: list[str]) -> str | None:
    from gleak_sarif import __version__
    from gleak_sarif.rules.compiler import engine_code_signature
    from gleak_sarif.usercache import user_cache_dir

    digest = hashlib.sha256(f"{__version__}\0{sys.version}\0{select}\0{ignore}\0".encode())
    digest.update(engine_code_signature().encode())
    try:
        for path in paths:
            digest.update(os.fsencode(path) + b"\0" + path.read_bytes() + b"\0")
    except OSError:
        return None  # the normal load reports the unreadable file
    digest.update(json.dumps(config_rows, sort_keys=True, default=_jsonable).encode())
    return os.path.join(user_cache_dir(), "packs", digest.hexdigest()[:32] + ".pickle")


def _jsonable(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else str(value)


# Everything a pickled RulePack is made of (rules/compiled.py lists its own classes and the facts' options).
# Unpickling may build these and nothing else, so a planted pack file cannot call a function of its choosing
# (os.system...): the actions cache restores this folder.
_PACK_GLOBALS = frozenset({
    ("gleak_sarif.model", "Precision"), ("gleak_sarif.model", "RuleMeta"), ("gleak_sarif.model", "Severity"),
    ("re2", "_Regexp"), ("re2._re2", "RE2.Options.Encoding"),
})


def _pack_unpickler(data: bytes) -> Any:
    import io
    import pickle

    from gleak_sarif.rules.compiled import pack_classes

    allowed = _PACK_GLOBALS | {(cls.__module__, cls.__qualname__) for cls in pack_classes()}

    class PackUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) not in allowed:
                raise pickle.UnpicklingError(f"{module}.{name} is not part of a rule pack")
            return super().find_class(module, name)

    return PackUnpickler(io.BytesIO(data))


def _load_cached_pack(cache_file: str | None) -> RulePack | None:
    """The cached pack, if this user's gleak-sarif wrote it (its MAC checks with the key of the user
    cache directory) and it holds only rule-pack objects; else None (compile instead)."""
    from gleak_sarif.rules.compiled import RulePack
    from gleak_sarif.usercache import MAC_BYTES, machine_key, verify

    key = machine_key()
    if cache_file is None or key is None or os.environ.get("GLEAK_NO_PACK_CACHE"):
        return None
    try:
        fd = os.open(cache_file, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            blob = handle.read()
        mac, data = blob[:MAC_BYTES], blob[MAC_BYTES:]
        if not verify(data, mac, key):
            return None
        pack = _pack_unpickler(data).load()
    except Exception:  # missing, damaged, planted, or written by another Python: compile instead
        return None
    return pack if isinstance(pack, RulePack) else None


def _store_pack(cache_file: str | None, pack: RulePack) -> None:
    import pickle

    from gleak_sarif.usercache import machine_key, sign

    key = machine_key()
    if cache_file is None or key is None or os.environ.get("GLEAK_NO_PACK_CACHE"):
        return
    queries = [atom.compiled for atom in pack.atoms]
    try:
        for atom in pack.atoms:
            atom.compiled = None  # tree-sitter Query objects do not pickle
        data = pickle.dumps(pack, protocol=pickle.HIGHEST_PROTOCOL)
        _pack_unpickler(data).load()  # a pack this loader would refuse is not worth writing
        folder = os.path.dirname(cache_file)
        os.makedirs(folder, exist_ok=True)
        temp = f"{cache_file}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(sign(data, key) + data)
        os.replace(temp, cache_file)
        entries = sorted((e for e in os.scandir(folder) if e.name.endswith(".pickle")),
                         key=lambda e: e.stat().st_mtime, reverse=True)
        for old in entries[_PACKS_KEPT:]:
            os.unlink(old.path)
    except Exception:  # a read-only home, a full disk, an unpicklable rule: just do not cache
        pass
    finally:
        for atom, query in zip(pack.atoms, queries, strict=True):
            atom.compiled = query


def _collect_atoms(roots: list[CNode], used: set[int]) -> None:
    from gleak_sarif.rules.compiled import rule_nodes

    for node in rule_nodes(*roots):
        used.update(node.atoms)
        used.update(node.anchor or [])


def _renumber(roots: list[CNode], mapping: dict[int, int]) -> None:
    from gleak_sarif.rules.compiled import rule_nodes

    for node in rule_nodes(*roots):
        node.atoms = [mapping[a] for a in node.atoms]
        if node.anchor is not None:
            node.anchor = [mapping[a] for a in node.anchor]
