"""`python -m jobs.serving migrate` | `load` [--profile local|azure] [--data-root DIR] [--batch-size N]
[--tables fact_report,...] [--preview]. Exits non-zero with one line on a known failure."""

from __future__ import annotations

import argparse
import sys

from jobs.serving.connections import ServingError, database_for
from jobs.serving.dialect import DialectError
from jobs.serving.migrations import migrate
from jobs.serving.targets import BY_TARGET, LOADS
from jobs.settings import SettingsError, settings_for
from jobs.widgets import whole_number_argument


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.serving", description=__doc__)
    parser.add_argument("command", choices=("migrate", "load"))
    parser.add_argument("--profile", default=None, help="local (default: VIGIL_PROFILE or local) or azure")
    parser.add_argument("--data-root", default="", help="override the data root (local profile)")
    parser.add_argument("--batch-size", type=whole_number_argument(), default=None,
                        help="rows per executemany batch (ODBC)")
    parser.add_argument("--tables", default="", help="comma-separated SQL targets (default: all)")
    parser.add_argument("--preview", action="store_true", help="after loading, print rows of the views")
    args = parser.parse_args(argv)
    try:
        settings = settings_for(args.profile, data_root=args.data_root)
        if args.command == "migrate":
            with database_for(settings) as db:
                applied = migrate(db)
            print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
            return 0
        loads = _chosen(args.tables)
        from jobs.runtime import get_spark
        from jobs.serving.load import load_all, preview_views

        summary = load_all(get_spark(settings, app_name="vigil-serving"), settings, loads=loads,
                           batch_size=args.batch_size)
        print(summary)
        if args.preview:
            print(preview_views(settings))
        return 0
    except (ServingError, SettingsError, DialectError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _chosen(names: str):
    if not names:
        return LOADS
    unknown = [n for n in names.split(",") if n not in BY_TARGET]
    if unknown:
        raise ServingError(f"unknown serving table(s) {unknown}: choose from {', '.join(BY_TARGET)}")
    return tuple(BY_TARGET[n] for n in names.split(","))


if __name__ == "__main__":
    sys.exit(main())
