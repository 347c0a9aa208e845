"""Type expressions as written (tree-sitter-go type nodes) -> type strings in go/types' spelling, qualified by
import path through the declaring file's imports (`http.Response` -> `net/http.Response`), and operations on
those strings (pointer, element of a slice, map or channel)."""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from gleak_sarif.gosource import Imports
from gleak_sarif.gotypes import std

PREDECLARED = {
    "bool", "byte", "complex64", "complex128", "error", "float32", "float64", "int", "int8", "int16", "int32",
    "int64", "rune", "string", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "any", "comparable",
}


MAX_NESTING = 64  # type expressions nested deeper are not told (a hostile `[][][]...T` must not exhaust the stack)


def canon(node: Node | None, text: Callable[[Node], str], imports: Imports,
          local: Callable[[str], bool] | None = None, depth: int = 0) -> str | None:
    """The type string of a type node, None when it cannot be told: a package name the file does not
    import, a bare name that a dot-import may declare (when ``local``, which says whether the package
    declares a type of that name, does not know it)."""
    if node is None or depth > MAX_NESTING:
        return None
    kind = node.type
    depth += 1
    if kind == "parenthesized_type" or kind == "type_elem":
        inner = node.named_children
        return canon(inner[0], text, imports, local, depth) if len(inner) == 1 else None
    if kind == "type_identifier" or kind == "identifier":
        name = text(node)
        if local is not None and local(name):
            return name
        if name in PREDECLARED:
            return name
        if imports.dot or local is not None:
            # a dot-imported package's type, a type parameter (`func f[T any](x T)`), or a type of a file the
            # package listing left out (another build's): not told
            return None
        return name
    if kind == "qualified_type":
        package = node.child_by_field_name("package")
        name_node = node.child_by_field_name("name")
        if package is None or name_node is None:
            return None
        path = imports.by_name.get(text(package))
        if path is None:
            return None
        name = text(name_node)
        return std.alias(path, name) or f"{path}.{name}"
    if kind == "generic_type":
        base = node.child_by_field_name("type")
        return canon(base, text, imports, local, depth)  # type arguments are left out
    if kind == "pointer_type":
        inner = node.named_children
        found = canon(inner[0], text, imports, local, depth) if inner else None
        return "*" + found if found is not None else None
    if kind == "slice_type":
        found = canon(node.child_by_field_name("element"), text, imports, local, depth)
        return "[]" + found if found is not None else None
    if kind == "array_type":
        length = node.child_by_field_name("length")
        found = canon(node.child_by_field_name("element"), text, imports, local, depth)
        return f"[{text(length) if length is not None else '...'}]{found}" if found is not None else None
    if kind == "map_type":
        key = canon(node.child_by_field_name("key"), text, imports, local, depth)
        value = canon(node.child_by_field_name("value"), text, imports, local, depth)
        return f"map[{key}]{value}" if key is not None and value is not None else None
    if kind == "channel_type":
        found = canon(node.child_by_field_name("value"), text, imports, local, depth)
        if found is None:
            return None
        written = text(node).replace(" ", "").replace("\t", "")
        prefix = "<-chan " if written.startswith("<-") else ("chan<- " if written.startswith("chan<-") else "chan ")
        return prefix + found
    if kind == "function_type":
        return "func(...)"
    if kind == "interface_type":
        return "interface{...}"
    if kind == "struct_type":
        return "struct{...}"
    return None


def deref(type_text: str) -> str:
    return type_text[1:] if type_text.startswith("*") else type_text


def element(type_text: str) -> str | None:
    """The element type of a slice, array, map (its value) or channel type string, else None."""
    if type_text.startswith("[]"):
        return type_text[2:]
    if type_text.startswith("*["):  # a pointer to an array indexes like the array
        type_text = type_text[1:]
    if type_text.startswith("["):
        close = type_text.find("]")
        return type_text[close + 1:] if close > 0 else None
    if type_text.startswith("map["):
        depth = 0
        for index in range(3, len(type_text)):
            depth += {"[": 1, "]": -1}.get(type_text[index], 0)
            if depth == 0:
                return type_text[index + 1:]
        return None
    for prefix in ("<-chan ", "chan<- ", "chan "):
        if type_text.startswith(prefix):
            return type_text[len(prefix):]
    return None


def map_key(type_text: str) -> str | None:
    if not type_text.startswith("map["):
        return None
    depth = 0
    for index in range(3, len(type_text)):
        depth += {"[": 1, "]": -1}.get(type_text[index], 0)
        if depth == 0:
            return type_text[4:index]
    return None
