"""The YAML rule language, as pydantic models. docs/rule-language.md explains every key.

A rule file holds one rule. Its `rule:` is a *rule object* (ast-grep vocabulary): atoms (`pattern`, `kind`,
`regex`, `query`), relations (`inside`, `has`, `follows`, `precedes`), composition (`all`, `any`, `not`,
`matches`). Keys of one rule object are all required to hold; `all` fixes the order in which metavariables
are bound.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from gleak_sarif.facts import FACTS
from gleak_sarif.facts.base import Fact
from gleak_sarif.model import Precision, Severity
from gleak_sarif.rules.regex import RegexError, check_regex

METAVAR_NAME = re.compile(r"^\$?([A-Z_][A-Z0-9_]*)$")
RULE_ID = re.compile(r"^[A-Z]{2,5}[0-9]{3,4}$")
RULE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
LINTER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PatternObject(_Strict):
    """A snippet that needs surrounding code to parse: the `selector` node kind inside `context`."""

    context: str
    selector: str


class RuleObject(_Strict):
    pattern: str | PatternObject | None = None
    kind: str | None = None
    # a function scope: `function` any function (literal, function or method declaration); `declaration` a
    # top-level one (a declaration, or a function literal at package level). Needs another atom to anchor.
    scope: Literal["function", "declaration"] | None = None
    regex: str | None = None
    query: str | None = None
    inside: Relation | None = None
    has: Relation | None = None
    follows: Relation | None = None
    precedes: Relation | None = None
    all: list[RuleObject] | None = None
    any: list[RuleObject] | None = None
    not_: RuleObject | None = Field(default=None, alias="not")
    matches: str | None = None
    # the node is a call of a same-file/same-package function or method whose declaration matches this
    # (one level, by name; see gleak_sarif/engine/callees.py)
    calls: RuleObject | None = None
    # facts from the package model (gleak_sarif/facts/): locks held here, what the same-package functions a
    # call reaches do
    model: ModelQuery | None = None  # type: ignore[valid-type]
    as_: str | None = Field(default=None, alias="as")  # bind the node this object matched to $NAME
    # the very node bound to $NAME (`pattern: $NAME` alone matches any node with the same text)
    is_: str | None = Field(default=None, alias="is")

    @field_validator("is_")
    @classmethod
    def _is_name(cls, value: str | None) -> str | None:
        if value is not None and not METAVAR_NAME.match(value):
            raise ValueError("`is` takes a metavariable name such as $LOOP or LOOP")
        return value.lstrip("$") if value is not None else None

    @field_validator("as_")
    @classmethod
    def _as_name(cls, value: str | None) -> str | None:
        if value is not None and not METAVAR_NAME.match(value):
            raise ValueError("`as` takes a metavariable name such as $SEND or SEND")
        return value.lstrip("$") if value is not None else None

    @model_validator(mode="after")
    def _not_empty(self) -> RuleObject:
        if not self.model_fields_set - {"stopBy", "field", "stop_by", "as_"}:
            raise ValueError(
                "empty rule object: give at least one of pattern, is, kind, scope, regex, query, "
                "inside, has, follows, precedes, all, any, not, matches"
            )
        return self

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_regex(value)
            except RegexError as err:
                raise ValueError(f"invalid regular expression: {err}") from None
        return value


StopBy = Literal["neighbor", "function", "declaration", "end"]
def _metavar(value: str | None) -> str | None:
    if value is None:
        return None
    if not METAVAR_NAME.match(value):
        raise ValueError(f"{value!r} is not a metavariable name such as $MU")
    return value.lstrip("$")


def _metavar_field(value: object) -> object:
    return _metavar(value) if isinstance(value, str) else value


def _fact_model(fact: Fact[Any]) -> type[BaseModel]:
    """The schema of one `model:` fact, from its options dataclass (gleak_sarif/facts/): a field `a_b` is the
    key `a-b`; fields marked `binds`/`reads` take a metavariable name (`$MU` or `MU`, stored bare)."""
    hints = typing.get_type_hints(fact.spec)
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(cast(Any, fact.spec)):
        kind = hints[item.name]
        if item.metadata.get("metavar"):
            kind = Annotated[kind, BeforeValidator(_metavar_field)]
        default = ... if item.default is dataclasses.MISSING else item.default
        alias = item.name.replace("_", "-")
        fields[item.name] = (kind, Field(default=default, alias=alias if alias != item.name else None))
    name = "".join(part.title() for part in fact.key.split("-")) + "Query"
    return cast("type[BaseModel]", create_model(name, __base__=_Strict, __doc__=fact.holds, **fields))


class _ModelQueryBase(_Strict):
    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        # `held: $MU` is short for `held: {lock: $MU}` (each fact's `shorthand` field)
        if isinstance(value, dict):
            value = dict(value)
            for fact in FACTS:
                if fact.shorthand is not None and isinstance(value.get(fact.key), str):
                    value[fact.key] = {fact.shorthand: value[fact.key]}
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> _ModelQueryBase:
        if not self.model_fields_set:
            keys = [fact.key for fact in FACTS]
            raise ValueError(f"empty model query: give {', '.join(keys[:-1])} or {keys[-1]}")
        return self


# `model:`: one optional key per fact
_FACT_FIELDS: dict[str, Any] = {
    fact.attr: (_fact_model(fact) | None, Field(default=None, alias=fact.key if fact.key != fact.attr else None))
    for fact in FACTS}
ModelQuery = create_model("ModelQuery", __base__=_ModelQueryBase, **_FACT_FIELDS)


class Relation(RuleObject):
    """A rule object plus where the relation may look (`stopBy`) and in which field (`field`)."""

    stop_by: StopBy | RuleObject = Field(default="function", alias="stopBy")
    field: str | None = None


class MetavarConstraint(_Strict):
    regex: str | None = None
    not_regex: str | None = Field(default=None, alias="not-regex")

    @field_validator("regex", "not_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_regex(value)
            except RegexError as err:
                raise ValueError(f"invalid regular expression: {err}") from None
        return value


class Related(_Strict):
    capture: str
    message: str


class FixSpec(_Strict):
    description: str
    target: str | None = None  # metavariable whose node is replaced; default: the primary node
    replace: str
    # Offer this fix only where it is right: `where` must match at the node bound to `at` (default: the
    # primary node), with the finding's metavariables bound; it may bind more for `replace`/`description`.
    at: str | None = None
    where: RuleObject | None = None

    @field_validator("at")
    @classmethod
    def _at_name(cls, value: str | None) -> str | None:
        if value is not None and not METAVAR_NAME.match(value):
            raise ValueError("`at` takes a metavariable name such as $GO")
        return value


class Docs(_Strict):
    summary: str | None = None  # one sentence; default: the first sentence of `what`
    what: str
    why: str
    example: str
    use_instead: str = Field(default="", alias="use-instead")
    references: list[str] = Field(default_factory=list)


class PackageCondition(_Strict):
    regex: str | None = None
    not_regex: str | None = Field(default=None, alias="not-regex")

    @field_validator("regex", "not_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_regex(value)
            except RegexError as err:
                raise ValueError(f"invalid regular expression: {err}") from None
        return value


class VersionSeverity(_Strict):
    """One row of `severity-by-go-version`: the severity for modules whose go.mod matches."""

    go_version: str = Field(alias="go-version")
    severity: Severity


class RuleFile(_Strict):
    id: str
    name: str
    severity: Severity
    precision: Precision
    message: str
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True  # false: only runs when selected explicitly (e.g. the GL101 inventory)
    # names of other linters reporting the same problem (go vet's analyzer, golangci-lint's linter):
    # `//nolint:<name>` on a line silences this rule there too
    equivalent_linters: list[str] = Field(default_factory=list, alias="equivalent-linters")
    files: list[str] = Field(default_factory=list)
    ignores: list[str] = Field(default_factory=list)
    go_version: str | None = Field(default=None, alias="go-version")
    go_version_unknown: Literal["match", "skip"] = Field(default="match", alias="go-version-unknown")
    # first matching row wins; no match (or no go.mod): `severity`
    severity_by_go_version: list[VersionSeverity] = Field(default_factory=list, alias="severity-by-go-version")
    # the level of findings whose primary location is in a `_test.go` file, when lower than the level decided
    # above (a cap): set per rule from its test-file evidence (docs/precision.md); at most `severity`
    severity_in_tests: Severity | None = Field(default=None, alias="severity-in-tests")
    package: PackageCondition | None = None
    imports: dict[str, str] = Field(default_factory=dict)
    utils: dict[str, RuleObject] = Field(default_factory=dict)
    rule: RuleObject
    constraints: dict[str, MetavarConstraint] = Field(default_factory=dict)
    primary: str | None = None
    related: list[Related] = Field(default_factory=list)
    # one fix, or candidates tried in order: the first whose `where` holds is offered (none holds: no fix)
    fix: FixSpec | list[FixSpec] | None = None
    docs: Docs

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError("rule id must look like GL201 (2-5 capital letters, 3-4 digits)")
        return value

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not RULE_NAME.match(value):
            raise ValueError("rule name must be kebab-case, e.g. send-abandoned-by-select")
        return value

    @field_validator("equivalent_linters")
    @classmethod
    def _linter_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not LINTER_NAME.match(name) or name.lower() in ("gleak", "all"):
                raise ValueError(f"{name!r} is not another linter's name (letters, digits, '-', '_')")
        return [name.lower() for name in value]

    @field_validator("tags")
    @classmethod
    def _few_tags(cls, value: list[str]) -> list[str]:
        if len(value) > 10:
            raise ValueError("at most 10 tags (GitHub shows 10)")
        return value


RuleObject.model_rebuild()
Relation.model_rebuild()
FixSpec.model_rebuild()
