"""Declarations in one file's summary (extract.py's helpers): type declarations (struct field types,
interface method sets, function types), package-level variables, and each function's header: its key, the
receiver, parameter names, positions and types, results, and the channel parameters its body never uses."""

from __future__ import annotations

from tree_sitter import Node

from gleak_sarif.gopackage.extract_fields import ExtractorView, FuncEnv
from gleak_sarif.gopackage.extract_fresh import fresh_result, returns_made
from gleak_sarif.gopackage.summary import FunctionSummary, element_type, literal_key, named_type


def type_spec(ex: ExtractorView, captures: dict[str, list[Node]]) -> None:
    struct_type(ex, ex.text(captures["tname"][0]), captures["ttype"][0])


def struct_type(ex: ExtractorView, name: str, body: Node) -> None:
    """The field types of a type declaration. A field of an anonymous struct type (`mu struct {
    sync.Mutex; replicas map[int]*Replica }`) gets a type of its own, named `Outer__field`."""
    fields: dict[str, str] = {}
    if body.type == "interface_type":
        methods = [ex.text(name_node) for elem in body.named_children if elem.type == "method_elem"
                   if (name_node := elem.named_children[0] if elem.named_children else None) is not None]
        embeds = ["~" + ex.text(elem) for elem in body.named_children if elem.type == "type_elem"]
        ex.summary.interfaces[name] = methods + embeds
    elif body.type == "function_type":
        ex.summary.func_types.add(name)
    if body.type == "struct_type":
        for decl in _descendants_of_type(body, "field_declaration"):
            type_node = decl.child_by_field_name("type")
            type_text = ex.text(type_node) if type_node is not None else ""
            names = [c for i, c in enumerate(decl.children) if decl.field_name_for_child(i) == "name"]
            if names:
                for name_node in names:
                    field_name = ex.text(name_node)
                    fields[field_name] = type_text
                    if type_node is not None and type_node.type == "struct_type":
                        fields[field_name] = f"{name}__{field_name}"
                        struct_type(ex, fields[field_name], type_node)
            elif type_text:  # embedded: the field is named after the type
                fields[type_text.lstrip("*").rsplit(".", 1)[-1]] = type_text
    ex.summary.types[name] = fields


def global_var(ex: ExtractorView, spec: Node) -> None:
    parent = spec.parent
    if parent is not None and parent.type == "var_spec_list":
        parent = parent.parent
    if parent is None or parent.type != "var_declaration" or parent.parent is None or \
            parent.parent.type != "source_file":
        return
    for index, child in enumerate(spec.children):
        if spec.field_name_for_child(index) == "name":
            ex.summary.globals.add(ex.text(child))


def function_decl(ex: ExtractorView, captures: dict[str, list[Node]]) -> None:
    literal = "lit" in captures
    node = captures["lit"][0] if literal else captures["func"][0]
    env = FuncEnv()
    recv_type = None
    if literal:
        outer = ex._innermost(node.start_byte)
        key = literal_key(ex.path, node.start_byte)
        if outer is not None:
            env = ex.envs[outer].nested()
            recv_type = ex.funcs[outer].recv_type
    else:
        name = ex.text(captures["name"][0])
        receiver = node.child_by_field_name("receiver")
        if receiver is not None:
            for decl in receiver.named_children:
                type_node = decl.child_by_field_name("type")
                recv_type = named_type(ex.text(type_node)) if type_node is not None else ""
                name_node = decl.child_by_field_name("name")
                if name_node is not None:
                    env.receiver = ex.text(name_node)
        key = (recv_type or "", name)
    params = node.child_by_field_name("parameters")
    unused: list[int] = []  # channel parameters the body never mentions
    recv_only_params: list[int] = []
    if params is not None:
        index = 0
        for decl in params.named_children:
            type_node = decl.child_by_field_name("type")
            type_text = named_type(ex.text(type_node)) if type_node is not None else ""
            names: list[Node | None] = [
                c for i, c in enumerate(decl.children) if decl.field_name_for_child(i) == "name"]
            is_chan = type_node is not None and ex.text(type_node).lstrip("<-").strip().startswith("chan")
            recv_only = type_node is not None and ex.text(type_node).startswith("<-")
            for name_node in names or [None]:
                if is_chan and (name_node is None or ex.text(name_node) == "_"):
                    unused.append(index)
                if recv_only:
                    recv_only_params.append(index)
                if name_node is not None:
                    pname = ex.text(name_node)
                    env.params[pname] = index
                    env.types[pname] = type_text
                    env.locals.discard(pname)
                    if type_node is not None:
                        elem = named_type(ex.text(type_node)) if decl.type == \
                            "variadic_parameter_declaration" else element_type(ex.text(type_node))
                        if elem:
                            env.elems[pname] = elem
                    if type_node is not None and ex.text(type_node).lstrip("<-").strip().startswith("chan"):
                        env.chans.add(pname)
                index += 1
    body = node.child_by_field_name("body")
    chan_params = {name: index for name, index in env.params.items() if name in env.chans and name != "_"}
    if chan_params and body is not None:
        mentioned = _identifiers(body, set(chan_params))
        unused.extend(index for name, index in chan_params.items() if name not in mentioned)
    results: tuple[str, ...] = ()
    result = node.child_by_field_name("result")
    if result is not None:
        if result.type == "parameter_list":
            results = tuple(named_type(ex.text(d.child_by_field_name("type") or d))
                            for d in result.named_children)
        else:
            results = (named_type(ex.text(result)),)
    fresh = not literal and bool(results) and bool(results[0]) and body is not None and \
        b"go " in ex.source[body.start_byte : body.end_byte] and fresh_result(body, ex.source)
    made = not literal and bool(results) and returns_made(body, ex.source, results[0])
    summary = FunctionSummary(key, ex.path, node.start_byte, node.end_byte, ex.site(node), recv_type,
                              literal, results, unused_params=tuple(sorted(unused)),
                              recv_only_params=tuple(recv_only_params), fresh_result=fresh, returns_new=made)
    ex.result_texts.append(ex.text(result) if result is not None else "")
    # functions are visited in start order, so the lists stay sorted by start byte
    ex.funcs.append(summary)
    ex.func_starts.append(summary.start)
    ex.envs.append(env)


def _identifiers(node: Node, wanted: set[str]) -> set[str]:
    """The names of ``wanted`` that occur as identifiers under ``node``."""
    found: set[str] = set()
    stack = [node]
    while stack and found != wanted:
        current = stack.pop()
        if current.type == "identifier":
            text = current.text.decode("utf-8", "replace") if current.text is not None else ""
            if text in wanted:
                found.add(text)
        else:
            stack.extend(current.named_children)
    return found


def _descendants_of_type(node: Node, kind: str) -> list[Node]:
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        if current.type == kind:
            out.append(current)
            continue
        stack.extend(current.named_children)
    return out

