"""Options of a scan (from the command line and `.gleak.yml`), validated by pydantic."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gleak_sarif.model import Severity


class ScanOptions(BaseModel):
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
    exclude: list[str] = Field(default_factory=list)  # glob patterns of paths to skip
    config_path: str | None = None  # .gleak.yml; None = search upward from the first path
    severity_overrides: dict[str, Severity] = Field(default_factory=dict)
    use_cache: bool = True
    cache_dir: str | None = None
    max_file_bytes: int = 20 * 1024 * 1024
    file_timeout_seconds: float = 60.0


CONFIG_NAMES = (".gleak.yml", ".gleak.yaml")


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
    # GL507 resource-contract: constructor -> release methods; merged with the built-in table.
    resources: list[ResourceContract] = Field(default_factory=list)


class ResourceContract(BaseModel):
    model_config = ConfigDict(extra="forbid")

    constructor: str  # e.g. "signal.Notify", "redis.Client.Subscribe"
    release: list[str]  # e.g. ["Stop"], ["Close"]
    package: str | None = None  # import path of the constructor's package, e.g. "os/signal"


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
    from gleak_sarif.rules.yamlload import line_of, load_yaml_text

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
