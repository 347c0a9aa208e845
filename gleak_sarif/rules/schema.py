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
from gleak_sarif.rules.regex import RegexError, check_regex

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
    # facts from the package model (gleak_sarif/engine/package_model.py): locks held here, what the
    # same-package functions a call reaches do
    model: ModelQuery | None = None
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
                "empty rule object: give at least one of pattern, kind, scope, regex, query, "
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
LockMode = Literal["write", "read", "any"]


def _metavar(value: str | None) -> str | None:
    if value is None:
        return None
    if not METAVAR_NAME.match(value):
        raise ValueError(f"{value!r} is not a metavariable name such as $MU")
    return value.lstrip("$")


class _ModelPart(_Strict):
    @field_validator("*", mode="before")
    @classmethod
    def _names(cls, value: object, info: object) -> object:
        name = getattr(info, "field_name", "")
        if name in _METAVAR_FIELDS and isinstance(value, str):
            return _metavar(value)
        return value


# fields of model queries that hold metavariable names
_METAVAR_FIELDS = {"lock", "at", "via", "held", "other", "unblocker_holds", "unblocker", "unstopped_on", "stop",
                   "arg", "chan"}


class HeldQuery(_ModelPart):
    """`held:` a lock is held at this node (straight-line view of the enclosing function)."""

    lock: str  # binds (or compares with) the locked expression, e.g. $MU for `c.mu`
    mode: LockMode = "any"
    at: str | None = None  # bind the `Lock()` call


class CallsLockingQuery(_ModelPart):
    """`calls-locking:` a call of a same-package function that locks this lock (in the caller's terms)."""

    lock: str
    mode: LockMode = "any"
    via: str | None = None  # bind the path to the lock (a location in the callee's file)


class CallsBlockingQuery(_ModelPart):
    """`calls-blocking:` a call of a same-package function that blocks on a channel or a Wait."""

    unblocker_holds: str | None = Field(default=None, alias="unblocker-holds")
    via: str | None = None
    unblocker: str | None = None  # bind the unblocking side's operation


class CallsStartingQuery(_ModelPart):
    """`calls-starting:` a call of a same-package method that starts a goroutine."""

    stoppable: bool = False  # the goroutine waits on a channel of the type that only another method closes
    unstopped_on: str | None = Field(default=None, alias="unstopped-on")
    via: str | None = None
    stop: str | None = None  # bind the stopping method's close


class PassesQuery(_ModelPart):
    """`passes:` a call or `go` of a same-package function that operates on the argument `arg`."""

    arg: str  # binds (or compares with) the argument, e.g. $CH
    op: Literal["send", "recv", "range", "close", "any"] = "any"
    bare: bool = False  # only sends/receives that are not `select` cases
    via: str | None = None  # bind the operation in the callee
    # the callee does `op` on the argument at one place, at most once per call: not in a loop, nor through a
    # call made in a loop (e.g. for a fix that gives a channel one buffer slot per goroutine)
    once: bool = False


class LockOrderQuery(_ModelPart):
    """`lock-order-inverted:` this node takes a lock while `held` is held; elsewhere the order is reversed."""

    held: str
    other: str | None = None  # bind the site that takes them in the other order


class BufferedQuery(_ModelPart):
    """`buffered:` the channel operation at this node is on `chan`, which the package makes with a buffer."""

    chan: str  # compares with the channel expression, e.g. $CH (bound before)


class ModelQuery(_Strict):
    held: HeldQuery | None = None
    calls_locking: CallsLockingQuery | None = Field(default=None, alias="calls-locking")
    calls_blocking: CallsBlockingQuery | None = Field(default=None, alias="calls-blocking")
    calls_starting: CallsStartingQuery | None = Field(default=None, alias="calls-starting")
    lock_order_inverted: LockOrderQuery | None = Field(default=None, alias="lock-order-inverted")
    passes: PassesQuery | None = None
    buffered: BufferedQuery | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        # `held: $MU` and `calls-locking: $MU` are short for `{lock: $MU}`, `buffered: $CH` for `{chan: $CH}`
        if isinstance(value, dict):
            value = dict(value)
            for key in ("held", "calls-locking"):
                if isinstance(value.get(key), str):
                    value[key] = {"lock": value[key]}
            if isinstance(value.get("buffered"), str):
                value["buffered"] = {"chan": value["buffered"]}
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> ModelQuery:
        if not self.model_fields_set:
            raise ValueError("empty model query: give held, calls-locking, calls-blocking, calls-starting, "
                             "lock-order-inverted, passes or buffered")
        return self


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

    @field_validator("tags")
    @classmethod
    def _few_tags(cls, value: list[str]) -> list[str]:
        if len(value) > 10:
            raise ValueError("at most 10 tags (GitHub shows 10)")
        return value


ModelQuery.model_rebuild()
RuleObject.model_rebuild()
Relation.model_rebuild()
FixSpec.model_rebuild()
