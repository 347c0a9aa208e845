"""Table-driven rules: a rule file with `parameters:` is a template expanded once per table row.

    parameters:
      from-config: resources      # optional: rows of this `.gleak.yml` list key are appended
      rows: [{constructor: net.Listen, release: [Close]}, ...]
    rule: {all: [{pattern: "$H := {{call}}($$$)"}, ...]}

Each row substitutes `{{name}}` in the strings of `rule` and `imports`; the rule becomes `any:` of the
expanded copies, so the table stays one rule (one ID, one SARIF rule) however many rows it has. Rows
named by `from-config` are validated by the project config's model, built-in rows too, so both get the
same defaults and derived values. A mapping inside a list may carry `when: {field: value}`: it is kept
only for rows whose field equals the value (or one of a list of values). Nothing here knows any rule.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from gleak_sarif.errors import ConfigError

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")
_KEYS = frozenset({"rows", "from-config"})

Row = dict[str, Any]


def _value(row: Row, name: str, path: str) -> str:
    if name not in row:
        raise ConfigError(
            f"the template uses {{{{{name}}}}}, which the table rows do not have",
            path=path,
            hint="row fields: " + ", ".join(sorted(row)),
        )
    value = row[name]
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(str(v) for v in value)  # a list becomes a regex alternation
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _keep(item: Any, row: Row, path: str) -> bool:
    if not isinstance(item, dict) or "when" not in item:
        return True
    condition = item["when"]
    if not isinstance(condition, dict):
        raise ConfigError("`when` takes a mapping of row field -> value", path=path)
    for name, wanted in condition.items():
        actual = _value(row, str(name), path)
        allowed = [str(w) for w in wanted] if isinstance(wanted, list) else [str(wanted)]
        if actual not in allowed:
            return False
    return True


def substitute(obj: Any, row: Row, path: str) -> Any:
    """A copy of ``obj`` with `{{name}}` replaced and `when:` items filtered for ``row``."""
    if isinstance(obj, str):
        return _PLACEHOLDER.sub(lambda m: _value(row, m.group(1), path), obj)
    if isinstance(obj, list):
        return [substitute(item, row, path) for item in obj if _keep(item, row, path)]
    if isinstance(obj, dict):
        return {
            substitute(key, row, path) if isinstance(key, str) else key: substitute(value, row, path)
            for key, value in obj.items()
            if key != "when"
        }
    return obj


def _validated_rows(key: str, rows: list[Any], path: str, where: str) -> list[Row]:
    from gleak_sarif.config import ProjectConfig

    field = ProjectConfig.model_fields.get(key)
    if field is None or not (field.annotation and "list" in str(field.annotation)):
        raise ConfigError(f"parameters.from-config: {key!r} is not a list key of .gleak.yml", path=path)
    try:
        config = ProjectConfig.model_validate({key: rows})
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where} row {loc}: {first['msg']}", path=path) from None
    return [item.model_dump(mode="json") for item in getattr(config, key)]


def expand(data: dict[str, Any], path: str, config_rows: dict[str, list[Row]]) -> tuple[bool, bytes]:
    """Expand a template rule in place. Returns (has rows, bytes that identify the rows for the cache key).

    ``config_rows``: list keys of the project's `.gleak.yml` -> rows as given by the user (unvalidated).
    """
    params = data.pop("parameters")
    if not isinstance(params, dict) or set(params) - _KEYS:
        raise ConfigError(
            "`parameters` takes `rows` (a list of mappings) and optionally `from-config` (a .gleak.yml key)",
            path=path,
            line=getattr(params, "line", None),
        )
    rows: list[Row] = list(params.get("rows") or [])
    if not all(isinstance(r, dict) for r in rows):
        raise ConfigError("parameters.rows: every row is a mapping", path=path)
    key = params.get("from-config")
    if key is not None:
        rows = _validated_rows(str(key), rows, path, "built-in") + _validated_rows(
            str(key), list(config_rows.get(str(key), [])), path, f".gleak.yml {key}"
        )
    if not rows:
        return False, b""
    template = data.get("rule")
    data["rule"] = {"any": [substitute(template, row, path) for row in rows]}
    if "imports" in data and isinstance(data["imports"], dict):
        merged: dict[str, str] = {}
        for row in rows:
            for name, import_path in substitute(dict(data["imports"]), row, path).items():
                if not name or not import_path:
                    continue  # a row without a package adds no import
                if merged.get(name, import_path) != import_path:
                    raise ConfigError(
                        f"table rows give the package name {name!r} two import paths "
                        f"({merged[name]}, {import_path})",
                        path=path,
                        hint="set `package:` on the rows so that each name has one import path",
                    )
                merged[name] = import_path
        data["imports"] = merged
    return True, json.dumps(rows, sort_keys=True).encode()
