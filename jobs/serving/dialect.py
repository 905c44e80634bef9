"""T-SQL in `sql/` → the statements a target database runs.

T-SQL is the single source of truth. Azure SQL gets it unchanged, one `GO` batch at a time.
DuckDB (the local default) and SQLite (the ODBC proof) get it through sqlglot, one statement at
a time, plus the project mappings below — only where sqlglot's output would differ in meaning
or not run. Every mapping is listed here and nowhere else.

DuckDB:
- `BIT` → `BOOLEAN`: DuckDB's BIT is a bit string, not a flag.
- `FLOAT` → `DOUBLE`: T-SQL FLOAT is 8 bytes; sqlglot emits REAL, 4 bytes in DuckDB.
- `NVARCHAR(n)`, `NVARCHAR(MAX)` → `TEXT` (DuckDB's VARCHAR): DuckDB refuses `MAX` and ignores lengths (the
  load's reject rules check lengths, so over-long values are rejected on both targets).
- `PRIMARY KEY (c)` stays so: sqlglot adds `NULLS FIRST` (T-SQL's sort order), which DuckDB
  refuses in a key.
- `SYSUTCDATETIME()` → `CAST(NOW() AT TIME ZONE 'UTC' AS TIMESTAMP)`: UTC wall-clock, as DATETIME2.

SQLite (the ODBC proof only):
- `vigil.x` → `x`, and `CREATE SCHEMA` is skipped: SQLite has no schemas.
- `NVARCHAR(n)`, `NVARCHAR(MAX)` → `TEXT`: SQLite refuses `MAX`.
- `YEAR`, `MONTH`, `DAY`, `DATEPART(quarter, …)` → `STRFTIME` arithmetic: no date-part functions.
- `SYSUTCDATETIME()` → `STRFTIME('%Y-%m-%d %H:%M:%f', 'now')`.
- `TRUNCATE TABLE t` → `DELETE FROM t`: SQLite has no TRUNCATE.
- `MERGE` → `DELETE` of the matched rows + `INSERT`: SQLite has no MERGE. Exact only for the
  project's two shapes (insert-if-absent; full-row upsert/delete); anything else is refused.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

DIALECTS = ("tsql", "duckdb", "sqlite")
_GO = re.compile(r"^\s*GO\s*;?\s*(?:--.*)?$", re.IGNORECASE | re.MULTILINE)


class DialectError(ValueError):
    """A statement that cannot be run on the requested target as written."""


def split_batches(text: str) -> list[str]:
    """T-SQL batches: the text between `GO` lines (a client-side separator, never sent)."""
    return [batch.strip() for batch in _GO.split(text) if batch.strip() and not _only_comments(batch)]


def _only_comments(batch: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in batch.splitlines())


def parse_tsql(text: str) -> list[exp.Expression]:
    """Every statement of a T-SQL file, parsed strictly (no opaque `Command` fallbacks)."""
    statements = []
    for batch in split_batches(text):
        try:
            parsed = sqlglot.parse(batch, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
        except sqlglot.errors.ParseError as exc:
            raise DialectError(f"not valid T-SQL for sqlglot: {exc}") from exc
        for statement in parsed:
            if statement is None:
                continue
            if isinstance(statement, exp.Command):
                raise DialectError(f"sqlglot cannot parse this as T-SQL: {statement.sql()[:120]}")
            statements.append(statement)
    return statements


def transpile(text: str, dialect: str) -> list[str]:
    """The statements (tsql: batches) that run `text` on `dialect`."""
    if dialect not in DIALECTS:
        raise DialectError(f"unknown SQL dialect {dialect!r}: use one of {', '.join(DIALECTS)}")
    if dialect == "tsql":
        return split_batches(text)
    out = []
    for statement in parse_tsql(text):
        for mapped in _MAPPERS[dialect](statement):
            out.append(mapped.sql(dialect=dialect, comments=False))  # some drivers split on ";" in comments
    return out


# --- DuckDB ---------------------------------------------------------------------------------

def _to_duckdb(statement: exp.Expression) -> list[exp.Expression]:
    return [statement.transform(_duckdb_node)]


def _duckdb_node(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Ordered) and isinstance(node.parent, exp.PrimaryKey):
        return node.this
    if isinstance(node, exp.DataType):
        if node.this == exp.DataType.Type.BIT:
            return exp.DataType.build("BOOLEAN")
        if node.this == exp.DataType.Type.FLOAT:
            return exp.DataType.build("DOUBLE")
        if node.this in exp.DataType.TEXT_TYPES:
            return exp.DataType.build("VARCHAR")
    if _is_sysutcdatetime(node):
        return sqlglot.parse_one("CAST(NOW() AT TIME ZONE 'UTC' AS TIMESTAMP)", read="duckdb")
    return node


def _is_sysutcdatetime(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and str(node.this).upper() == "SYSUTCDATETIME"


# --- SQLite ---------------------------------------------------------------------------------

def _to_sqlite(statement: exp.Expression) -> list[exp.Expression]:
    if isinstance(statement, exp.Create) and str(statement.args.get("kind")).upper() == "SCHEMA":
        return []
    statement = statement.transform(_sqlite_node)
    if isinstance(statement, exp.TruncateTable):
        return [exp.delete(table) for table in statement.expressions]
    if isinstance(statement, exp.Merge):
        return _merge_as_delete_insert(statement)
    return [statement]


def _sqlite_node(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Table) and node.args.get("db"):
        node = node.copy()
        node.set("db", None)
        return node
    if isinstance(node, exp.DataType) and node.this in exp.DataType.TEXT_TYPES:
        return exp.DataType.build("TEXT")
    if _is_sysutcdatetime(node):
        return sqlglot.parse_one("STRFTIME('%Y-%m-%d %H:%M:%f', 'now')", read="sqlite")
    if isinstance(node, (exp.Year, exp.Month, exp.Day)):
        return _sqlite_date_part(type(node).__name__.lower(), node.this)
    if isinstance(node, exp.Extract) and node.this.name.lower() == "quarter":
        return _sqlite_date_part("quarter", node.expression)
    return node


def _sqlite_date_part(part: str, arg: exp.Expression) -> exp.Expression:
    template = sqlglot.parse_one(_SQLITE_DATE_PARTS[part], read="sqlite")
    return template.transform(lambda n: arg.copy() if isinstance(n, exp.Column) and n.name == "x" else n)


_SQLITE_DATE_PARTS = {
    "year": "CAST(STRFTIME('%Y', x) AS INTEGER)",
    "month": "CAST(STRFTIME('%m', x) AS INTEGER)",
    "day": "CAST(STRFTIME('%d', x) AS INTEGER)",
    "quarter": "(CAST(STRFTIME('%m', x) AS INTEGER) + 2) / 3",
}


def _merge_as_delete_insert(merge: exp.Merge) -> list[exp.Expression]:
    """MERGE for a database without it. Exact only for the project's MERGE shapes:
    (a) insert-if-absent (no WHEN MATCHED), (b) full-row upsert/delete, where WHEN MATCHED
    UPDATE sets every inserted non-key column to the value the INSERT would give it."""
    target = merge.this
    target_name = target.name
    alias = target.alias_or_name
    using = merge.args["using"]
    on = _unalias(merge.args["on"], alias, target_name)
    whens = merge.args["whens"].expressions
    matched = [w for w in whens if w.args.get("matched")]
    inserts = [w for w in whens if not w.args.get("matched") and isinstance(w.args["then"], exp.Insert)]
    if len(inserts) != 1:
        raise DialectError("sqlite MERGE rewrite needs exactly one WHEN NOT MATCHED THEN INSERT")
    insert = inserts[0]
    columns = [c.name for c in insert.args["then"].this.expressions]
    values = insert.args["then"].expression.expressions
    source_select = exp.select(*values).from_(using.copy())
    if insert.args.get("condition"):
        source_select = source_select.where(insert.args["condition"].copy())
    plain_target = exp.table_(target_name)
    if not matched:
        present = exp.Exists(this=exp.select("1").from_(plain_target.copy()).where(on.copy()))
        source_select = source_select.where(exp.Not(this=present))
        return [exp.insert(source_select, plain_target, columns=columns)]
    _check_full_row_update(matched, columns, values, on)
    # Every matched row is deleted, then re-inserted if the INSERT's condition keeps it.
    matching = exp.Exists(this=exp.select("1").from_(using.copy()).where(on.copy()))
    delete = exp.delete(plain_target, where=matching)
    return [delete, exp.insert(source_select, plain_target, columns=columns)]


def _unalias(on: exp.Expression, alias: str, table: str) -> exp.Expression:
    def swap(node):
        if isinstance(node, exp.Column) and node.table == alias:
            return exp.column(node.name, table=table)
        return node

    return on.copy().transform(swap)


def _check_full_row_update(matched, columns, values, on) -> None:
    if all(w.args.get("condition") for w in matched):
        raise DialectError("sqlite MERGE rewrite needs an unconditional WHEN MATCHED clause")
    keys = {c.name for c in on.find_all(exp.Column)}
    inserted = {c: v.sql() for c, v in zip(columns, values, strict=True) if c not in keys}
    for when in matched:
        then = when.args["then"]
        if isinstance(then, exp.Update):
            updated = {eq.this.name: eq.expression.sql() for eq in then.expressions}
            if updated != inserted:
                raise DialectError("sqlite MERGE rewrite needs UPDATE SET of every inserted non-key column")
        elif not (isinstance(then, exp.Var) and then.name.upper() == "DELETE"):
            raise DialectError(f"sqlite MERGE rewrite cannot express {then.sql()}")


_MAPPERS = {"duckdb": _to_duckdb, "sqlite": _to_sqlite}
