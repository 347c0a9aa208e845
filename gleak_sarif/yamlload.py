"""Safe YAML loading that remembers where every value came from, so errors can name the line.

Only plain data is built (SafeLoader): no tags that run code. Alias expansion is bounded so that a
"billion laughs" file is rejected instead of eating memory.
"""

from __future__ import annotations

from typing import Any

import yaml

from gleak_sarif.errors import ConfigError

MAX_RULE_FILE_BYTES = 1024 * 1024


class LineDict(dict[Any, Any]):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list[Any]):
    line: int = 0
    item_lines: list[int]


_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present
MAX_NODE_VISITS = 200_000


class _Loader(_BASE):  # type: ignore[valid-type,misc]
    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        self._check_expansion(node)
        return self.construct_document(node)

    @staticmethod
    def _check_expansion(root: yaml.Node) -> None:
        """Reject documents whose aliases expand to a huge tree (a "billion laughs" YAML bomb).

        Aliases share nodes, so the composed graph is small; the walk counts what constructing and
        validating it would visit, and stops early.
        """
        visits = 0
        stack = [root]
        while stack:
            node = stack.pop()
            visits += 1
            if visits > MAX_NODE_VISITS:
                raise ConfigError(
                    f"too many YAML aliases: the document expands to more than {MAX_NODE_VISITS} values",
                    line=root.start_mark.line + 1,
                    hint="rule files do not need anchors/aliases; write the values out",
                )
            if isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    stack.append(key)
                    stack.append(value)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        self.flatten_mapping(node)
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise ConfigError("mapping keys must be plain scalars", line=key_node.start_mark.line + 1)
            if key in result:
                raise ConfigError(f"duplicate key {key!r}", line=key_node.start_mark.line + 1,
                                  hint="a key may appear once per mapping; merge the two values")
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # Python refuses to convert integers of more than 4,300 digits (ValueError): a config error here
        try:
            return int(super().construct_yaml_int(node))
        except ValueError:
            raise ConfigError("this integer is too long", line=node.start_mark.line + 1,
                              hint="no setting takes a number of more than a few digits") from None

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        result = LineList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


def load_yaml_text(text: str, path: str) -> Any:
    """Parse one YAML document; every error becomes a ConfigError naming ``path`` and the line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RULE_FILE_BYTES:
        raise ConfigError(
            f"file is larger than {MAX_RULE_FILE_BYTES // 1024} KiB",
            path=path,
            hint="split it: one rule per file",
        )
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except ConfigError as err:
        raise ConfigError(err.bare_message, path=path, line=err.line, hint=err.hint) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = err.problem or err.context or "invalid YAML"
        hint = ("only plain YAML data is read: remove the `!` tag (rule and config files never run code)"
                if "constructor for the tag" in problem else
                "check indentation and quoting: quote values that contain `: ` or start with `{`, `[`, `*`, "
                "`&` or `!`")
        raise ConfigError(f"invalid YAML: {problem}", path=path, line=line, hint=hint) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"invalid YAML: {err}", path=path) from None
    except RecursionError:
        raise ConfigError("YAML nesting is too deep", path=path) from None
    finally:
        loader.dispose()


def line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """The line of the value at ``loc`` (a pydantic error location) inside loaded YAML ``data``."""
    best: int | None = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            best = node.key_lines.get(part, best)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            best = node.item_lines[part]
            node = node[part]
        else:
            break
    return best
