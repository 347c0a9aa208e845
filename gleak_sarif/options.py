"""The option resolver: `.gleak.yml` plus what the caller said -> the `ScanOptions` of one command.

Every command that reads Go source calls `resolve` (scan, inventory, `runtime ... --with-static`,
`rules fingerprint`, and the engine server behind golangci-lint), so a key of `.gleak.yml` and a flag mean
the same in each of them. The rules of combination are the table in docs/configuration.md:

- `select`: the caller's list replaces the file's;
- `ignore`, `rules`, `exclude`: both lists apply (the file's rule folders first);
- `include-*`: either side turns it on;
- `tests`: the caller's `--tests`/`--no-tests`, else the file's, else true; `per-file-ignores`: the file's;
- `strict-tests`: the caller's `--strict-tests`/`--no-strict-tests`, else the file's, else false;
  `respect_gitignore`: the caller's (default true);
- `severity`, `resources`: from the file (resources reach the rules through `config_path`);
- `fail-level`: the caller's, else the file's, else `warning`.

A new option is added here once (a `Flags` field, a `ProjectConfig` key, a line in `resolve`), and every
command then has it.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

from gleak_sarif.config import FailLevel, ProjectConfig, ScanOptions, find_config, load_project_config
from gleak_sarif.errors import UsageError

DEFAULT_FAIL_LEVEL: FailLevel = "warning"


class Flags(BaseModel):
    """What the caller said (the command line, or a client's settings). A field at its default means
    "not said": the config file, then the built-in default, decides."""

    model_config = ConfigDict(extra="forbid")

    config: str | None = None  # a named config file (must exist)
    no_config: bool = False  # ignore every .gleak.yml
    rules: list[str] = Field(default_factory=list)
    builtin_rules: bool = True
    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)  # globs matched against paths as shown
    include_vendor: bool = False
    include_testdata: bool = False
    include_generated: bool = False
    include_hidden: bool = False
    follow_symlinks: bool = False
    fail_level: FailLevel | None = None
    jobs: int = 0
    use_cache: bool = True
    max_file_size_mib: int = 20
    tests: bool | None = None  # scan `_test.go` files; None: `.gleak.yml` `tests:` (default true)
    # test-file findings at the rule's own level (no `severity-in-tests`); None: `.gleak.yml` `strict-tests:`
    strict_tests: bool | None = None
    respect_gitignore: bool = True
    file_timeout_seconds: float = 60.0
    shard: tuple[int, int] | None = None  # `--shard K/N` (engine/shard.py)


def resolve(flags: Flags, *, search_from: str) -> ScanOptions:
    """The options of one command. ``search_from`` is where `.gleak.yml` is looked for, upward (the
    first scanned path; the working directory for the engine server)."""
    config_path = config_file(flags, search_from)
    project = load_project_config(config_path) if config_path else ProjectConfig()
    return ScanOptions(
        rules=[*project.rules, *flags.rules],
        builtin_rules=flags.builtin_rules,
        select=list(flags.select) or list(project.select),
        ignore=[*flags.ignore, *project.ignore],
        jobs=flags.jobs,
        include_vendor=flags.include_vendor or project.include_vendor,
        include_testdata=flags.include_testdata or project.include_testdata,
        include_generated=flags.include_generated or project.include_generated,
        include_hidden=flags.include_hidden,
        follow_symlinks=flags.follow_symlinks,
        exclude=[*flags.exclude, *(config_excludes(project.exclude, config_path) if config_path else [])],
        config_path=config_path,
        severity_overrides=dict(project.severity),
        fail_level=flags.fail_level or project.fail_level or DEFAULT_FAIL_LEVEL,
        use_cache=flags.use_cache,
        max_file_bytes=flags.max_file_size_mib * 1024 * 1024,
        include_tests=flags.tests if flags.tests is not None else project.tests,
        strict_tests=flags.strict_tests if flags.strict_tests is not None else project.strict_tests,
        respect_gitignore=flags.respect_gitignore,
        per_file_ignores=list(zip(config_excludes(list(project.per_file_ignores), config_path),
                                  project.per_file_ignores.values(), strict=True)) if config_path else [],
        file_timeout_seconds=flags.file_timeout_seconds,
        shard=flags.shard,
    )


def config_file(flags: Flags, search_from: str) -> str | None:
    """The `.gleak.yml` that applies: the named one, none with ``no_config``, else the nearest upward."""
    if flags.no_config:
        return None
    if flags.config:
        if not os.path.isfile(flags.config):
            raise UsageError(f"config file does not exist: {flags.config}")
        return os.path.abspath(flags.config)
    return find_config(search_from)


def config_excludes(patterns: list[str], config_path: str) -> list[str]:
    """`.gleak.yml` exclude globs are relative to the config's folder; discovery matches paths as shown
    (relative to the working directory, or absolute outside it), so anchor globs that name a folder."""
    from gleak_sarif.engine.discover import display_path

    base = display_path(os.path.dirname(os.path.abspath(config_path)))
    out = []
    for pattern in patterns:
        if "/" not in pattern or pattern.startswith(("/", "*")) or base == ".":
            out.append(pattern)  # a bare name glob (`*_gen.go`) matches in any folder already
        else:
            out.append(f"{base.rstrip('/')}/{pattern}")
    return out
