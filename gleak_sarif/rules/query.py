"""The combined query of a pack (every rule's anchors, one tree-sitter Query run once per file), and the
check that every atom's query compiles (remembered per rule file in the user's cache).
"""

from __future__ import annotations

import hashlib
import os

from tree_sitter import QueryError

from gleak_sarif import __version__
from gleak_sarif.errors import ConfigError
from gleak_sarif.gosource import compile_query
from gleak_sarif.rules.compiled import Atom, RulePack
from gleak_sarif.rules.compiler import engine_code_signature


def prepare_pack(pack: RulePack, sources: list[bytes] | None = None) -> None:
    """Compile the combined anchor query (every rule's anchors, or those that can match in ``sources``).

    Only rule anchors go into it; atoms that relations use run on demand on small ranges (a `has: _`
    would otherwise capture every identifier of every file). A scan of a few files compiles only the
    anchors whose rule's and own prefilter tokens occur in them: tree-sitter compiles a pattern in
    ~2-3 ms, and a pre-commit run on three files needs ~20 of the ~110 anchors.
    """
    present: set[bytes] | None = None
    if sources is not None:  # one search per distinct token over all the files (a superset is fine)
        blob = b"\0".join(sources)
        wanted = {t for rule in pack.rules for a in (rule.root.anchor or []) for t in (*rule.tokens,
                                                                                       *pack.atoms[a].tokens)}
        present = {token for token in wanted if token in blob}
    roots = sorted({a for rule in pack.rules for a in (rule.root.anchor or [])
                    if present is None or (present.issuperset(rule.tokens)
                                           and present.issuperset(pack.atoms[a].tokens))})
    if pack.query is not None and roots == pack.root_atoms:
        return
    for atom in pack.atoms:
        atom.root_pattern = None
    # anchors with the same query text (several rules start at every call_expression) share one pattern:
    # the query engine would otherwise report each node once per copy
    patterns: dict[str, int] = {}
    pattern_atoms: list[list[int]] = []
    for atom_index in roots:
        text = pack.atoms[atom_index].query
        pattern_index = patterns.get(text)
        if pattern_index is None:
            pattern_index = patterns[text] = len(pattern_atoms)
            pattern_atoms.append([])
        pattern_atoms[pattern_index].append(atom_index)
        pack.atoms[atom_index].root_pattern = pattern_index
    pack.query = compile_query("\n".join(patterns)) if roots else None
    if pack.query is not None and pack.query.pattern_count != len(pattern_atoms):
        raise ConfigError(f"internal: {pack.query.pattern_count} query patterns for {len(pattern_atoms)} anchors")
    pack.root_atoms = roots
    pack.pattern_atoms = pattern_atoms
    # atoms of one pattern with the same import checks get the same matches: recorded once per file
    groups: list[list[list[int]]] = []
    for atoms_of in pattern_atoms:
        by_checks: dict[str, list[int]] = {}
        for atom_index in atoms_of:
            by_checks.setdefault(repr(pack.atoms[atom_index].package_checks), []).append(atom_index)
        groups.append(list(by_checks.values()))
    pack.pattern_groups = groups


def _validated_store() -> str | None:
    from gleak_sarif.usercache import user_cache_dir

    return os.path.join(user_cache_dir(), f"validated-{__version__}-{engine_code_signature()}.txt")


_VALIDATED: set[str] | None = None


def validate_atoms(atoms: list[Atom], rule_source: bytes) -> None:
    """Compile each atom's query once to catch errors; remember rule files that passed.

    tree-sitter query compilation is the slowest part of loading rules, so a rule file whose exact bytes
    compiled before (same engine version) is not compiled again; its atoms compile lazily when used. The
    store's lines are signed with the user cache key, so a planted store cannot skip the check.
    """
    from gleak_sarif.usercache import machine_key, sign

    global _VALIDATED
    secret = machine_key()
    store = _validated_store() if secret is not None else None
    digest = hashlib.sha256(rule_source).digest()
    key = sign(digest, secret).hex() if secret is not None else digest.hex()
    if _VALIDATED is None:
        _VALIDATED = set()
        if store and os.path.isfile(store):
            try:
                with open(store, encoding="utf-8") as handle:
                    _VALIDATED = {line.strip() for line in handle}
            except OSError:
                pass
    if key in _VALIDATED:
        return
    for atom in atoms:
        try:
            atom.query_object()
        except (QueryError, ValueError) as err:
            raise ConfigError(f"the query does not compile: {err}", path=atom.path, line=atom.line,
                              hint="check node kinds and field names against tree-sitter-go 0.25 "
                                   "(docs/rule-language.md lists the common ones)") from None
    _VALIDATED.add(key)
    if store:
        try:
            os.makedirs(os.path.dirname(store), exist_ok=True)
            with open(store, "a", encoding="utf-8") as handle:
                handle.write(key + "\n")
        except OSError:
            pass
