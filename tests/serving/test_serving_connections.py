"""Azure SQL connection strings, token packing, error mapping and retries — without a server."""

from __future__ import annotations

import struct

import pyodbc
import pytest

from jobs.serving import connections as c
from jobs.settings import Settings


def test_connection_string_for_a_token_uses_driver_18_with_encryption_and_no_secret():
    text = c.azure_sql_connection_string("vigil-dev-sql", "vigil")
    assert text == ("Driver={ODBC Driver 18 for SQL Server};"
                    "Server=tcp:vigil-dev-sql.database.windows.net,1433;Database=vigil;Encrypt=yes;"
                    "TrustServerCertificate=no;Connection Timeout=30;")
    assert "Authentication" not in text and "PWD" not in text


def test_connection_string_for_a_managed_identity():
    text = c.azure_sql_connection_string("x.database.windows.net", "db;x", auth="msi", client_id="abc")
    assert "Server=tcp:x.database.windows.net,1433;" in text
    assert "Database={db;x};" in text  # a value with a separator is braced, not split
    assert text.endswith("Authentication=ActiveDirectoryMsi;UID=abc;")
    with pytest.raises(c.ServingError, match="not supported"):
        c.azure_sql_connection_string("x", "y", auth="password")


def test_access_token_is_packed_for_sql_copt_ss_access_token():
    packed = c.pack_access_token("eyJ0eXAi")
    raw = "eyJ0eXAi".encode("utf-16-le")
    assert packed == struct.pack("<I", len(raw)) + raw
    assert c.SQL_COPT_SS_ACCESS_TOKEN == 1256


def test_the_token_comes_from_the_credential_for_the_azure_sql_scope():
    scopes = []

    class Credential:
        def get_token(self, scope):
            scopes.append(scope)
            return type("Token", (), {"token": "abc"})()

    db = c.azure_sql_database("srv", "db", credential=Credential(), batch_size=500)
    assert db.token_provider() == c.pack_access_token("abc")
    assert scopes == ["https://database.windows.net/.default"]
    assert (db.dialect, db.batch_size, db.fast_executemany) == ("tsql", 500, True)
    assert c.azure_sql_database("srv", "db", auth="msi").token_provider is None


AZURE_MESSAGE = ("[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Database 'vigil' on server "
                 "'vigil-dev-sql' is not currently available. (40613) (SQLDriverConnect)")


@pytest.mark.parametrize(("exc", "kind"), [
    (pyodbc.OperationalError("HY000", AZURE_MESSAGE), c.TransientError),
    (pyodbc.OperationalError("08S01", "[08S01] Communication link failure (10054)"), c.TransientError),
    (pyodbc.Error("42000", "[42000] The service is busy (40501)"), c.TransientError),
    (pyodbc.IntegrityError("23000", "Violation of PRIMARY KEY constraint (2627)"), c.ConstraintError),
    (pyodbc.ProgrammingError("42S02", "Invalid object name 'vigil.nope'. (208)"), None),
])
def test_azure_sql_errors_are_classified(exc, kind):
    assert c.classify(exc) is kind


def test_transient_errors_are_retried_with_backoff_and_others_are_not():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise pyodbc.OperationalError("HY000", AZURE_MESSAGE)
        return "ok"

    assert c.with_retries(flaky, sleep=sleeps.append) == "ok"
    assert sleeps == [1.0, 2.0]

    def broken():
        raise pyodbc.ProgrammingError("42S02", "Invalid object name (208)")

    with pytest.raises(pyodbc.ProgrammingError):
        c.with_retries(broken, sleep=sleeps.append)
    def down():
        raise pyodbc.OperationalError("HY000", AZURE_MESSAGE)

    with pytest.raises(c.TransientError, match="gave up after 2"):
        c.with_retries(down, attempts=2, sleep=sleeps.append)


def test_the_local_profile_serves_from_a_duckdb_file_under_the_data_root(monkeypatch, tmp_path):
    monkeypatch.delenv("VIGIL_SQL_SERVER", raising=False)
    settings = Settings(profile="local", data_root=str(tmp_path), kafka_bootstrap=None)
    db = c.database_for(settings)
    assert isinstance(db, c.DuckDBDatabase)
    assert db.path == str(tmp_path / "serving" / "vigil_serving.duckdb")
    monkeypatch.setenv("VIGIL_SQL_SERVER", "srv")
    monkeypatch.delenv("VIGIL_SQL_DATABASE", raising=False)
    with pytest.raises(c.ServingError, match="VIGIL_SQL_DATABASE"):
        c.database_for(settings)
    monkeypatch.setenv("VIGIL_SQL_DATABASE", "vigil")
    monkeypatch.setenv("VIGIL_SQL_AUTH", "msi")
    db = c.database_for(settings)
    assert isinstance(db, c.OdbcDatabase) and "ActiveDirectoryMsi" in db.connection_string


def test_service_credential_outside_databricks_is_refused_with_the_fix(monkeypatch, tmp_path):

    monkeypatch.setenv("VIGIL_SQL_SERVER", "vigil-sql.database.windows.net")
    monkeypatch.setenv("VIGIL_SQL_DATABASE", "vigil")
    monkeypatch.setenv("VIGIL_SQL_SERVICE_CREDENTIAL", "vigil-connector")
    settings = Settings(profile="azure", data_root=str(tmp_path), kafka_bootstrap=None, catalog="vigil")
    with pytest.raises(c.ServingError, match="only be used on Databricks; unset"):
        c.database_for(settings)
