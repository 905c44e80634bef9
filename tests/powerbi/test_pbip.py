"""Checks of the Power BI project (powerbi/), offline: every JSON file validates against the
schema it declares (../shared/schemas/powerbi/); every table and column of the semantic model
exists in a view that sql/ creates (the migrations run on a local DuckDB database, and each
partition's source runs there); relationships, measures and every field a visual binds point
at the model; the report has the dashboard's pages."""

from __future__ import annotations

import json
import re

import pytest

from jobs.serving import dialect
from jobs.serving.connections import DuckDBDatabase
from jobs.serving.migrations import migrate
from jobs.settings import PROJECT_ROOT
from tests.conftest import shared_file
from tests.powerbi.tmdl import SemanticModel

POWERBI = PROJECT_ROOT / "powerbi"
MODEL = POWERBI / "Vigil.SemanticModel" / "definition"
REPORT = POWERBI / "Vigil.Report" / "definition"
SCHEMA_URL = "https://developer.microsoft.com/json-schemas/fabric/"
JSON_FILES = sorted(
    p
    for p in POWERBI.rglob("*")
    if p.is_file() and (p.suffix in (".json", ".pbip", ".pbir", ".pbism") or p.name == ".platform")
)
# TMDL dataType → the DuckDB types a view's column may have for it
TYPES = {
    "string": {"VARCHAR"},
    "int64": {"INTEGER", "BIGINT", "HUGEINT", "SMALLINT"},
    "double": {"DOUBLE", "FLOAT"},
    "boolean": {"BOOLEAN"},
    "dateTime": {"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"},
}


@pytest.fixture(scope="module")
def registry():
    from referencing import Registry, Resource

    root = shared_file("schemas/powerbi/pbip/pbipProperties/1.0.0/schema.json").parents[3]
    resources = []
    for path in root.rglob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(contents)
        resources.append((SCHEMA_URL + path.relative_to(root).as_posix(), resource))
        if contents.get("$id"):
            resources.append((contents["$id"], resource))
    return root, Registry().with_resources(resources)


def test_the_project_has_its_files():
    assert (POWERBI / "Vigil.pbip").exists() and len(JSON_FILES) > 20
    assert {p.name for p in (REPORT / "pages").iterdir() if p.is_dir()} == set(
        json.loads((REPORT / "pages" / "pages.json").read_text())["pageOrder"]
    )


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda p: p.relative_to(POWERBI).as_posix())
def test_every_json_file_validates_against_the_schema_it_declares(registry, path):
    from jsonschema import Draft7Validator

    root, reg = registry
    document = json.loads(path.read_text(encoding="utf-8"))
    url = document.get("$schema", "")
    assert url.startswith(SCHEMA_URL), f"{path.name} declares no Fabric $schema"
    local = root / url.removeprefix(SCHEMA_URL)
    assert local.exists(), f"{path.name}: {url} is not among the shared schemas ({local})"
    schema = json.loads(local.read_text(encoding="utf-8"))
    validator = Draft7Validator(schema, registry=reg)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(document)
    ]
    assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def model() -> SemanticModel:
    return SemanticModel(MODEL)


@pytest.fixture(scope="module")
def views_db(tmp_path_factory):
    """A DuckDB database with every migration in sql/ applied: the views Power BI reads."""
    db = DuckDBDatabase(tmp_path_factory.mktemp("pbi") / "serving.duckdb").connect()
    migrate(db)
    yield db
    db.close()


def view_names(db) -> set[str]:
    return {
        r[0]
        for r in db.query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'vigil' AND table_type = 'VIEW'"
        )
    }


def source_sql(partition) -> str:
    if partition.view:
        schema, view = partition.view
        return f"SELECT * FROM {schema}.{view}"
    assert partition.query, f"partition {partition.name}: neither a view nor a SQL query"
    return partition.query


def test_model_reads_views_only_in_direct_query_with_server_and_database_parameters(model, views_db):
    for name in ("Server", "Database"):
        expression = model.expressions[name].expression
        assert "IsParameterQuery = true" in expression and 'Type = "Text"' in expression
    views = view_names(views_db)
    for table in model.tables.values():
        (partition,) = table.partitions
        assert partition.mode == "directQuery", table.name
        assert "Sql.Database(Server, Database" in partition.source, table.name
        read = {f"{t.db}.{t.name}".lower() for t in _tables_in(source_sql(partition))}
        assert read and all(r.startswith("vigil.vw_") and r.removeprefix("vigil.") in views for r in read), (
            table.name,
            read,
        )


def _tables_in(tsql: str):
    import sqlglot
    from sqlglot import exp

    return list(sqlglot.parse_one(tsql, read="tsql").find_all(exp.Table))


def test_every_table_and_column_of_the_model_exists_in_a_view(model, views_db):
    for table in model.tables.values():
        (partition,) = table.partitions
        (statement,) = dialect.transpile(source_sql(partition), "duckdb")
        described = views_db.query(f"DESCRIBE SELECT * FROM ({statement}) AS q")
        types = {row[0]: row[1] for row in described}
        for column in table.columns.values():
            source = column.properties.get("sourceColumn")
            assert source == column.name, f"{table.name}.{column.name}: the same name everywhere"
            assert source in types, f"{table.name}.{column.name} is not a column of {source_sql(partition)}"
            kind = column.properties["dataType"]
            assert types[source].split("(")[0] in TYPES[kind], (table.name, source, kind, types[source])


def test_relationships_join_fact_columns_to_dimension_keys(model):
    assert len(model.relationships) >= 15
    for rel in model.relationships:
        many, one = rel.properties["fromColumn"], rel.properties["toColumn"]
        for ref in (many, one):
            table, column = ref.split(".", 1)
            assert column in model.tables[table].columns, ref
        assert one.startswith("dim_") and not many.startswith("dim_"), (many, one)
    dims_used = {r.properties["toColumn"].split(".")[0] for r in model.relationships}
    assert dims_used == {t for t in model.tables if t.startswith("dim_")}


_DAX_REF = re.compile(r"'([^']+)'\[([^\]]+)\]|(?<![\w'\]])\[([^\]]+)\]")


def test_measures_name_fields_that_exist(model):
    names = {m for t in model.tables.values() for m in t.measures}
    wanted = {
        "Reports",
        "Serious reports",
        "Overdose rate",
        "Deaths",
        "PRR (selected pair)",
        "ROR (selected pair)",
        "Open alerts",
    }
    assert wanted <= names
    for table in model.tables.values():
        for measure in table.measures.values():
            for t, c, bare in _DAX_REF.findall(measure.expression):
                if bare:
                    assert bare in names, f"{table.name}[{measure.name}] uses unknown measure [{bare}]"
                else:
                    assert model.has_field(t, c), f"{table.name}[{measure.name}] uses unknown '{t}'[{c}]"


def _fields(node):
    """Every Column/Measure reference (entity, property) anywhere in a visual's JSON."""
    if isinstance(node, dict):
        for kind in ("Column", "Measure"):
            ref = node.get(kind)
            if isinstance(ref, dict) and "Entity" in ref.get("Expression", {}).get("SourceRef", {}):
                yield kind, ref["Expression"]["SourceRef"]["Entity"], ref["Property"]
        for value in node.values():
            yield from _fields(value)
    elif isinstance(node, list):
        for value in node:
            yield from _fields(value)


def test_every_field_a_visual_binds_exists_in_the_model(model):
    visuals = sorted(REPORT.glob("pages/*/visuals/*/visual.json"))
    assert len(visuals) >= 6 * 3
    for path in visuals:
        bound = list(_fields(json.loads(path.read_text(encoding="utf-8"))))
        assert bound, f"{path} binds no field"
        for kind, entity, prop in bound:
            table = model.tables.get(entity)
            assert table, f"{path}: no table {entity}"
            members = table.columns if kind == "Column" else table.measures
            assert prop in members, f"{path}: {entity} has no {kind.lower()} {prop!r}"


def test_the_report_has_the_dashboard_pages_in_the_same_order():
    from dashboard.pages import PAGES

    order = json.loads((REPORT / "pages" / "pages.json").read_text())["pageOrder"]
    names = [json.loads((REPORT / "pages" / p / "page.json").read_text())["displayName"] for p in order]
    assert names == [title for title, _, _ in PAGES]
