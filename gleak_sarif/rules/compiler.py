"""Turn validated rule files into one program: every atom a tree-sitter query (the anchors later run as ONE
combined query, rules/query.py), plus a tree of relational checks evaluated in Python on the matched nodes
(gleak_sarif/engine/evaluate.py). The compiled types are in rules/compiled.py.

Compile-time checks reject what tree-sitter would silently accept: unknown node kinds and fields,
predicates it would treat as true, metavariables used before any atom binds them, cycles in `utils`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import re
from typing import TYPE_CHECKING, Any

from tree_sitter import QueryError

from gleak_sarif import __version__, facts
from gleak_sarif.errors import ConfigError
from gleak_sarif.gosource import BUILTIN_IMPORTS, GO, compile_query, parse_version_condition
from gleak_sarif.model import RuleMeta
from gleak_sarif.rules.compiled import (
    Atom,
    CFix,
    CNode,
    CompiledRule,
    CRelation,
    RuleOutput,
    RulePack,
    identities,
    mentions,
    plan,
    required_callee_tokens,
    required_package_tokens,
    rule_nodes,
    rule_roots,
)
from gleak_sarif.rules.pattern import KIND_TOKENS, PatternError, compile_snippet
from gleak_sarif.rules.regex import (
    RegexError,
    compile_regex,
    rewrite_match_predicates,
    rewritten_regexes,
)

if TYPE_CHECKING:
    # Only the compile step reads the rule schema (imported there): a compiled pack holds no pydantic
    # rule objects, so loading a pickled pack does not import or rebuild the schema's 19 models.
    from pydantic import BaseModel

    from gleak_sarif.rules.schema import PatternObject, Relation, RuleFile, RuleObject


ALLOWED_PREDICATES = frozenset(
    {
        "eq?",
        "not-eq?",
        "any-eq?",
        "any-not-eq?",
        "match?",
        "not-match?",
        "any-match?",
        "any-not-match?",
        "any-of?",
        "not-any-of?",
    }
)
_PREDICATE = re.compile(r"#([A-Za-z_-]+[?!])")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_METAVAR_REF = re.compile(r"\$([A-Z_][A-Z0-9_]*)")
_LONE_METAVAR = re.compile(r"^\s*\$([A-Z_][A-Z0-9_]*)\s*$")


def line_of(data: Any, loc: tuple[Any, ...]) -> int | None:
    """The rule file line of a key (imported late: PyYAML stays off the path of a cached pack)."""
    from gleak_sarif.yamlload import line_of as yaml_line_of

    return yaml_line_of(data, loc)


def compile_model(query: BaseModel) -> facts.ModelQuery:
    """A validated `model:` as (fact key, its options) in the order the facts run; the options are the fact's
    own dataclass, so a compiled pack holds no pydantic objects."""
    out = []
    for fact in facts.FACTS:
        value = getattr(query, fact.attr)
        if value is not None:
            out.append((fact.key, fact.spec(**{item.name: getattr(value, item.name)
                                               for item in dataclasses.fields(fact.spec)})))
    return tuple(out)


class _RuleCompiler:
    def __init__(self, spec: RuleFile, data: Any, path: str, atoms: list[Atom]) -> None:
        self.spec = spec
        self.data = data
        self.path = path
        self.atoms = atoms
        self.imports = {**BUILTIN_IMPORTS, **spec.imports}
        self.utils: dict[str, CNode] = {}
        self.util_stack: list[str] = []

    def error(self, message: str, loc: tuple[Any, ...], hint: str = "") -> ConfigError:
        return ConfigError(message, path=self.path, line=line_of(self.data, loc), hint=hint)

    def add_atom(
        self,
        query: str,
        metavars: set[str],
        checks: list[tuple[str, str]],
        tokens: set[bytes],
        loc: tuple[Any, ...],
    ) -> int:
        # compiled lazily (validate_atoms checks new rule files once): tree-sitter compilation is slow
        atom = Atom(len(self.atoms), query, metavars, checks, tokens, None, None, self.path,
                    line_of(self.data, loc))
        self.atoms.append(atom)
        return atom.index

    def compile_object(self, obj: RuleObject, loc: tuple[Any, ...], bound: set[str]) -> CNode:
        """``bound``: metavariables bound by earlier items of enclosing `all` lists (for error checks)."""
        node = CNode()
        node.as_ = obj.as_
        if obj.pattern is not None:
            lone = _LONE_METAVAR.match(obj.pattern) if isinstance(obj.pattern, str) else None
            if lone is not None:
                name = lone.group(1)
                if name not in bound:
                    raise self.error(
                        f"pattern ${name} alone matches a node with the same text as ${name}, but nothing "
                        "binds it earlier",
                        loc + ("pattern",),
                        f"bind ${name} in an earlier item of `all`; to match any node use `kind`",
                    )
                node.same_as = name
            else:
                node.atoms.append(self.compile_pattern(obj.pattern, loc + ("pattern",)))
        if obj.is_ is not None:
            if obj.is_ not in bound:
                raise self.error(
                    f"`is: ${obj.is_}` matches the node bound to ${obj.is_}, but nothing binds it earlier",
                    loc + ("is",),
                    f"bind ${obj.is_} in an earlier item of `all` (a pattern or `as:`)",
                )
            node.same_node = obj.is_
        if obj.kind is not None:
            if not GO.id_for_node_kind(obj.kind, True):
                raise self.error(
                    f"unknown node kind {obj.kind!r}",
                    loc + ("kind",),
                    "kinds are tree-sitter-go node types such as go_statement, send_statement",
                )
            node.kind = obj.kind
            if obj.kind in KIND_TOKENS:
                node.tokens.add(KIND_TOKENS[obj.kind])
        node.scope = obj.scope
        if obj.query is not None:
            node.atoms.append(self.compile_query(obj.query, loc + ("query",)))
        if obj.regex is not None:
            node.regex = compile_regex(obj.regex)
        for index in node.atoms:
            node.binds |= self.atoms[index].metavars
            node.tokens |= self.atoms[index].tokens
        if obj.matches is not None:
            node.matches = self.compile_util(obj.matches, loc + ("matches",), bound | node.binds)
            node.binds |= node.matches.binds
            node.tokens |= node.matches.tokens
        for rel_name in ("inside", "has", "follows", "precedes"):
            relation: Relation | None = getattr(obj, rel_name)
            if relation is None:
                continue
            rel_loc = loc + (rel_name,)
            sub = self.compile_object(relation, rel_loc, bound | node.binds)
            if rel_name != "inside":
                # `has`/`follows`/`precedes` enumerate the nodes of a range: a `kind:` target gets a query
                # atom too (its matches indexed once per file), not a walk of every node of the range per
                # question (GL406 on a long function: every return after every lock)
                self.make_enumerable(sub, rel_loc)
            stop: str | CNode
            if not isinstance(relation.stop_by, str):
                stop = self.compile_object(relation.stop_by, rel_loc + ("stopBy",), set())
            else:
                stop = relation.stop_by
            if relation.field is not None and not GO.field_id_for_name(relation.field):
                raise self.error(
                    f"unknown field {relation.field!r}",
                    rel_loc + ("field",),
                    "fields are tree-sitter-go field names such as body, function, arguments",
                )
            node.relations.append((rel_name, CRelation(sub, stop, relation.field)))
            node.binds |= sub.binds
            node.tokens |= sub.tokens
        if obj.calls is not None:
            # evaluated on a declaration that may be in another file: no bindings flow in or out, and
            # its tokens are not this file's (no prefilter)
            node.calls = self.compile_object(obj.calls, loc + ("calls",), set())
        if obj.model is not None:
            query = compile_model(obj.model)
            for key, spec in query:
                check = facts.BY_KEY[key].check
                for option, problem in check(spec) if check is not None else []:
                    raise self.error(f"`model: {key}`: {problem}", loc + ("model", key, option))
            reads, binds = facts.metavariables(query)
            unbound = reads - bound - node.binds - binds
            if unbound:
                name = sorted(unbound)[0]
                raise self.error(
                    f"${name} is used in `model:` but nothing binds it before",
                    loc + ("model",),
                    f"bind ${name} earlier (a pattern, `as:`, or `model: {{held: ${name}}}`)",
                )
            node.model = query
            node.model_reads = reads
            node.binds |= binds
            node.tokens |= facts.file_tokens(query)
        if obj.all is not None:
            items = []
            seen = set(bound | node.binds)
            for index, item in enumerate(obj.all):
                compiled = self.compile_object(item, loc + ("all", index), seen)
                later = set()
                for later_item in obj.all[index + 1 :]:
                    later |= self._mentions(later_item)
                if item.not_ is not None:
                    used_late = (self._mentions(item.not_) & later) - seen
                    if used_late:
                        name = sorted(used_late)[0]
                        raise self.error(
                            f"${name} is used in `not` before any earlier item of `all` binds it",
                            loc + ("all", index),
                            f"move the item that binds ${name} before this `not`",
                        )
                items.append(compiled)
                seen |= compiled.binds
                node.binds |= compiled.binds
                node.tokens |= compiled.tokens
            node.all = items
        if obj.any is not None:
            branches = [
                self.compile_object(item, loc + ("any", i), bound | node.binds)
                for i, item in enumerate(obj.any)
            ]
            node.any = branches
            common = set.intersection(*(b.tokens for b in branches)) if branches else set()
            node.tokens |= common
            # a metavariable is bound after `any` only if every branch binds it
            node.binds |= set.intersection(*(b.binds for b in branches)) if branches else set()
        if obj.not_ is not None:
            node.not_ = self.compile_object(obj.not_, loc + ("not",), bound | node.binds)
        if node.as_ is not None:
            node.binds.add(node.as_)
        node.anchor = self._anchor(node)
        return node

    def make_enumerable(self, node: CNode, loc: tuple[Any, ...]) -> None:
        """Give a rule's root a query atom to enumerate candidates: `kind` alone needs one here."""
        if node.anchor is not None:
            return
        if node.kind is not None:
            tokens = {KIND_TOKENS[node.kind]} if node.kind in KIND_TOKENS else set()
            atom = self.add_atom(f"(({node.kind}) @__match)", set(), [], tokens, loc)
            node.anchor = [atom]
            return
        if node.matches is not None:
            self.make_enumerable(node.matches, loc)
            node.anchor = node.matches.anchor
        elif node.all:
            self.make_enumerable(node.all[0], loc + ("all", 0))
            node.anchor = node.all[0].anchor
        elif node.any:
            for index, branch in enumerate(node.any):
                self.make_enumerable(branch, loc + ("any", index))
            node.anchor = self._anchor(node)

    @staticmethod
    def _anchor(node: CNode) -> list[int] | None:
        if node.atoms:
            return [node.atoms[0]]
        if node.matches is not None and node.matches.anchor is not None:
            return node.matches.anchor
        if node.all:
            for item in node.all:
                if item.anchor is not None:
                    return item.anchor
        if node.any:
            union: list[int] = []
            for branch in node.any:
                if branch.anchor is None:
                    return None
                union.extend(a for a in branch.anchor if a not in union)
            return union
        return None

    def _mentions(self, obj: RuleObject) -> set[str]:
        text = obj.model_dump_json(by_alias=True, exclude_none=True)
        names = set(_METAVAR_REF.findall(text))
        stack = [obj]
        while stack:  # `model:` keeps bare names (no `$`) in its fields
            current = stack.pop()
            if current.model is not None:
                reads, binds = facts.metavariables(compile_model(current.model))
                names |= reads | binds
            for child in (current.inside, current.has, current.follows, current.precedes, current.not_):
                if child is not None:
                    stack.append(child)
            stack.extend(current.all or [])
            stack.extend(current.any or [])
        return names

    def compile_pattern(self, pattern: str | PatternObject, loc: tuple[Any, ...]) -> int:
        try:
            if not isinstance(pattern, str):
                compiled = compile_snippet(pattern.context, self.imports, pattern.selector)
            else:
                compiled = compile_snippet(pattern, self.imports)
        except PatternError as err:
            raise self.error(str(err), loc) from None
        return self.add_atom(compiled.query, compiled.metavars, compiled.package_checks, compiled.tokens, loc)

    def compile_query(self, text: str, loc: tuple[Any, ...]) -> int:
        stripped = _STRING.sub('""', text)
        for name in _PREDICATE.findall(stripped):
            if name not in ALLOWED_PREDICATES:
                raise self.error(
                    f"unknown or unsupported query predicate #{name}",
                    loc,
                    "tree-sitter silently treats unknown predicates as true; use one of "
                    + ", ".join("#" + p for p in sorted(ALLOWED_PREDICATES)),
                )
        # the `#match?` family runs on RE2 (rules/regex.py): a backtracking regex here could hang a scan
        text = rewrite_match_predicates(text)
        for regex in rewritten_regexes(text):
            try:
                compile_regex(regex)
            except RegexError as err:
                raise self.error(f"invalid regular expression in a #match? predicate: {err}", loc) from None
        try:
            standalone = compile_query(text)
        except (QueryError, ValueError) as err:
            raise self.error(f"the query does not compile: {err}", loc) from None
        if standalone.pattern_count != 1:
            raise self.error(
                "a `query` atom must be exactly one pattern",
                loc,
                "use `any:` with several `query` atoms for alternatives",
            )
        if re.search(r"@match\b", text):
            body = re.sub(r"@match\b", "@__match", text)
        else:
            end = _first_sexp_end(text)
            if end is None:
                raise self.error("cannot find the query's pattern", loc)
            body = text[:end] + " @__match" + text[end:]
        metavars = {m for m in re.findall(r"@([A-Z_][A-Z0-9_]*)\b", body) if not m.startswith("_")}
        return self.add_atom(f"({body})", metavars, [], set(), loc)

    def compile_util(self, name: str, loc: tuple[Any, ...], bound: set[str]) -> CNode:
        if name in self.utils:
            return self.utils[name]
        if name not in self.spec.utils:
            raise self.error(
                f"`matches: {name}` names no util", loc, "define it under `utils:` in the same rule file"
            )
        if name in self.util_stack:
            cycle = " -> ".join([*self.util_stack, name])
            raise self.error(f"cycle in utils: {cycle}", ("utils", name))
        self.util_stack.append(name)
        compiled = self.compile_object(self.spec.utils[name], ("utils", name), bound)
        self.util_stack.pop()
        self.utils[name] = compiled
        return compiled


def _first_sexp_end(text: str) -> int | None:
    depth = 0
    in_string = False
    escaped = False
    started = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == ";":
            continue
        elif char in "([":
            depth += 1
            started = True
        elif char in ")]":
            depth -= 1
            if depth == 0 and started:
                return index + 1
    return None


def first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", flat)
    return match.group(1) if match else flat


def _may_bind(node: CNode) -> set[str]:
    """Metavariables some match of ``node`` binds: every branch of `any` counts (a `not` binds nothing)."""
    found = set(node.binds)
    children = [*(node.all or ()), *(node.any or ()), *(relation.rule for _, relation in node.relations)]
    if node.matches is not None:
        children.append(node.matches)
    for child in children:
        found |= _may_bind(child)
    return found


def compile_rule(spec: RuleFile, data: Any, path: str, atoms: list[Atom]) -> CompiledRule:
    compiler = _RuleCompiler(spec, data, path, atoms)
    root = compiler.compile_object(spec.rule, ("rule",), set())
    compiler.make_enumerable(root, ("rule",))
    if root.anchor is None:
        raise compiler.error(
            "the rule has no pattern, kind or query that finds candidate nodes",
            ("rule",),
            "start the rule (or the first item of `all`) with a `pattern`, `kind` or `query`",
        )
    bound = root.binds
    for var in _METAVAR_REF.findall(spec.message):
        if var not in bound:
            raise compiler.error(
                f"the message uses ${var}, which the rule never binds",
                ("message",),
                f"bind ${var} in a pattern, or remove it from the message",
            )

    def check_capture(name: str, loc: tuple[Any, ...]) -> str:
        bare = name.lstrip("$")
        if bare not in bound:
            raise compiler.error(f"${bare} is not bound by the rule", loc)
        return bare

    if spec.primary is not None:
        check_capture(spec.primary, ("primary",))
    # a related location may come from one branch of an `any` only (an optional `model:` binding): it is
    # shown when the match bound it; its message may name that capture, other variables must always be bound
    maybe = _may_bind(root)
    for index, related in enumerate(spec.related):
        capture = related.capture.lstrip("$")
        if capture not in maybe:
            check_capture(related.capture, ("related", index, "capture"))
        for var in _METAVAR_REF.findall(related.message):
            if var != capture:
                check_capture(var, ("related", index, "message"))
    fixes = _compile_fixes(compiler, spec, bound)
    constraints = {}
    for var, constraint in spec.constraints.items():
        bare = check_capture(var, ("constraints", var))
        constraints[bare] = (
            compile_regex(constraint.regex) if constraint.regex else None,
            compile_regex(constraint.not_regex) if constraint.not_regex else None,
        )
    go_version = None
    if spec.go_version is not None:
        try:
            go_version = parse_version_condition(spec.go_version)
        except ValueError as err:
            raise compiler.error(str(err), ("go-version",)) from None
    severity_by_version = []
    for index, row in enumerate(spec.severity_by_go_version):
        try:
            severity_by_version.append((parse_version_condition(row.go_version), row.severity))
        except ValueError as err:
            raise compiler.error(str(err), ("severity-by-go-version", index, "go-version")) from None
    if spec.severity_in_tests is not None and spec.severity_in_tests.rank > spec.severity.rank:
        raise compiler.error(f"severity-in-tests ({spec.severity_in_tests.value}) is higher than the rule's "
                             f"severity ({spec.severity.value})", ("severity-in-tests",),
                             hint="it lowers a rule's level in test files; it cannot raise it")
    docs = spec.docs
    meta = RuleMeta(
        id=spec.id,
        name=spec.name,
        severity=spec.severity,
        severity_in_tests=spec.severity_in_tests,
        precision=spec.precision,
        tags=spec.tags,
        summary=docs.summary or first_sentence(docs.what),
        what=docs.what.strip(),
        why=docs.why.strip(),
        example=docs.example.strip("\n"),
        use_instead=docs.use_instead.strip("\n"),
        references=docs.references,
        enabled_by_default=spec.enabled,
        equivalent_linters=spec.equivalent_linters,
        has_fix=bool(fixes),
        source_path=path,
    )
    package = spec.package
    return CompiledRule(
        meta=meta,
        output=RuleOutput(
            message=spec.message,
            primary=spec.primary,
            related=[(r.capture, r.message) for r in spec.related],
            fixes=fixes,
            files=spec.files,
            ignores=spec.ignores,
            go_version_unknown=spec.go_version_unknown,
        ),
        root=root,
        tokens=frozenset(root.tokens),
        go_version=go_version,
        constraints=constraints,
        package_regex=compile_regex(package.regex) if package and package.regex else None,
        package_not_regex=compile_regex(package.not_regex) if package and package.not_regex else None,
        source_path=path,
        severity_by_version=severity_by_version,
    )


def _compile_fixes(compiler: _RuleCompiler, spec: RuleFile, bound: set[str]) -> list[CFix]:
    """`fix:` as candidates. Each may read the rule's metavariables and those its own `where` binds."""
    if spec.fix is None:
        return []
    listed = isinstance(spec.fix, list)
    candidates = spec.fix if isinstance(spec.fix, list) else [spec.fix]
    out = []
    for index, candidate in enumerate(candidates):
        loc: tuple[Any, ...] = ("fix", index) if listed else ("fix",)
        for name, key in ((candidate.target, "target"), (candidate.at, "at")):
            if name is not None and name.lstrip("$") not in bound:
                raise compiler.error(f"{name} is not bound by the rule", loc + (key,))
        where = None
        known = set(bound)
        if candidate.where is not None:
            where = compiler.compile_object(candidate.where, loc + ("where",), set(bound))
            known |= where.binds
        for key, text in (("replace", candidate.replace), ("description", candidate.description)):
            for var in _METAVAR_REF.findall(text):
                if var not in known:
                    raise compiler.error(f"${var} is not bound by the rule or this fix's `where`", loc + (key,))
        out.append(CFix(candidate.description, candidate.target.lstrip("$") if candidate.target else None,
                        candidate.replace, candidate.at.lstrip("$") if candidate.at else None, where))
    return out


def build_pack(rules: list[CompiledRule], atoms: list[Atom], sources: list[bytes]) -> RulePack:
    for rule in rules:
        for node in rule_nodes(*rule_roots(rule)):
            node.mentions = mentions(node)
            node.identities = identities(node)
            node.steps = plan(node)
        rule.callee_tokens = required_callee_tokens(rule.root)
        rule.package_tokens = required_package_tokens(rule.root)
    digest = hashlib.sha256(__version__.encode())
    for source in sorted(sources):
        digest.update(hashlib.sha256(source).digest())
    for rule in sorted(rules, key=lambda r: r.meta.id):
        digest.update(rule.meta.id.encode())
    return RulePack(rules=rules, atoms=atoms, query=None, fingerprint=digest.hexdigest()[:16])


@functools.cache
def engine_code_signature() -> str:
    """Size and mtime of the code that turns rules into programs, for the user-cache keys.

    The version alone is not enough in a source checkout: an edited compiler with the same version
    must not reuse packs or validations made by the old one.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    facts_dir = os.path.join(os.path.dirname(here), "facts")  # compiled packs hold the facts' option objects
    files = [os.path.join(folder, name) for folder in (here, facts_dir) for name in sorted(os.listdir(folder))
             if name.endswith(".py")]
    files.append(os.path.join(os.path.dirname(here), "gosource.py"))
    files.append(os.path.join(os.path.dirname(here), "model.py"))  # packs hold RuleMeta objects
    parts = []
    for path in files:
        try:
            info = os.stat(path)
        except OSError:
            continue
        parts.append(f"{os.path.relpath(path, os.path.dirname(here))}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
