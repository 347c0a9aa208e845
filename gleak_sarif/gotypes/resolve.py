"""Declared types of expressions, from declarations (no type checker): the `type` fact of the rule language.

`FileTypes.type_of(node)` answers with a type string in go/types' spelling, qualified by import path
(`sync.WaitGroup`, `*net/http.Response`, `[]*Server`; a type of the scanned package is its bare name), or
None when the declarations do not tell. It reads:
- locals: `var x T`, `x := T{}` / `&T{}` / `new(T)` / `make(T, ...)`, conversions `T(x)` / `(*T)(x)`, type
  assertions, a call's declared result (a function or method of the package, or of the standard library
  through std.json), `<-ch`, `x[i]`, `x[a:b]`; `for k, v := range x`, `case v := <-ch:`, `switch v :=
  x.(type)` (one type per case); parameters, receivers and named results, of closures' enclosing functions
  too;
- package variables (this file or another file of the package), imported variables of the table
  (`http.DefaultClient`);
- fields `x.f` of struct types of the package (promoted through embedded fields too) and of the table's types,
  and method results `x.m()` likewise.
Unknown stays unknown: a name is never read for a type, a value from a package outside the table (or a
function value, an interface method of another package) has no type here, and a rule decides what unknown
means (docs/rule-language.md, `type`).
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Callable

from tree_sitter import Node

from gleak_sarif.gopackage.index import PackageIndex
from gleak_sarif.gosource import Imports, file_imports, parser
from gleak_sarif.gotypes import std
from gleak_sarif.gotypes.typeexpr import canon, deref, element, map_key

MAX_DEPTH = 24  # chains of declarations followed for one answer (`a := b; b := c.f(); ...`)
MAX_EMBEDDING = 6  # levels of embedded structs searched for a promoted field or method
MAX_PARSED = 64  # sibling files kept parsed per process
_FUNCTIONS = ("function_declaration", "method_declaration", "func_literal")
_CALL_BUILTINS = {"len": "int", "cap": "int", "copy": "int", "string": "string", "error": "error"}

ParsedFile = tuple[Node, bytes, Imports]
_parsed: OrderedDict[tuple[str, bytes], ParsedFile] = OrderedDict()


def _parse(path: str, data: bytes) -> ParsedFile:
    key = (path, hashlib.blake2b(data, digest_size=16).digest())
    found = _parsed.get(key)
    if found is None:
        root = parser().parse(data).root_node
        found = _parsed[key] = (root, data, file_imports(data, root))
        while len(_parsed) > MAX_PARSED:
            _parsed.popitem(last=False)
    else:
        _parsed.move_to_end(key)
    return found


class Package:
    """The declarations of one package: the evaluated file (its tree) and its siblings, read through the
    package index (which notes the reads for the scan cache) only for a name they declare."""

    def __init__(self, index: PackageIndex | None, own_path: str) -> None:
        self.index = index
        self.own_path = own_path
        self.own: FileTypes | None = None
        self._files: dict[str, FileTypes] = {}

    def _file(self, path: str) -> FileTypes | None:
        if path == self.own_path:
            return self.own
        found = self._files.get(path)
        if found is None and self.index is not None and path in self.index.files:
            root, data, imports = _parse(path, self.index.data(path))
            found = self._files[path] = FileTypes(root, data, imports, self)
        return found

    def _files_for(self, paths: list[str]) -> list[FileTypes]:
        out = [self.own] if self.own is not None else []
        out.extend(found for path in paths if path != self.own_path and (found := self._file(path)) is not None)
        return out

    def is_type(self, name: str) -> bool:
        if self.own is not None and name in self.own.type_specs():
            return True
        return self.index is not None and name in self.index.types

    def type_spec(self, name: str) -> tuple[FileTypes, Node] | None:
        paths = self.index.types.get(name, []) if self.index is not None else []
        for file in self._files_for(paths):
            spec = file.type_specs().get(name)
            if spec is not None:
                return file, spec
        return None

    def function(self, owner: str, name: str) -> tuple[FileTypes, Node] | None:
        paths = self.index.functions.get((owner, name), []) if self.index is not None else []
        for file in self._files_for(paths):
            decl = file.functions().get((owner, name))
            if decl is not None:
                return file, decl
        return None

    def variable(self, name: str) -> str | None:
        if self.own is not None and name in self.own.variables():
            return self.own.variable_type(name)
        if self.index is None or name not in self.index.globals:
            return None
        for path in self.index.paths_with((b"var", name.encode())):
            file = self._file(path)
            if file is not None and file is not self.own and name in file.variables():
                return file.variable_type(name)
        return None


class FileTypes:
    """Type questions about one parsed file of a package."""

    def __init__(self, root: Node, source: bytes, imports: Imports, package: Package) -> None:
        self.root = root
        self.source = source
        self.imports = imports
        self.package = package
        self._types: dict[str, Node] | None = None
        self._functions: dict[tuple[str, str], Node] | None = None
        self._variables: dict[str, tuple[Node, int]] | None = None
        self._memo: dict[tuple[int, int, str, int], str | None] = {}
        self._depth = 0

    def text(self, node: Node) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def canon(self, node: Node | None) -> str | None:
        return canon(node, self.text, self.imports, self.package.is_type)

    # ---- top-level declarations ------------------------------------------------------------------------
    def type_specs(self) -> dict[str, Node]:
        if self._types is None:
            self._types = {}
            for decl in self.root.named_children:
                if decl.type != "type_declaration":
                    continue
                for spec in decl.named_children:
                    name = spec.child_by_field_name("name")
                    if spec.type in ("type_spec", "type_alias") and name is not None:
                        self._types.setdefault(self.text(name), spec)
        return self._types

    def functions(self) -> dict[tuple[str, str], Node]:
        if self._functions is None:
            self._functions = {}
            for decl in self.root.named_children:
                name = decl.child_by_field_name("name")
                if name is None or decl.type not in ("function_declaration", "method_declaration"):
                    continue
                owner = ""
                if decl.type == "method_declaration":
                    receiver = decl.child_by_field_name("receiver")
                    params = [p for p in receiver.named_children if p.type == "parameter_declaration"] \
                        if receiver is not None else []
                    type_node = params[0].child_by_field_name("type") if params else None
                    while type_node is not None and type_node.type in ("pointer_type", "generic_type",
                                                                        "parenthesized_type"):
                        inner = type_node.child_by_field_name("type") if type_node.type == "generic_type" \
                            else (type_node.named_children[0] if type_node.named_children else None)
                        type_node = inner
                    if type_node is None:
                        continue
                    owner = self.text(type_node)
                self._functions.setdefault((owner, self.text(name)), decl)
        return self._functions

    def variables(self) -> dict[str, tuple[Node, int]]:
        """Package-level variables: name -> (its var_spec, its position among the spec's names)."""
        if self._variables is None:
            self._variables = {}
            for decl in self.root.named_children:
                if decl.type != "var_declaration":
                    continue
                for spec in _var_specs(decl):
                    for position, name in enumerate(_spec_names(spec)):
                        self._variables.setdefault(self.text(name), (spec, position))
        return self._variables

    def variable_type(self, name: str) -> str | None:
        found = self.variables().get(name)
        return self._spec_type(found[0], found[1]) if found is not None else None

    def _spec_type(self, spec: Node, position: int) -> str | None:
        type_node = spec.child_by_field_name("type")
        if type_node is not None:
            return self.canon(type_node)
        value = spec.child_by_field_name("value")
        values = _named(value) if value is not None else []
        names = _spec_names(spec)
        if len(values) == len(names):
            return self.type_of(values[position])
        if len(values) == 1:
            return self.type_of(values[0], position)
        return None

    # ---- types of the package's named types -------------------------------------------------------------
    def results(self, decl: Node) -> tuple[str | None, ...]:
        result = decl.child_by_field_name("result")
        if result is None:
            return ()
        if result.type != "parameter_list":
            return (self.canon(result),)
        out: list[str | None] = []
        for param in result.named_children:
            if param.type != "parameter_declaration":
                continue
            found = self.canon(param.child_by_field_name("type"))
            out.extend([found] * max(1, len(_param_names(param))))
        return tuple(out)

    # ---- expressions ---------------------------------------------------------------------------------
    def type_of(self, node: Node, result: int = 0) -> str | None:
        """The type of the expression ``node`` (of the ``result``-th value of a call or comma-ok form)."""
        key = (node.start_byte, node.end_byte, node.type, result)
        if key in self._memo:
            return self._memo[key]
        if self._depth >= MAX_DEPTH:
            return None
        self._memo[key] = None  # a cycle (`a = b; b = a`) answers unknown
        self._depth += 1
        try:
            found = self._type_of(node, result)
        finally:
            self._depth -= 1
        self._memo[key] = found
        return found

    def _type_of(self, node: Node, result: int) -> str | None:
        kind = node.type
        if kind == "parenthesized_expression":
            inner = _named(node)
            return self.type_of(inner[0], result) if len(inner) == 1 else None
        if kind == "identifier":
            return self._identifier(node) if result == 0 else None
        if kind == "composite_literal":
            return self.canon(node.child_by_field_name("type")) if result == 0 else None
        if kind == "unary_expression":
            return self._unary(node, result)
        if kind == "type_assertion_expression":
            return self.canon(node.child_by_field_name("type")) if result == 0 else ("bool" if result == 1 else None)
        if kind == "index_expression":
            if result == 1:
                return "bool"  # `v, ok := m[k]`
            operand = node.child_by_field_name("operand")
            container = self.underlying(self.type_of(operand)) if operand is not None else None
            return element(container) if container is not None and not container.startswith("chan") else None
        if kind == "slice_expression":
            operand = node.child_by_field_name("operand")
            return self.type_of(operand) if operand is not None and result == 0 else None
        if kind == "selector_expression":
            return self._selector(node) if result == 0 else None
        if kind == "call_expression":
            return self._call(node, result)
        if kind in ("interpreted_string_literal", "raw_string_literal"):
            return "string"
        if kind == "func_literal":
            return "func(...)"
        return None

    def _unary(self, node: Node, result: int) -> str | None:
        operand = node.child_by_field_name("operand")
        operator = node.child_by_field_name("operator")
        op = self.text(operator) if operator is not None else ""
        if operand is None:
            return None
        if op == "<-":
            if result == 1:
                return "bool"
            channel = self.underlying(self.type_of(operand))
            return element(channel) if channel is not None and "chan" in channel.split(" ")[0] else None
        if result != 0:
            return None
        if op == "&":
            found = self.type_of(operand)
            return "*" + found if found is not None else None
        if op == "*":
            found = self.type_of(operand)
            return found[1:] if found is not None and found.startswith("*") else None
        if op == "!":
            return "bool"
        return None

    def _identifier(self, node: Node) -> str | None:
        name = self.text(node)
        declared = self._declaring(node)  # the name a declaration declares (also `_`: the value's type)
        if declared is not None:
            return declared()
        if name in ("true", "false"):
            return "bool"
        if name in ("nil", "_", "iota"):
            return None
        binding = self._local(name, node)
        if binding is not None:
            return binding()
        if name in self.imports.by_name:
            return None  # a package name, not a value
        return self.package.variable(name)

    # A binding: how to compute the declared name's type (called when the name is the one asked about)
    def _local(self, name: str, node: Node) -> Callable[[], str | None] | None:
        declared = self._declaring(node)
        if declared is not None and self.text(node) == name:
            return declared
        child, parent = node, node.parent
        while parent is not None:
            if parent.type == "source_file":
                return None
            found = self._in_scope(name, parent, child)
            if found is not None:
                return found
            if parent.type in ("function_declaration", "method_declaration"):
                return None
            child, parent = parent, parent.parent
        return None

    def _declaring(self, node: Node) -> Callable[[], str | None] | None:
        """When ``node`` is the name a declaration declares (`x` of `x := v`, `var x T`, `range`): its type."""
        parent = node.parent
        if parent is None:
            return None
        if parent.type == "var_spec":
            names = _spec_names(parent)
            if any(n.start_byte == node.start_byte for n in names):
                position = next(i for i, n in enumerate(names) if n.start_byte == node.start_byte)
                return lambda: self._spec_type(parent, position)
            return None
        owner = parent.parent
        if parent.type != "expression_list" or owner is None:
            return None
        left = owner.child_by_field_name("left")
        if left is None or left.start_byte != parent.start_byte or not _defines(owner):
            return None
        names = _named(parent)
        position = next((i for i, n in enumerate(names) if n.start_byte == node.start_byte), -1)
        return self._binding(owner, position) if position >= 0 else None

    def _binding(self, owner: Node, position: int) -> Callable[[], str | None] | None:
        """The type of the ``position``-th name a defining statement (`:=`, `range`, `case v := <-c`) binds."""
        right = owner.child_by_field_name("right")
        if right is None:
            return None
        if owner.type == "range_clause":
            return lambda: self._range(right, position)
        values = _named(right) if right.type == "expression_list" else [right]
        left = owner.child_by_field_name("left")
        count = len(_named(left)) if left is not None else 0
        if len(values) == count:
            return lambda: self.type_of(values[position])
        if len(values) == 1:
            return lambda: self.type_of(values[0], position)
        return lambda: None

    def _range(self, over: Node, position: int) -> str | None:
        found = self.underlying(self.type_of(over))
        if found is None:
            return None
        if found.startswith(("chan ", "<-chan ")):
            return element(found) if position == 0 else None
        if found == "string":
            return "int" if position == 0 else "rune"
        if found.startswith("map["):
            return map_key(found) if position == 0 else element(found)
        if found.startswith(("[", "*[")):
            return "int" if position == 0 else element(found)
        return None

    def _in_scope(self, name: str, parent: Node, child: Node) -> Callable[[], str | None] | None:
        """A declaration of ``name`` among ``parent``'s children before ``child`` (or around it: a switch's
        alias for its cases)."""
        if parent.type == "type_switch_statement" and child.type == "type_case":
            alias = parent.child_by_field_name("alias")
            if alias is not None and any(self.text(n) == name for n in _named(alias)):
                types = [c for i, c in enumerate(child.children) if child.field_name_for_child(i) == "type"]
                value = parent.child_by_field_name("value")
                if len(types) == 1 and self.text(types[0]) != "nil":
                    return lambda: self.canon(types[0])
                return lambda: self.type_of(value) if value is not None else None
            return None
        for item in parent.named_children:
            if item.start_byte >= child.start_byte:
                break
            found = self._declares(name, item)
            if found is not None:
                return found
        return None

    def _declares(self, name: str, item: Node) -> Callable[[], str | None] | None:
        kind = item.type
        if kind in ("short_var_declaration", "range_clause", "receive_statement") and _defines(item):
            left = item.child_by_field_name("left")
            names = _named(left) if left is not None else []
            for position, target in enumerate(names):
                if self.text(target) == name:
                    return self._binding(item, position)
            return None
        if kind == "for_clause":
            initializer = item.child_by_field_name("initializer")
            return self._declares(name, initializer) if initializer is not None else None
        if kind in ("var_declaration", "const_declaration"):
            for spec in _var_specs(item):
                for position, target in enumerate(_spec_names(spec)):
                    if self.text(target) == name:
                        if kind == "var_declaration":
                            return functools.partial(self._spec_type, spec, position)
                        return functools.partial(self.canon, spec.child_by_field_name("type"))
            return None
        if kind == "parameter_list":
            for param in item.named_children:
                for target in _param_names(param):
                    if self.text(target) == name:
                        type_node = param.child_by_field_name("type")
                        if param.type == "variadic_parameter_declaration":
                            return functools.partial(self._variadic, type_node)
                        return functools.partial(self.canon, type_node)
            return None
        return None

    def _variadic(self, type_node: Node | None) -> str | None:
        found = self.canon(type_node)
        return "[]" + found if found is not None else None

    def _selector(self, node: Node) -> str | None:
        operand = node.child_by_field_name("operand")
        field = node.child_by_field_name("field")
        if operand is None or field is None:
            return None
        name = self.text(field)
        if operand.type == "identifier" and self._is_package(operand):
            path = self.imports.by_name[self.text(operand)]
            return std.var_type(path, name)
        owner = self.type_of(operand)
        return self.field_type(owner, name) if owner is not None else None

    def _is_package(self, node: Node) -> bool:
        name = self.text(node)
        return name in self.imports.by_name and self._local(name, node) is None

    def _call(self, node: Node, result: int) -> str | None:
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        args = _named(arguments) if arguments is not None else []
        if function is None:
            return None
        if function.type == "parenthesized_expression":  # `(*T)(x)`: a conversion
            inner = _named(function)
            if len(inner) == 1 and inner[0].type == "unary_expression" and result == 0:
                operand = inner[0].child_by_field_name("operand")
                if operand is not None and operand.type in ("identifier", "selector_expression"):
                    found = self._type_name(operand)
                    return "*" + found if found is not None else None
            return None
        if function.type in ("slice_type", "map_type", "array_type", "channel_type", "function_type",
                             "interface_type", "pointer_type", "generic_type", "qualified_type"):
            return self.canon(function) if result == 0 else None
        if function.type == "identifier":
            name = self.text(function)
            if self._local(name, function) is not None:
                return None  # a function value
            if name in ("new", "make") and args and result == 0:
                made = self.canon(args[0])
                return ("*" + made if name == "new" else made) if made is not None else None
            if self.package.is_type(name):
                return name if result == 0 else None  # a conversion
            if name in _CALL_BUILTINS and self.package.function("", name) is None:
                return _CALL_BUILTINS[name] if result == 0 else None
            declared = self.package.function("", name)
            if declared is not None:
                results = declared[0].results(declared[1])
                return results[result] if result < len(results) else None
            return None
        if function.type == "selector_expression":
            operand = function.child_by_field_name("operand")
            field = function.child_by_field_name("field")
            if operand is None or field is None:
                return None
            name = self.text(field)
            if operand.type == "identifier" and self._is_package(operand):
                path = self.imports.by_name[self.text(operand)]
                if std.named(path, name) is not None or std.alias(path, name) is not None:
                    return (std.alias(path, name) or f"{path}.{name}") if result == 0 else None
                std_results = std.func_results(path, name)
                return std_results[result] if std_results is not None and result < len(std_results) else None
            owner = self.type_of(operand)
            if owner is None:
                return None
            method = self.method_results(owner, name)
            return method[result] if method is not None and result < len(method) else None
        return None

    def _type_name(self, node: Node) -> str | None:
        """A type written where an expression parses: `T`, `pkg.T`."""
        if node.type == "identifier":
            name = self.text(node)
            return name if self.package.is_type(name) else None
        operand = node.child_by_field_name("operand")
        field = node.child_by_field_name("field")
        if operand is None or field is None or operand.type != "identifier" or not self._is_package(operand):
            return None
        path, name = self.imports.by_name[self.text(operand)], self.text(field)
        return std.alias(path, name) or f"{path}.{name}"

    # ---- named types: fields, methods, underlying types ------------------------------------------------
    def underlying(self, type_text: str | None, depth: int = 0) -> str | None:
        """A package type's underlying type when it is not a struct (`type Jobs []*Job` -> `[]*Job`)."""
        if type_text is None or depth > MAX_EMBEDDING or type_text.startswith("*") or "." in type_text or \
                "[" in type_text or " " in type_text:
            return type_text
        spec = self.package.type_spec(type_text)
        if spec is None:
            return type_text
        file, node = spec
        found = file.canon(node.child_by_field_name("type"))
        if found is None or found in ("struct{...}", "interface{...}"):
            return type_text
        return file.underlying(found, depth + 1)

    def field_type(self, owner: str, name: str, depth: int = 0) -> str | None:
        base = deref(owner)
        if depth > MAX_EMBEDDING or base.startswith("*"):
            return None
        parts = std.split_named(base)
        if parts is None:
            return None
        _, path, type_name = parts
        if path:
            info = std.named(path, type_name)
            fields = info.get("fields", {}) if info is not None else {}
            return str(fields[name]) if name in fields else None
        spec = self.package.type_spec(type_name)
        if spec is None:
            return None
        file, node = spec
        type_node = node.child_by_field_name("type")
        if type_node is None:
            return None
        if type_node.type != "struct_type":
            found = file.canon(type_node)  # `type A B`: B's fields
            return file.field_type(found, name, depth + 1) if found is not None and found != base else None
        embedded: list[str | None] = []
        for field in _struct_fields(type_node):
            names = [c for i, c in enumerate(field.children) if field.field_name_for_child(i) == "name"]
            field_type = field.child_by_field_name("type")
            if names:
                if any(file.text(n) == name for n in names):
                    return file.canon(field_type)
                continue
            found = file.canon(field_type)
            if found is not None and any(c.type == "*" for c in field.children):
                found = "*" + found
            if found is not None and _embedded_name(found) == name:
                return found
            embedded.append(found)
        for inner in embedded:  # promoted from an embedded type (the shallowest; ambiguity not checked)
            if inner is not None:
                found = file.field_type(inner, name, depth + 1)
                if found is not None:
                    return found
        return None

    def embedded_types(self, struct: Node) -> list[str]:
        """The types a struct type embeds (fields without a name), as written; methods promote from them."""
        out: list[str] = []
        for field in _struct_fields(struct):
            if any(field.field_name_for_child(i) == "name" for i in range(len(field.children))):
                continue
            inner = self.canon(field.child_by_field_name("type"))
            if inner is not None:
                out.append(inner)
        return out

    def method_owner(self, owner: str, name: str, depth: int = 0) -> str | None:
        """The named type that declares the method ``name`` of ``owner`` (itself, or an embedded type whose
        method is promoted: `s.Add(1)` with `type S struct{ sync.WaitGroup }` -> `sync.WaitGroup`), None
        when the declarations do not tell."""
        base = deref(owner)
        parts = std.split_named(base)
        if depth > MAX_EMBEDDING or parts is None:
            return None
        _, path, type_name = parts
        if path:
            info = std.named(path, type_name)
            return base if info is not None and name in info.get("methods", {}) else None
        if self.package.function(type_name, name) is not None:
            return base
        spec = self.package.type_spec(type_name)
        if spec is None:
            return None
        file, node = spec
        type_node = node.child_by_field_name("type")
        if type_node is None:
            return None
        if type_node.type == "interface_type":
            return base if file.method_results(base, name) is not None else None
        if type_node.type != "struct_type":
            return None
        for inner in file.embedded_types(type_node):
            found = file.method_owner(inner, name, depth + 1)
            if found is not None:
                return found
        return None

    def method_results(self, owner: str, name: str, depth: int = 0) -> tuple[str | None, ...] | None:
        base = deref(owner)
        if depth > MAX_EMBEDDING:
            return None
        parts = std.split_named(base)
        if parts is None:
            return None
        _, path, type_name = parts
        if path:
            info = std.named(path, type_name)
            methods = info.get("methods", {}) if info is not None else {}
            return tuple(methods[name]) if name in methods else None
        declared = self.package.function(type_name, name)
        if declared is not None:
            return declared[0].results(declared[1])
        spec = self.package.type_spec(type_name)
        if spec is None:
            return None
        file, node = spec
        type_node = node.child_by_field_name("type")
        if type_node is None:
            return None
        if type_node.type == "interface_type":
            for elem in type_node.named_children:
                elem_name = elem.child_by_field_name("name")
                if elem.type == "method_elem" and elem_name is not None and file.text(elem_name) == name:
                    return file.results(elem)
            for elem in type_node.named_children:  # embedded interfaces
                if elem.type == "type_elem":
                    inner = file.canon(elem)
                    found_results = file.method_results(inner, name, depth + 1) if inner is not None else None
                    if found_results is not None:
                        return found_results
            return None
        if type_node.type != "struct_type":
            return None  # a defined type has no methods of its underlying type
        for inner in file.embedded_types(type_node):
            found_results = file.method_results(inner, name, depth + 1)
            if found_results is not None:
                return found_results
        return None


def _named(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type != "comment"]


def _defines(node: Node) -> bool:
    """A short variable declaration, or a `range` / `select` receive written with `:=`."""
    if node.type == "short_var_declaration":
        return True
    return any(child.type == ":=" for child in node.children)


def _var_specs(decl: Node) -> list[Node]:
    out: list[Node] = []
    for child in decl.named_children:
        if child.type in ("var_spec", "const_spec"):
            out.append(child)
        elif child.type in ("var_spec_list", "const_spec_list"):
            out.extend(c for c in child.named_children if c.type in ("var_spec", "const_spec"))
    return out


def _spec_names(spec: Node) -> list[Node]:
    return [c for i, c in enumerate(spec.children) if spec.field_name_for_child(i) == "name"]


def _param_names(param: Node) -> list[Node]:
    return [c for i, c in enumerate(param.children) if param.field_name_for_child(i) == "name"]


def _struct_fields(struct: Node) -> list[Node]:
    out: list[Node] = []
    for child in struct.named_children:
        if child.type == "field_declaration_list":
            out.extend(c for c in child.named_children if c.type == "field_declaration")
    return out


def _embedded_name(type_text: str) -> str:
    """The field name of an embedded type: `*sync.Mutex` -> `Mutex`, `Base` -> `Base`."""
    return deref(type_text).rsplit(".", 1)[-1]


def file_types(root: Node, source: bytes, imports: Imports, index: PackageIndex | None, path: str) -> FileTypes:
    package = Package(index, path)
    own = FileTypes(root, source, imports, package)
    package.own = own
    return own
