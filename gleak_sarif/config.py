"""Options of a scan (from the command line and `.gleak.yml`), validated by pydantic."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from gleak_sarif.model import Severity

# The lowest severity that fails a command (and, in golangci-lint, the lowest that is reported at all).
FailLevel = Literal["error", "warning", "note", "none"]


class ScanOptions(BaseModel):
    """The options of one command, as `gleak_sarif.options.resolve` combines them from the config file
    and the caller; build them there, not field by field, so every command means the same."""

    model_config = ConfigDict(extra="forbid")

    rules: list[str] = Field(default_factory=list)  # extra rule files or folders
    builtin_rules: bool = True
    select: list[str] = Field(default_factory=list)  # rule IDs or prefixes; empty = default set
    ignore: list[str] = Field(default_factory=list)
    jobs: int = 0  # 0 = number of CPUs
    include_vendor: bool = False
    include_testdata: bool = False
    include_generated: bool = False
    include_hidden: bool = False
    follow_symlinks: bool = False  # scan .go links whose target lies outside the scanned tree
    exclude: list[str] = Field(default_factory=list)  # glob patterns of paths to skip
    config_path: str | None = None  # .gleak.yml; None = search upward from the first path
    severity_overrides: dict[str, Severity] = Field(default_factory=dict)
    # report findings in `_test.go` files at the rule's own level, ignoring rules' `severity-in-tests`
    strict_tests: bool = False
    use_cache: bool = True
    cache_dir: str | None = None
    max_file_bytes: int = 20 * 1024 * 1024
    file_timeout_seconds: float = 60.0
    fail_level: FailLevel = "warning"  # read by the commands (exit code, what the server reports), not the engine
    include_tests: bool = True  # scan `_test.go` files (`.gleak.yml` `tests: false`, `--no-tests`)
    respect_gitignore: bool = True  # in a git work tree, skip what git ignores (folders walked, not named files)
    # (glob on the path as the scan shows it, rule IDs or prefixes): findings there are not reported
    per_file_ignores: list[tuple[str, list[str]]] = Field(default_factory=list)
    # `--shard K/N`: scan only the package folders of shard K of N (engine/shard.py); None: every file
    shard: tuple[int, int] | None = None

    def ignored_here(self, rule_id: str, path: str) -> bool:
        """Does a `per-file-ignores` entry drop ``rule_id``'s findings in ``path``?"""
        return any(path_matches(path, glob) and any(rule_id.startswith(p) or p == "ALL" for p in ids)
                   for glob, ids in self.per_file_ignores)


def path_matches(path: str, glob: str) -> bool:
    """Globs of `exclude` and `per-file-ignores`: `*` crosses `/`; a glob without `/` matches the file name
    in any folder; a folder glob matches everything below it."""
    import fnmatch

    if fnmatch.fnmatchcase(path, glob) or fnmatch.fnmatchcase(path, glob.rstrip("/") + "/*"):
        return True
    return "/" not in glob and fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], glob)


CONFIG_NAMES = (".gleak.yml", ".gleak.yaml")
_CONSTRUCTOR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){1,2}$")
_RULE_PREFIX = re.compile(r"^[A-Z]{1,5}[0-9]{0,4}$")
_RELEASE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$")


class ProjectConfig(BaseModel):
    """`.gleak.yml`: found upward from the scanned path. Command-line options win over it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)  # extra rule folders, relative to the config file
    exclude: list[str] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)
    include_vendor: bool = Field(default=False, alias="include-vendor")
    include_testdata: bool = Field(default=False, alias="include-testdata")
    include_generated: bool = Field(default=False, alias="include-generated")
    fail_level: FailLevel | None = Field(default=None, alias="fail-level")
    tests: bool = True  # false: skip `_test.go` files (golangci-lint's `run.tests`)
    # true: findings in `_test.go` files keep the rule's own level (rules' `severity-in-tests` not applied)
    strict_tests: bool = Field(default=False, alias="strict-tests")
    # ruff's per-file-ignores: path glob (relative to this file's folder) -> rule IDs or prefixes
    per_file_ignores: dict[str, list[str]] = Field(default_factory=dict, alias="per-file-ignores")
    # GL507 resource-contract: constructor -> release methods; merged with the built-in table.
    resources: list[ResourceContract] = Field(default_factory=list)


    @field_validator("per_file_ignores")
    @classmethod
    def _rule_ids(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for glob, ids in value.items():
            if not ids:
                raise ValueError(f"{glob!r}: give at least one rule ID or prefix (GL201, GL2, ALL)")
            for rule_id in ids:
                if rule_id != "ALL" and not _RULE_PREFIX.match(rule_id):
                    raise ValueError(f"{glob!r}: {rule_id!r} is not a rule ID or prefix (GL201, GL2, ALL)")
        return value


class ResourceContract(BaseModel):
    model_config = ConfigDict(extra="forbid")

    constructor: str  # e.g. "signal.Notify", "redis.Client.Subscribe"
    release: list[str]  # e.g. ["Stop"], ["Close"]
    package: str | None = None  # import path of the constructor's package, e.g. "os/signal"
    # which value is the resource: the call's first result, or its first argument (signal.Notify's channel)
    handle: Literal["result", "argument"] = "result"

    # Derived values that rule templates (`parameters:`) substitute, so GL507's YAML needs no Python.
    @field_validator("constructor")
    @classmethod
    def _constructor_shape(cls, value: str) -> str:
        if not _CONSTRUCTOR.match(value):
            raise ValueError("write the constructor as pkg.Func or pkg.Type.Method (e.g. net.Listen, "
                             "redis.Client.Subscribe)")
        return value

    @field_validator("release")
    @classmethod
    def _release_shape(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _RELEASE.match(entry):
                raise ValueError(f"release {entry!r}: write a method name (Close) or pkg.Func (signal.Stop)")
        if not value:
            raise ValueError("give at least one release method")
        return value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kind(self) -> str:
        """`function` for pkg.Func, `method` for pkg.Type.Method (matched on any receiver)."""
        return "method" if self.constructor.count(".") == 2 else "function"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def import_path(self) -> str:
        if self.package:
            return self.package
        from gleak_sarif.gosource import BUILTIN_IMPORTS

        return BUILTIN_IMPORTS.get(self.constructor.split(".")[0], "")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def alias(self) -> str:
        """A pattern name unique to the import path, so rows of two packages named alike never clash."""
        if not self.import_path:
            return ""
        return "gleakpkg_" + re.sub(r"[^A-Za-z0-9]", "_", self.import_path)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def call(self) -> str:
        """The callee as a pattern: `<alias>.Notify` (checked against the file's imports), `$RECV.Subscribe`."""
        parts = self.constructor.split(".")
        if len(parts) == 3:
            return f"$_RECV.{parts[2]}"
        return f"{self.alias or parts[0]}.{parts[1]}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def import_regex(self) -> str:
        return re.escape(f'"{self.import_path}"') if self.import_path else ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def release_methods(self) -> str:
        """Release methods as a regex alternation; pkg.Func releases take the handle as an argument, which
        every hand-off check already accepts."""
        methods = [r for r in self.release if "." not in r]
        return "|".join(methods) if methods else r"[^\x00-\x{10FFFF}]"  # matches nothing (RE2: no lookaround)


ProjectConfig.model_rebuild()


def find_config(start: str) -> str | None:
    import os

    current = os.path.abspath(start)
    if os.path.isfile(current):
        current = os.path.dirname(current)
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(current, name)
            if os.path.isfile(candidate):
                return candidate
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def load_project_config(path: str) -> ProjectConfig:
    """Validate `.gleak.yml`; errors name the file and line (exit 2)."""
    import os

    from pydantic import ValidationError

    from gleak_sarif.errors import ConfigError
    from gleak_sarif.yamlload import line_of, load_yaml_text

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config: {err}", path=path) from None
    data = load_yaml_text(text, path)
    if data is None:
        return ProjectConfig()
    if not isinstance(data, dict):
        raise ConfigError("the config must be a YAML mapping", path=path, line=1)
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        message = f"unknown key {loc[-1]!r}" if first["type"] == "extra_forbidden" else (
            f"{'.'.join(str(p) for p in loc)}: {first['msg']}")
        raise ConfigError(message, path=path, line=line_of(data, loc),
                          hint="see docs/configuration.md for the keys") from None
    base = os.path.dirname(os.path.abspath(path))
    config.rules = [os.path.join(base, r) for r in config.rules]
    return config
