"""The YAML rule language, as pydantic models. docs/rule-language.md explains every key.

A rule file holds one rule. Its `rule:` is a *rule object* (ast-grep vocabulary): atoms (`pattern`, `kind`,
`regex`, `query`), relations (`inside`, `has`, `follows`, `precedes`), composition (`all`, `any`, `not`,
`matches`). Keys of one rule object are all required to hold; `all` fixes the order in which metavariables
are bound.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gleak_sarif.model import Precision, Severity

METAVAR_NAME = re.compile(r"^\$?([A-Z_][A-Z0-9_]*)$")
RULE_ID = re.compile(r"^[A-Z]{2,5}[0-9]{3,4}$")
RULE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PatternObject(_Strict):
    """A snippet that needs surrounding code to parse: the `selector` node kind inside `context`."""

    context: str
    selector: str


class RuleObject(_Strict):
    pattern: str | PatternObject | None = None
    kind: str | None = None
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
    as_: str | None = Field(default=None, alias="as")  # bind the node this object matched to $NAME

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
                "empty rule object: give at least one of pattern, kind, regex, query, "
                "inside, has, follows, precedes, all, any, not, matches"
            )
        return self

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"invalid regular expression: {err}") from None
        return value


StopBy = Literal["neighbor", "function", "declaration", "end"]


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
                re.compile(value)
            except re.error as err:
                raise ValueError(f"invalid regular expression: {err}") from None
        return value


class Related(_Strict):
    capture: str
    message: str


class FixSpec(_Strict):
    description: str
    target: str | None = None  # metavariable whose node is replaced; default: the primary node
    replace: str


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
    files: list[str] = Field(default_factory=list)
    ignores: list[str] = Field(default_factory=list)
    go_version: str | None = Field(default=None, alias="go-version")
    go_version_unknown: Literal["match", "skip"] = Field(default="match", alias="go-version-unknown")
    # first matching row wins; no match (or no go.mod): `severity`
    severity_by_go_version: list[VersionSeverity] = Field(default_factory=list, alias="severity-by-go-version")
    package: PackageCondition | None = None
    imports: dict[str, str] = Field(default_factory=dict)
    utils: dict[str, RuleObject] = Field(default_factory=dict)
    rule: RuleObject
    constraints: dict[str, MetavarConstraint] = Field(default_factory=dict)
    primary: str | None = None
    related: list[Related] = Field(default_factory=list)
    fix: FixSpec | None = None
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

    @field_validator("tags")
    @classmethod
    def _few_tags(cls, value: list[str]) -> list[str]:
        if len(value) > 10:
            raise ValueError("at most 10 tags (GitHub shows 10)")
        return value


RuleObject.model_rebuild()
Relation.model_rebuild()
