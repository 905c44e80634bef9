"""A small TMDL reader for the checks: tables with their columns (sourceColumn, dataType),
measures (name, DAX), partitions (mode and the view or SQL query their M source reads),
relationships and parameter expressions. Only what the tests need; TMDL is indentation-based
(tabs), one object per line, properties one level deeper, multi-line expressions deeper still."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_NAME = r"(?:'(?:[^']|'')+'|[^\s=']+)"
_OBJECT = re.compile(
    rf"^(table|column|measure|partition|relationship|expression)\s+({_NAME})(?:\s*=\s*(.*))?$"
)
_PROPERTY = re.compile(r"^(\w+)\s*:\s*(.*)$")
_NAVIGATION = re.compile(r'Schema\s*=\s*"(\w+)"\s*,\s*Item\s*=\s*"(\w+)"')
_QUERY = re.compile(r'\[\s*Query\s*=\s*"((?:[^"]|"")*)"\s*\]')


def unquote(name: str) -> str:
    return name[1:-1].replace("''", "'") if name.startswith("'") else name


@dataclass
class TmdlObject:
    kind: str
    name: str
    expression: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    children: list[TmdlObject] = field(default_factory=list)


@dataclass
class Partition:
    name: str
    mode: str
    source: str

    @property
    def view(self) -> tuple[str, str] | None:
        match = _NAVIGATION.search(self.source)
        return (match[1], match[2]) if match else None

    @property
    def query(self) -> str | None:
        match = _QUERY.search(self.source)
        return match[1].replace('""', '"') if match else None


@dataclass
class Table:
    name: str
    columns: dict[str, TmdlObject]
    measures: dict[str, TmdlObject]
    partitions: list[Partition]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip("\t"))


def parse(text: str) -> list[TmdlObject]:
    """Top-level objects of one TMDL file with their nested objects and properties."""
    lines = text.splitlines()
    roots: list[TmdlObject] = []
    stack: list[tuple[int, TmdlObject]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        i += 1
        if (
            not stripped
            or stripped.startswith("///")
            or stripped.startswith("annotation ")
            or stripped.startswith("ref ")
        ):
            continue
        depth = _indent(line)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        match = _OBJECT.match(stripped)
        if match:
            obj = TmdlObject(match[1], unquote(match[2]), (match[3] or "").strip())
            if obj.expression == "" and match[3] is not None:  # a multi-line expression follows
                obj.expression, i = _block(lines, i, depth + 1)
            (stack[-1][1].children if stack else roots).append(obj)
            stack.append((depth, obj))
            continue
        if not stack:
            continue  # database / model headers
        prop = _PROPERTY.match(stripped)
        if prop and prop[1] == "source" or stripped == "source =":
            stack[-1][1].properties["source"], i = _block(lines, i, depth + 1)
        elif stripped.startswith("source ="):
            stack[-1][1].properties["source"] = stripped.split("=", 1)[1].strip()
        elif prop:
            stack[-1][1].properties[prop[1]] = prop[2].strip()
        else:
            stack[-1][1].flags.add(stripped)
    return roots


def _block(lines: list[str], i: int, min_depth: int) -> tuple[str, int]:
    """Lines indented deeper than the owner's properties: a multi-line expression."""
    body = []
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > min_depth):
        body.append(lines[i].strip())
        i += 1
    return "\n".join(body).strip(), i


class SemanticModel:
    def __init__(self, definition: Path) -> None:
        self.definition = definition
        self.tables: dict[str, Table] = {}
        for path in sorted((definition / "tables").glob("*.tmdl")):
            for obj in parse(path.read_text(encoding="utf-8")):
                assert obj.kind == "table", path
                self.tables[obj.name] = Table(
                    obj.name,
                    {c.name: c for c in obj.children if c.kind == "column"},
                    {m.name: m for m in obj.children if m.kind == "measure"},
                    [
                        Partition(p.name, p.properties.get("mode", "import"), p.properties.get("source", ""))
                        for p in obj.children
                        if p.kind == "partition"
                    ],
                )
        rel_file = definition / "relationships.tmdl"
        self.relationships = (
            [r for r in parse(rel_file.read_text(encoding="utf-8")) if r.kind == "relationship"]
            if rel_file.exists()
            else []
        )
        expr_file = definition / "expressions.tmdl"
        self.expressions = (
            {e.name: e for e in parse(expr_file.read_text(encoding="utf-8"))} if expr_file.exists() else {}
        )

    def has_field(self, table: str, name: str) -> bool:
        t = self.tables.get(table)
        return bool(t) and (name in t.columns or name in t.measures)
