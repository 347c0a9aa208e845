"""The static engine: discover Go files, parse them, evaluate compiled rules, return typed findings.

Public API (used by the CLI, the golangci-lint bridge server and the runtime `--with-static` mode):

    engine = Engine(ScanOptions(...))      # loads and compiles rules once; raises ConfigError
    result = engine.scan(["./..."])        # -> ScanResult (findings sorted, notifications)
    engine.rules                           # list[RuleMeta] of the enabled rules
    engine.fingerprint                     # hex digest of engine version + rules + config
"""

from gleak_sarif.engine.scan import Engine

__all__ = ["Engine"]
