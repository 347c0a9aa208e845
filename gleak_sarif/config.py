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
