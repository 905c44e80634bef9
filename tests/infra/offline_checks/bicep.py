"""Validate Bicep offline: syntax (tree-sitter-bicep), every resource's `Type@apiVersion` and
written properties (bicep-types-az), parent/child types, module parameters and outputs, and
`.bicepparam` files against the template they use.

Each function returns a list of problems, one line each; an empty list means valid.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from .azure_types import AzureTypes, check_value
from .bicep_parse import (
    Arr,
    BicepFile,
    Expr,
    Obj,
    Param,
    Resource,
    parse_bicep,
    parse_bicepparam,
)

# Keys of a resource body that Bicep itself consumes; they are not part of the resource type.
BICEP_KEYWORDS = {"parent", "scope", "dependsOn"}
EXISTING_KEYS = {"name", "parent", "scope"}
_PRIMITIVES = {"string": str, "int": int, "bool": bool, "object": Obj, "array": Arr}


def validate_bicep_tree(root: Path, types_root: Path) -> list[str]:
    """Every .bicep and .bicepparam file under `root`."""
    types = AzureTypes(types_root)
    problems: list[str] = []
    for path in sorted(root.rglob("*.bicep")):
        problems += validate_bicep_file(path, types)
    for path in sorted(root.rglob("*.bicepparam")):
        problems += validate_bicepparam_file(path)
    return problems


def validate_bicep_file(path: Path, types: AzureTypes | None) -> list[str]:
    """One .bicep file; without `types`, everything but the resource type checks."""
    parsed = parse_bicep(path)
    if parsed.syntax_errors:
        return parsed.syntax_errors  # the tree is not reliable past a syntax error
    problems = [
        f"{path}:{line}: nested resource declarations are not checked; "
        "declare the child at top level with parent:"
        for line in parsed.nested_resources
    ]
    for param in parsed.params.values():
        if param.has_default:
            problems += _param_value_problems(param, param.default, f"{path}:{param.line}")
    for resource in parsed.resources:
        problems += _references(parsed, resource)
        if types is not None:
            problems += check_resource(parsed, resource, types)
    return problems + _check_modules(parsed)


def check_resource(parsed: BicepFile, resource: Resource, types: AzureTypes) -> list[str]:
    where = f"{parsed.path}:{resource.line}: resource {resource.symbol} '{resource.type_ref}'"
    body_type = types.lookup(resource.type_name, resource.api_version)
    if isinstance(body_type, str):
        return [f"{where}: {body_type}"]
    body = resource.body
    if not isinstance(body, Obj):
        return [f"{where}: the body is not an object literal"]
    if resource.existing:
        extra = sorted(set(body) - EXISTING_KEYS)
        if extra:
            return [
                f"{where}: an existing resource takes only name, parent and scope, not {', '.join(extra)}"
            ]
        return []
    written = Obj(body.line)
    for key, value in body.items():
        if key not in BICEP_KEYWORDS:
            written[key] = value
            written.key_lines[key] = body.key_lines[key]
    return [
        f"{parsed.path}:{line}: resource {resource.symbol} '{resource.type_ref}': {problem}"
        for line, problem in check_value(written, body_type, resource.symbol, body.line)
    ]


def validate_bicepparam_file(path: Path) -> list[str]:
    """A .bicepparam file: syntax, its `using` target, and each value against that param."""
    parsed = parse_bicepparam(path)
    if parsed.syntax_errors:
        return parsed.syntax_errors
    if not parsed.using:
        return [f"{path}: has no `using '<template>.bicep'` statement"]
    template_path = path.parent / parsed.using
    if not template_path.is_file():
        return [f"{path}: `using '{parsed.using}'` names a file that does not exist"]
    template = _parsed(template_path.resolve())
    # `var` declarations are legal in .bicepparam too; only `param` lines set parameters.
    set_names = re.findall(r"(?m)^\s*param\s+(\w+)", path.read_text())
    problems = []
    for name in set_names:
        param = template.params.get(name)
        if param is None:
            problems.append(f"{path}: sets param '{name}', which {parsed.using} does not declare")
        else:
            problems += _param_value_problems(param, parsed.variables.get(name), f"{path}")
    for name, param in template.params.items():
        if param.required and name not in set_names:
            problems.append(f"{path}: does not set '{name}', which {parsed.using} requires")
    return problems


@cache
def _parsed(path: Path) -> BicepFile:
    return parse_bicep(path)


def _references(parsed: BicepFile, resource: Resource) -> list[str]:
    """`parent:` and `scope:` point at declared resources; child types spell the full name."""
    body = resource.body
    if not isinstance(body, Obj):
        return []
    where = f"{parsed.path}:{resource.line}: resource {resource.symbol}"
    problems = []
    scope = _symbol(body.get("scope"))
    if scope and parsed.resource(scope) is None and scope not in parsed.params:
        problems.append(f"{where}: scope '{scope}' is not a resource declared in this file")
    depth = resource.type_name.count("/")
    parent_symbol = _symbol(body.get("parent"))
    if parent_symbol is None:
        name = body.get("name")
        if depth > 1 and isinstance(name, str) and name.count("/") != depth - 1:
            problems.append(
                f"{where}: a child resource needs `parent:` or a name with {depth} segments separated by '/'"
            )
        return problems
    parent = parsed.resource(parent_symbol)
    if parent is None:
        return problems + [f"{where}: parent '{parent_symbol}' is not a resource in this file"]
    prefix = parent.type_name.lower() + "/"
    if not resource.type_name.lower().startswith(prefix) or depth != parent.type_name.count("/") + 1:
        problems.append(
            f"{where}: its parent is a '{parent.type_name}', so its type must be the "
            f"full name '{parent.type_name}/<child type>', not '{resource.type_name}'"
        )
    return problems


def _symbol(value) -> str | None:
    """The resource symbol an expression like `ns` or `hubs[i]` refers to."""
    if not isinstance(value, Expr):
        return None
    node = value.node
    if node.type == "subscript_expression":
        node = node.child_by_field_name("object")
    return node.text.decode() if node is not None and node.type == "identifier" else None


def _check_modules(parsed: BicepFile) -> list[str]:
    problems = []
    for module in parsed.modules:
        where = f"{parsed.path}:{module.line}: module {module.symbol}"
        if re.match(r"^(br|ts)[:/]", module.source):
            continue  # registry modules are outside this repository
        target = parsed.path.parent / module.source
        if not target.is_file():
            problems.append(f"{where}: '{module.source}' does not exist")
            continue
        child = _parsed(target.resolve())
        given = module.body.get("params") if isinstance(module.body, Obj) else None
        given = given if isinstance(given, Obj) else Obj(module.line)
        for name, value in given.items():
            param = child.params.get(name)
            if param is None:
                problems.append(f"{where}: passes '{name}', which {module.source} does not declare")
            else:
                problems += _param_value_problems(param, value, where)
        for name, param in child.params.items():
            if param.required and name not in given:
                problems.append(f"{where}: does not pass '{name}', which {module.source} requires")
        for symbol, output, line in parsed.module_output_refs:
            if symbol == module.symbol and output not in child.outputs:
                problems.append(f"{parsed.path}:{line}: {module.source} has no output '{output}'")
    return problems


def _param_value_problems(param: Param, value, where: str) -> list[str]:
    """A literal value against the param's declared type and @allowed/@min/@max decorators."""
    if isinstance(value, Expr) or value is None:
        return []
    label = f"{where}: param '{param.name}'"
    expected = _PRIMITIVES.get(param.type.rstrip("?"))
    if param.type.endswith("[]"):
        expected = Arr
    if expected is not None and not _is_a(value, expected):
        return [f"{label}: {value!r} is not of type {param.type}"]
    problems = []
    allowed = param.decorators.get("allowed")
    if allowed and isinstance(allowed[0], Arr):
        items = value if isinstance(value, Arr) else [value]
        for item in items:
            if not isinstance(item, Expr) and item not in allowed[0]:
                problems.append(f"{label}: {item!r} is not one of the @allowed values")
    bounds = {
        "minValue": lambda v, b: not isinstance(v, int) or v >= b,
        "maxValue": lambda v, b: not isinstance(v, int) or v <= b,
        "minLength": lambda v, b: not isinstance(v, (str, Arr)) or len(v) >= b,
        "maxLength": lambda v, b: not isinstance(v, (str, Arr)) or len(v) <= b,
    }
    for name, within in bounds.items():
        bound = param.decorators.get(name, [None])[0]
        if isinstance(bound, int) and not within(value, bound):
            problems.append(f"{label}: {value!r} breaks @{name}({bound})")
    return problems


def _is_a(value, expected: type) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)
