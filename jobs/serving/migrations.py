"""Apply `sql/migrations/V<n>__<name>.sql` in order, once each, recorded in vigil.schema_migrations.

Each migration runs in its own transaction together with its schema_migrations row, so a failed
one leaves nothing behind and the next run tries it again. An applied migration whose file has
since changed is refused: migrations are history, so a change is a new file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from jobs.serving.connections import Database, ServingError
from jobs.serving.targets import SCHEMA
from jobs.settings import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
MERGE_DIR = SQL_DIR / "merge"
_NAME = re.compile(r"^V(\d{3,})__([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.replace("\r\n", "\n").encode()).hexdigest()


def discover(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ServingError(f"{path.name}: a migration is named V<number>__<snake_case_name>.sql")
        migrations.append(Migration(int(match[1]), match[2], path))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ServingError(f"two migrations in {folder} share a version number: {versions}")
    return sorted(migrations, key=lambda m: m.version)


def applied(db: Database) -> dict[int, str]:
    if not db.table_exists(SCHEMA, "schema_migrations"):
        return {}
    return dict(db.query("SELECT version, checksum FROM vigil.schema_migrations"))


def migrate(db: Database, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations; return the names of those applied (none on a re-run)."""
    done = applied(db)
    db.commit()  # the check above may have opened a transaction on ODBC
    ran = []
    for migration in discover(folder):
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                raise ServingError(
                    f"{migration.path.name} changed after it was applied; add a new migration instead")
            continue
        db.begin()
        try:
            db.run(migration.text)
            db.run("INSERT INTO vigil.schema_migrations (version, name, checksum, applied_at) "
                   "VALUES (?, ?, ?, SYSUTCDATETIME())",
                   (migration.version, migration.name, migration.checksum))
            db.commit()
        except Exception:
            db.rollback()
            raise
        ran.append(migration.path.name)
    return ran
