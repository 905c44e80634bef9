"""Serving databases behind one small adapter over a DB-API connection.

The loader and the migration runner talk only to `Database`: run T-SQL (translated for the
target by `dialect`), transactions, and one bulk step — writing a table's changes to staging —
which is the only place the targets differ in how, not what:

- DuckDB (local default): Spark writes the changes as Parquet; DuckDB inserts them in one
  statement (`read_parquet`), without passing rows through Python.
- ODBC (Azure SQL; SQLite for the local proof): `executemany` with `fast_executemany`, in
  batches of `batch_size` rows, parameters always bound.

Azure SQL: ODBC Driver 18, `Encrypt=yes`, an Entra ID access token from azure-identity passed
as SQL_COPT_SS_ACCESS_TOKEN (default), or `Authentication=ActiveDirectoryMsi`. Connecting, and
each table's load, are retried with backoff on Azure SQL's transient errors.
"""

from __future__ import annotations

import os
import re
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from jobs.serving import dialect

SQL_COPT_SS_ACCESS_TOKEN = 1256  # msodbcsql.h: pre-connect attribute carrying the token
AZURE_SQL_SCOPE = "https://database.windows.net/.default"
ODBC_DRIVER = "ODBC Driver 18 for SQL Server"

# Azure SQL errors worth retrying (learn.microsoft.com, "Troubleshoot transient connection errors").
TRANSIENT_ERRORS = frozenset({
    64, 233, 4060, 4221, 10053, 10054, 10060, 10928, 10929, 40143, 40197, 40501, 40540, 40613,
    42108, 42109, 49918, 49919, 49920,
})
# ODBC SQLSTATEs that mean the link or a timeout failed rather than the statement.
TRANSIENT_SQLSTATES = frozenset({"08S01", "08001", "08004", "HYT00", "HYT01", "40001"})
_ERROR_NUMBER = re.compile(r"\((\d+)\)")


class ServingError(RuntimeError):
    """A serving-database failure, with what it is and how to fix it where we know."""


class TransientError(ServingError):
    """Worth retrying: the server was busy, failing over or the link dropped."""


class ConstraintError(ServingError):
    """A row broke a constraint the reject rules did not catch."""


def error_numbers(exc: BaseException) -> set[int]:
    """Native error numbers in a driver message, e.g. `... (40613) (SQLDriverConnect)`."""
    return {int(n) for arg in exc.args if isinstance(arg, str) for n in _ERROR_NUMBER.findall(arg)}


def sqlstate(exc: BaseException) -> str | None:
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, str) and len(first) == 5 else None


# Native error numbers by dialect. SQL Server: 547 CHECK/foreign key, 2601/2627 duplicate key,
# 515 NULL into NOT NULL, 2628/8152 truncation. SQLite: 19 constraint; 5 busy and 6 locked pass.
CONSTRAINT_ERRORS = {"tsql": frozenset({515, 547, 2601, 2627, 2628, 8152}), "sqlite": frozenset({19})}
NATIVE_TRANSIENT = {"tsql": TRANSIENT_ERRORS, "sqlite": frozenset({5, 6})}


def classify(exc: BaseException, dialect_name: str = "tsql") -> type[ServingError] | None:
    """Which `ServingError` a driver exception is: transient, constraint, or neither (None)."""
    if isinstance(exc, ServingError):
        return type(exc)
    state = sqlstate(exc) or ""
    numbers = error_numbers(exc)
    if state in TRANSIENT_SQLSTATES or numbers & NATIVE_TRANSIENT.get(dialect_name, frozenset()):
        return TransientError
    if (state.startswith("23") or numbers & CONSTRAINT_ERRORS.get(dialect_name, frozenset())
            or type(exc).__name__ == "ConstraintException"):  # DuckDB's
        return ConstraintError
    return None


@contextmanager
def mapped_errors(dialect_name: str):
    """Re-raise a driver's transient and constraint errors as ours, the driver's as the cause."""
    try:
        yield
    except ServingError:
        raise
    except Exception as exc:
        kind = classify(exc, dialect_name)
        if kind is None:
            raise
        raise kind(str(exc)) from exc


def with_retries(action: Callable[[], object], *, attempts: int = 5, base_delay: float = 1.0,
                 max_delay: float = 30.0, on_retry: Callable[[BaseException], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
    """Run `action`, retrying transient errors with exponential backoff (1, 2, 4 … s)."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            if classify(exc) is not TransientError:
                raise
            if attempt == attempts:
                raise TransientError(f"gave up after {attempts} attempts: {exc}") from exc
            if on_retry:
                on_retry(exc)
            sleep(min(max_delay, base_delay * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")


class Changes:
    """A table's changes, ready for staging; what `Database.write_staging` may ask of them."""

    def parquet_dir(self) -> str:  # a folder of Parquet files with the staging columns
        raise NotImplementedError

    def row_batches(self, size: int) -> Iterable[list[tuple]]:  # tuples in staging column order
        raise NotImplementedError


class Database:
    """A DB-API connection plus the dialect its T-SQL is translated to."""

    dialect = "tsql"

    def __init__(self) -> None:
        self.conn = None
        self.last_columns: list[str] = []

    def connect(self) -> Database:
        self.conn = self._connect()
        return self

    def _connect(self):
        raise NotImplementedError

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def reconnect(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: S110 - a dead link may refuse even to close
            self.conn = None
        self.connect()

    def __enter__(self) -> Database:
        return self if self.conn is not None else self.connect()

    def __exit__(self, *exc) -> None:
        self.close()

    def statements(self, tsql: str) -> list[str]:
        return _translated(tsql, self.dialect)

    def run(self, tsql: str, params: Sequence = ()) -> None:
        """Run every statement of a T-SQL text (parameters only for a single statement)."""
        cursor = self._cursor()
        with mapped_errors(self.dialect):
            for statement in self.statements(tsql):
                cursor.execute(statement, params) if params else cursor.execute(statement)
        cursor.close()

    def query(self, tsql: str, params: Sequence = ()) -> list[tuple]:
        (statement,) = self.statements(tsql)
        cursor = self._cursor()
        with mapped_errors(self.dialect):
            cursor.execute(statement, params) if params else cursor.execute(statement)
            rows = [tuple(r) for r in cursor.fetchall()]
        self.last_columns = [d[0] for d in cursor.description]
        cursor.close()
        return rows

    def executemany(self, tsql: str, rows: list[tuple]) -> None:
        (statement,) = self.statements(tsql)
        cursor = self._cursor()
        with mapped_errors(self.dialect):
            cursor.executemany(statement, rows)
        cursor.close()

    def _cursor(self):
        return self.conn.cursor()

    def begin(self) -> None:
        pass  # ODBC connections run with autocommit off: a transaction is always open

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def table_exists(self, schema: str, table: str) -> bool:
        rows = self.query("SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES "
                          "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", (schema, table))
        return rows[0][0] > 0

    def write_staging(self, table: str, columns: Sequence[str], changes: Changes) -> None:
        raise NotImplementedError


@lru_cache(maxsize=512)
def _translated(tsql: str, target: str) -> list[str]:
    return dialect.transpile(tsql, target)


def quoted(column: str) -> str:
    """A column name in T-SQL brackets (some of the contract's names are keywords: offset)."""
    return f"[{column}]"


class DuckDBDatabase(Database):
    dialect = "duckdb"

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        super().__init__()
        self.path = str(path)
        self.read_only = read_only
        self._in_transaction = False

    def _connect(self):
        import duckdb

        if self.path != ":memory:" and not self.read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(self.path, read_only=self.read_only)
        conn.execute("SET TimeZone = 'UTC'")  # timestamps are UTC wall-clock, as in Azure SQL
        return conn

    def _cursor(self):
        # A DuckDB cursor is a separate connection with its own transaction: use the connection.
        return _Unclosable(self.conn)

    def begin(self) -> None:
        self.conn.execute("BEGIN TRANSACTION")
        self._in_transaction = True

    # DuckDB runs in autocommit until BEGIN, and refuses COMMIT/ROLLBACK outside a transaction.
    def commit(self) -> None:
        if self._in_transaction:
            self._in_transaction = False
            self.conn.commit()

    def rollback(self) -> None:
        if self._in_transaction:
            self._in_transaction = False
            self.conn.rollback()

    def write_staging(self, table: str, columns: Sequence[str], changes: Changes) -> None:
        cols = ", ".join(quoted(c) for c in columns)
        path = os.path.join(changes.parquet_dir(), "*.parquet")
        # The path is bound, not formatted: read_parquet takes a parameter.
        self.run(f"INSERT INTO vigil.{table} ({cols}) SELECT {cols} FROM read_parquet(?)", (path,))


class _Unclosable:
    def __init__(self, conn) -> None:
        self._conn = conn

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def close(self) -> None:
        pass


class OdbcDatabase(Database):
    """Any ODBC driver through pyodbc: Azure SQL (dialect tsql) or SQLite (the local proof)."""

    def __init__(self, connection_string: str, *, dialect: str = "tsql", attrs_before: dict | None = None,
                 token_provider: Callable[[], bytes] | None = None, batch_size: int = 10_000,
                 fast_executemany: bool = True, timeout: int = 30) -> None:
        super().__init__()
        self.connection_string = connection_string
        self.dialect = dialect
        self.attrs_before = attrs_before or {}
        self.token_provider = token_provider  # a fresh token per connection: they expire
        self.batch_size = batch_size
        self.fast_executemany = fast_executemany
        self.timeout = timeout

    def _connect(self):
        import pyodbc

        attrs = dict(self.attrs_before)
        if self.token_provider is not None:
            attrs[SQL_COPT_SS_ACCESS_TOKEN] = self.token_provider()

        def attempt():
            return pyodbc.connect(self.connection_string, attrs_before=attrs or None,
                                  autocommit=False, timeout=self.timeout)

        return with_retries(attempt)

    def table_exists(self, schema: str, table: str) -> bool:
        if self.dialect == "sqlite":  # no INFORMATION_SCHEMA, and no schemas
            cursor = self._cursor()
            cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
            (count,) = cursor.fetchone()
            cursor.close()
            return count > 0
        return super().table_exists(schema, table)

    def write_staging(self, table: str, columns: Sequence[str], changes: Changes) -> None:
        cols = ", ".join(quoted(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        (statement,) = self.statements(f"INSERT INTO vigil.{table} ({cols}) VALUES ({marks})")
        cursor = self._cursor()
        cursor.fast_executemany = self.fast_executemany
        self.batches_written = 0
        with mapped_errors(self.dialect):
            for batch in changes.row_batches(self.batch_size):
                cursor.executemany(statement, batch)
                self.batches_written += 1
        cursor.close()


# --- Azure SQL --------------------------------------------------------------------------------

def odbc_value(value: str) -> str:
    """An ODBC connection-string value, braced when it holds characters that would split it."""
    if any(ch in value for ch in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def azure_sql_connection_string(server: str, database: str, *, auth: str = "token",
                                client_id: str | None = None, timeout: int = 30) -> str:
    """ODBC Driver 18 connection string for Azure SQL; never holds a secret."""
    if auth not in ("token", "msi"):
        raise ServingError(f"Azure SQL auth {auth!r} is not supported: use 'token' or 'msi'")
    host = server if server.endswith(".database.windows.net") else f"{server}.database.windows.net"
    parts = {
        "Driver": "{" + ODBC_DRIVER + "}",
        "Server": f"tcp:{host},1433",
        "Database": odbc_value(database),
        "Encrypt": "yes",
        "TrustServerCertificate": "no",
        "Connection Timeout": str(timeout),
    }
    if auth == "msi":
        parts["Authentication"] = "ActiveDirectoryMsi"
        if client_id:  # a user-assigned identity
            parts["UID"] = odbc_value(client_id)
    return ";".join(f"{k}={v}" for k, v in parts.items()) + ";"


def pack_access_token(token: str) -> bytes:
    """The token as msodbcsql wants it: UTF-16-LE bytes after their length, a 4-byte little-endian int."""
    raw = token.encode("utf-16-le")
    return struct.pack(f"<I{len(raw)}s", len(raw), raw)


def entra_token_provider(credential=None) -> Callable[[], bytes]:
    def provide() -> bytes:
        nonlocal credential
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return pack_access_token(credential.get_token(AZURE_SQL_SCOPE).token)

    return provide


def azure_sql_database(server: str, database: str, *, auth: str = "token", client_id: str | None = None,
                       credential=None, batch_size: int = 10_000) -> OdbcDatabase:
    return OdbcDatabase(
        azure_sql_connection_string(server, database, auth=auth, client_id=client_id),
        dialect="tsql",
        token_provider=entra_token_provider(credential) if auth == "token" else None,
        batch_size=batch_size,
    )


def sqlite_odbc_database(path: str | Path, *, batch_size: int = 1_000) -> OdbcDatabase:
    """SQLite through its Debian ODBC driver: proves the pyodbc path without a SQL Server.
    fast_executemany stays off: libsqliteodbc crashes on ODBC parameter arrays."""
    return OdbcDatabase(f"Driver=SQLite3;Database={odbc_value(str(path))};", dialect="sqlite",
                        batch_size=batch_size, fast_executemany=False)


# --- choosing one -----------------------------------------------------------------------------

def local_database_path(settings) -> Path:
    """Where the local serving database lives: beside the Delta tables, under the data root.
    Not `vigil.duckdb`: DuckDB names the catalog after the file, and a catalog `vigil` would
    make the schema `vigil` ambiguous."""
    return Path(settings.data_root) / "serving" / "vigil_serving.duckdb"


def database_for(settings, *, batch_size: int | None = None, read_only: bool = False) -> Database:
    """The serving database for these settings: the local DuckDB file, or Azure SQL.

    Azure SQL is named by VIGIL_SQL_SERVER and VIGIL_SQL_DATABASE; VIGIL_SQL_AUTH is `token`
    (default: a token from VIGIL_SQL_SERVICE_CREDENTIAL's Unity Catalog service credential on
    Databricks, else DefaultAzureCredential) or `msi` (with VIGIL_SQL_CLIENT_ID for a
    user-assigned identity).
    """
    if settings.is_local and not os.environ.get("VIGIL_SQL_SERVER"):
        return DuckDBDatabase(local_database_path(settings), read_only=read_only)
    server, database = os.environ.get("VIGIL_SQL_SERVER"), os.environ.get("VIGIL_SQL_DATABASE")
    if not server or not database:
        raise ServingError("Azure SQL needs VIGIL_SQL_SERVER and VIGIL_SQL_DATABASE in the environment")
    service_credential = os.environ.get("VIGIL_SQL_SERVICE_CREDENTIAL")
    return azure_sql_database(server, database, auth=os.environ.get("VIGIL_SQL_AUTH", "token"),
                              client_id=os.environ.get("VIGIL_SQL_CLIENT_ID"),
                              credential=databricks_service_credential(service_credential)
                              if service_credential else None,
                              batch_size=batch_size or 10_000)


def databricks_service_credential(name: str):
    """An azure-identity credential backed by a Unity Catalog service credential: on a
    Databricks job cluster DefaultAzureCredential finds no identity of its own."""
    try:
        from pyspark.dbutils import DBUtils  # only on Databricks
    except ImportError:
        raise ServingError(f"service credential {name!r} can only be used on Databricks; "
                           f"unset VIGIL_SQL_SERVICE_CREDENTIAL to use DefaultAzureCredential") from None
    from pyspark.sql import SparkSession

    dbutils = DBUtils(SparkSession.builder.getOrCreate())
    return dbutils.credentials.getServiceCredentialsProvider(name)
