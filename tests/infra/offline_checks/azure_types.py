"""Azure resource type definitions as Bicep uses them (bicep-types-az `types.json`), and a
checker that walks a Bicep value against them.

A types.json is a flat JSON array; `{"$ref": "#/N"}` points at entry N of the same array.
Property flags are bit masks: 1 required, 2 read-only, 4 write-only, 8 deploy-time constant.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .bicep_parse import Arr, Choice, Expr, Loop, Obj

REQUIRED, READ_ONLY = 1, 2


@dataclass(frozen=True)
class TypeRef:
    """One entry of one types.json."""

    table: tuple
    index: int

    @property
    def entry(self) -> dict:
        return self.table[self.index]

    def follow(self, ref: dict) -> TypeRef:
        return TypeRef(self.table, int(ref["$ref"].removeprefix("#/")))


class AzureTypes:
    """Index of `<root>/<provider>/<apiVersion>/types.json`."""

    def __init__(self, root: Path):
        self.root = root

    def lookup(self, type_name: str, api_version: str) -> TypeRef | str:
        """The body type of `type_name@api_version`, or a message saying why there is none."""
        provider = type_name.split("/", 1)[0].lower()
        provider_dir = self.root / provider
        if not provider_dir.is_dir():
            return f"provider {type_name.split('/', 1)[0]} is not in the schemas"
        table = _load(provider_dir / api_version / "types.json")
        if table is None:
            known = ", ".join(sorted(p.name for p in provider_dir.iterdir() if p.is_dir()))
            return f"API version {api_version} of {provider} is not in the schemas (known: {known})"
        wanted = f"{type_name}@{api_version}".lower()
        for index, entry in enumerate(table):
            if entry["$type"] == "ResourceType" and entry["name"].lower() == wanted:
                return TypeRef(table, index).follow(entry["body"])
        return f"resource type {type_name} does not exist in API version {api_version}"


@cache
def _load(path: Path) -> tuple | None:
    if not path.is_file():
        return None
    return tuple(json.loads(path.read_text()))


Problem = tuple[int, str]  # (line, message)


def check_value(value, expected: TypeRef, where: str, line: int, *, writing: bool = True) -> list[Problem]:
    """Problems with `value` as an `expected`; `where` is the property path used in messages,
    `line` the line to report when the value itself does not know its own.

    Expressions are not evaluated, so only literals are checked: property names (recursively
    through objects, arrays, unions and discriminated objects), read-only and required properties,
    and literal strings, numbers and booleans against their declared types.
    """
    if isinstance(value, Expr) or value is None:
        return []
    if isinstance(value, Choice):
        return [
            problem
            for option in value.options
            for problem in check_value(option, expected, where, _line_of(option, line), writing=writing)
        ]
    entry = expected.entry
    kind = entry["$type"]
    if kind == "AnyType":
        return []
    if kind == "ObjectType":
        return _check_object(value, expected, entry.get("properties", {}), where, line, writing)
    if kind == "DiscriminatedObjectType":
        return _check_discriminated(value, expected, where, line, writing)
    if kind == "UnionType":
        return _check_union(value, expected, where, line, writing)
    if kind == "ArrayType":
        return _check_array(value, expected, where, line, writing)
    return [(line, problem) for problem in _check_scalar(value, entry, where)]


def _check_object(
    value, ref: TypeRef, properties: dict, where: str, line: int, writing: bool
) -> list[Problem]:
    if not isinstance(value, Obj):
        return [(line, f"{where}: expected an object, got {_describe(value)}")]
    problems = []
    extra = ref.entry.get("additionalProperties")
    for key, item in value.items():
        key_line = value.key_lines.get(key, value.line)
        spec = properties.get(key)
        if spec is None and extra is not None:
            problems += check_value(item, ref.follow(extra), f"{where}.{key}", key_line, writing=writing)
        elif spec is None:
            problems.append((key_line, f"{where}.{key}: unknown property{_suggest(key, properties)}"))
        elif writing and spec.get("flags", 0) & READ_ONLY:
            problems.append((key_line, f"{where}.{key}: property is read-only"))
        else:
            problems += check_value(
                item, ref.follow(spec["type"]), f"{where}.{key}", key_line, writing=writing
            )
    if writing:
        for key, spec in properties.items():
            flags = spec.get("flags", 0)
            if flags & REQUIRED and not flags & READ_ONLY and key not in value:
                problems.append((value.line, f"{where}: required property '{key}' is missing"))
    return problems


def _check_discriminated(value, ref: TypeRef, where: str, line: int, writing: bool) -> list[Problem]:
    if not isinstance(value, Obj):
        return [(line, f"{where}: expected an object, got {_describe(value)}")]
    entry = ref.entry
    key = entry["discriminator"]
    base = entry.get("baseProperties", {})
    tag = value.get(key)
    if isinstance(tag, str):
        element = entry["elements"].get(tag)
        if element is None:
            known = ", ".join(entry["elements"])
            return [
                (value.key_lines.get(key, line), f"{where}.{key}: unknown value '{tag}' (known: {known})")
            ]
        chosen = ref.follow(element)
        merged = {**base, **chosen.entry.get("properties", {})}
        return _check_object(value, chosen, merged, where, line, writing)
    # The kind is an expression: accept any property that some variant knows, and skip the
    # required/read-only checks, which differ between variants.
    merged = dict(base)
    for element in entry["elements"].values():
        merged.update(ref.follow(element).entry.get("properties", {}))
    return _check_object(value, ref, merged, where, line, writing=False)


def _check_union(value, ref: TypeRef, where: str, line: int, writing: bool) -> list[Problem]:
    elements = [ref.follow(element) for element in ref.entry["elements"]]
    attempts = [check_value(value, element, where, line, writing=writing) for element in elements]
    if any(not problems for problems in attempts):
        return []
    # For an object or array, report against the variant of the same shape: its property
    # problems say more than "expected a string".
    shaped = [
        problems
        for element, problems in zip(elements, attempts, strict=True)
        if _same_shape(value, element.entry["$type"])
    ]
    if shaped:
        return min(shaped, key=len)
    allowed = sorted(_literal_options(elements))
    shown = ", ".join(allowed) if allowed else "another type"
    return [(line, f"{where}: {_describe(value)} is not allowed (expected {shown})")]


def _same_shape(value, kind: str) -> bool:
    if isinstance(value, Obj):
        return kind in ("ObjectType", "DiscriminatedObjectType")
    return isinstance(value, (Arr, Loop)) and kind == "ArrayType"


def _check_array(value, ref: TypeRef, where: str, line: int, writing: bool) -> list[Problem]:
    item_type = ref.follow(ref.entry["itemType"])
    if isinstance(value, Loop):
        return check_value(value.body, item_type, f"{where}[]", value.line, writing=writing)
    if not isinstance(value, Arr):
        return [(line, f"{where}: expected an array, got {_describe(value)}")]
    problems = []
    for i, item in enumerate(value):
        problems += check_value(item, item_type, f"{where}[{i}]", _line_of(item, line), writing=writing)
    return problems


def _check_scalar(value, entry: dict, where: str) -> list[str]:
    kind = entry["$type"]
    if kind == "StringLiteralType":
        if value != entry["value"]:
            return [f"{where}: {_describe(value)} is not allowed (expected '{entry['value']}')"]
    elif kind == "StringType":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {_describe(value)}"]
        if len(value) < entry.get("minLength", 0) or len(value) > entry.get("maxLength", 1 << 62):
            return [f"{where}: '{value}' has a length outside the allowed range"]
    elif kind == "IntegerType":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: expected an integer, got {_describe(value)}"]
        if not entry.get("minValue", value) <= value <= entry.get("maxValue", value):
            return [f"{where}: {value} is outside the allowed range"]
    elif kind == "BooleanType" and not isinstance(value, bool):
        return [f"{where}: expected true or false, got {_describe(value)}"]
    return []


def _line_of(value, default: int) -> int:
    """The line a value starts on, if it knows it."""
    return getattr(value, "line", default)


def _literal_options(elements: list[TypeRef]) -> set[str]:
    return {
        f"'{element.entry['value']}'" for element in elements if element.entry["$type"] == "StringLiteralType"
    }


def _describe(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (Obj, dict)):
        return "an object"
    if isinstance(value, (Arr, Loop, list)):
        return "an array"
    return type(value).__name__


def _suggest(key: str, properties: dict) -> str:
    close = difflib.get_close_matches(key, list(properties), n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    ignoring_case = [name for name in properties if name.lower() == key.lower()]
    return f" (did you mean '{ignoring_case[0]}'?)" if ignoring_case else ""
