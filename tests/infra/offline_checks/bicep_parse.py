"""Parse Bicep with the tree-sitter-bicep grammar into a small model the checks can read.

Literal values become Python values (str, int, bool, None, Obj, Arr); anything that needs
evaluation (a reference, a function call, an interpolated string) stays an Expr holding its node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

_PARSER = Parser(Language(tree_sitter_bicep.language()))
_MAX_SYNTAX_ERRORS = 5
_ESCAPES = {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$"}


@dataclass(frozen=True)
class Expr:
    """An expression that only Azure Resource Manager can evaluate."""

    node: Node

    @property
    def text(self) -> str:
        return self.node.text.decode()

    @property
    def line(self) -> int:
        return self.node.start_point[0] + 1


@dataclass
class Choice:
    """`cond ? a : b`: the value is one of the options."""

    options: list
    line: int


@dataclass
class Loop:
    """`[for x in xs: body]`: an array whose items all look like body."""

    body: object
    line: int


class Obj(dict):
    """An object literal; remembers the line of each key."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}


class Arr(list):
    """An array literal."""

    def __init__(self, items, line: int):
        super().__init__(items)
        self.line = line


@dataclass
class Param:
    name: str
    type: str
    default: object
    has_default: bool
    decorators: dict[str, list]
    line: int

    @property
    def required(self) -> bool:
        return not self.has_default and not self.type.endswith("?")


@dataclass
class Resource:
    symbol: str
    type_name: str
    api_version: str
    existing: bool
    body: object
    line: int
    conditional: bool = False
    looped: bool = False

    @property
    def type_ref(self) -> str:
        return f"{self.type_name}@{self.api_version}"


@dataclass
class Module:
    symbol: str
    source: str
    body: object
    line: int


@dataclass
class Output:
    name: str
    type: str
    value: object
    line: int


@dataclass
class BicepFile:
    """A parsed .bicep or .bicepparam file."""

    path: Path
    root: Node
    syntax_errors: list[str] = field(default_factory=list)
    using: str | None = None
    params: dict[str, Param] = field(default_factory=dict)
    variables: dict[str, object] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    modules: list[Module] = field(default_factory=list)
    outputs: dict[str, Output] = field(default_factory=dict)
    # (module symbol, output name, line) for every `<module>.outputs.<name>`
    module_output_refs: list[tuple[str, str, int]] = field(default_factory=list)
    # resource declarations nested inside another resource's body
    nested_resources: list[int] = field(default_factory=list)

    def resource(self, symbol: str) -> Resource | None:
        return next((r for r in self.resources if r.symbol == symbol), None)


def parse_bicep(path: Path) -> BicepFile:
    return _parse(path, path.read_bytes())


def parse_bicepparam(path: Path) -> BicepFile:
    """Parse a .bicepparam file; its `param x = v` assignments land in `variables`.

    The grammar knows `using` but not untyped `param x = v`, so each `param` keyword is read as
    `var` (padded to the same width, keeping line and column numbers) and the values are parsed
    by the same grammar as in .bicep files.
    """
    source = re.sub(rb"(?m)^(\s*)param(\s)", rb"\1var  \2", path.read_bytes())
    return _parse(path, source)


def syntax_errors(path: Path, root: Node) -> list[str]:
    errors: list[str] = []
    stack = [root]
    while stack and len(errors) < _MAX_SYNTAX_ERRORS:
        node = stack.pop()
        if node.is_missing:
            errors.append(f"{_where(path, node)}: syntax error: missing '{node.type}'")
        elif node.is_error:
            snippet = node.text.decode().strip().splitlines()[0][:40] if node.text.strip() else ""
            errors.append(f"{_where(path, node)}: syntax error near '{snippet}'")
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return errors


def string_value(node: Node) -> str | None:
    """The value of a string literal node, or None if it interpolates."""
    if any(c.type == "interpolation" for c in node.children):
        return None
    text = node.text.decode()
    if text.startswith("'''"):
        return text[3:-3]
    return re.sub(r"\\.", lambda m: _ESCAPES.get(m.group(0), m.group(0)), text[1:-1])


def identifiers_in(node: Node) -> set[str]:
    """Names an expression refers to (its identifier nodes)."""
    found = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            found.add(n.text.decode())
        stack.extend(n.children)
    return found


def _where(path: Path, node: Node) -> str:
    row, col = node.start_point
    return f"{path}:{row + 1}:{col + 1}"


def _named(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type != "comment"]


def _parse(path: Path, source: bytes) -> BicepFile:
    root = _PARSER.parse(source).root_node
    parsed = BicepFile(path=path, root=root, syntax_errors=syntax_errors(path, root))
    decorators: dict[str, list] = {}
    for node in _named(root):
        if node.type == "decorators":
            decorators = _decorators(node, parsed)
            continue
        _declaration(node, decorators, parsed)
        decorators = {}
    _collect_module_output_refs(root, parsed)
    return parsed


def _declaration(node: Node, decorators: dict, parsed: BicepFile) -> None:
    kids = _named(node)
    line = node.start_point[0] + 1
    if node.type == "using_statement" and kids:
        parsed.using = string_value(kids[0])
    elif node.type == "parameter_declaration" and len(kids) >= 2:
        default = _value(kids[2], parsed) if len(kids) > 2 else None
        parsed.params[kids[0].text.decode()] = Param(
            kids[0].text.decode(), kids[1].text.decode(), default, len(kids) > 2, decorators, line
        )
    elif node.type == "variable_declaration" and len(kids) >= 2:
        parsed.variables[kids[0].text.decode()] = _value(kids[-1], parsed)
    elif node.type == "output_declaration" and len(kids) >= 3:
        parsed.outputs[kids[0].text.decode()] = Output(
            kids[0].text.decode(), kids[1].text.decode(), _value(kids[-1], parsed), line
        )
    elif node.type == "resource_declaration" and len(kids) >= 3:
        parsed.resources.append(_resource(node, kids, parsed))
    elif node.type == "module_declaration" and len(kids) >= 3:
        body, _, _ = _unwrap(kids[-1], parsed)
        parsed.modules.append(Module(kids[0].text.decode(), string_value(kids[1]) or "", body, line))


def _resource(node: Node, kids: list[Node], parsed: BicepFile) -> Resource:
    type_ref = string_value(kids[1]) or ""
    type_name, _, api_version = type_ref.partition("@")
    body, conditional, looped = _unwrap(kids[-1], parsed)
    existing = any(c.type == "existing" for c in node.children)
    return Resource(
        kids[0].text.decode(),
        type_name,
        api_version,
        existing,
        body,
        node.start_point[0] + 1,
        conditional,
        looped,
    )


def _unwrap(node: Node, parsed: BicepFile) -> tuple[object, bool, bool]:
    """A declaration's body, and whether it sits under `if (...)` and/or `[for ...]`."""
    conditional = looped = False
    while node.type in ("for_statement", "if_statement"):
        if node.type == "for_statement":
            looped = True
            node = node.child_by_field_name("body") or _named(node)[-1]
        else:
            conditional = True
            node = _named(node)[-1]
    return _value(node, parsed), conditional, looped


def _value(node: Node, parsed: BicepFile):
    kind = node.type
    line = node.start_point[0] + 1
    if kind == "object":
        return _object(node, parsed)
    if kind == "array":
        return Arr([_value(c, parsed) for c in _named(node)], line)
    if kind == "string":
        text = string_value(node)
        return Expr(node) if text is None else text
    if kind == "number":
        return int(node.text)
    if kind == "boolean":
        return node.text == b"true"
    if kind == "null":
        return None
    if kind == "parenthesized_expression" and len(_named(node)) == 1:
        return _value(_named(node)[0], parsed)
    if kind == "ternary_expression":
        options = [node.child_by_field_name("consequence"), node.child_by_field_name("alternative")]
        return Choice([_value(o, parsed) for o in options if o is not None], line)
    if kind == "for_statement":
        body = node.child_by_field_name("body") or _named(node)[-1]
        return Loop(_value(body, parsed), line)
    return Expr(node)


def _object(node: Node, parsed: BicepFile) -> Obj:
    obj = Obj(node.start_point[0] + 1)
    for prop in _named(node):
        if prop.type == "resource_declaration":
            parsed.nested_resources.append(prop.start_point[0] + 1)
            continue
        if prop.type != "object_property":
            continue
        parts = _named(prop)
        if len(parts) < 2:
            continue
        key_node = parts[0]
        key = string_value(key_node) if key_node.type == "string" else key_node.text.decode()
        if key is None:  # an interpolated key: unknown until deployment
            continue
        obj[key] = _value(parts[-1], parsed)
        obj.key_lines[key] = prop.start_point[0] + 1
    return obj


def _decorators(node: Node, parsed: BicepFile) -> dict[str, list]:
    found: dict[str, list] = {}
    for decorator in _named(node):
        call = _named(decorator)[0] if _named(decorator) else None
        if call is None or call.type != "call_expression":
            continue
        function = call.child_by_field_name("function")
        name = function.text.decode().split(".")[-1] if function else ""
        arguments = call.child_by_field_name("arguments")
        found[name] = [_value(a, parsed) for a in _named(arguments)] if arguments else []
    return found


def _collect_module_output_refs(root: Node, parsed: BicepFile) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type != "member_expression":
            continue
        inner = node.child_by_field_name("object")
        prop = node.child_by_field_name("property")
        if inner is None or prop is None or inner.type != "member_expression":
            continue
        owner = inner.child_by_field_name("object")
        if (
            owner is not None
            and owner.type == "identifier"
            and inner.child_by_field_name("property").text == b"outputs"
        ):
            parsed.module_output_refs.append(
                (owner.text.decode(), prop.text.decode(), node.start_point[0] + 1)
            )
