"""Serving: curated Delta rows loaded incrementally into Azure SQL, or locally into DuckDB.

`load_all(spark, settings)` migrates and loads; `preview_views(settings)` shows what Power BI
reads. The T-SQL lives in `sql/`; `python -m jobs.serving migrate|load` runs it.
"""

from jobs.serving.load import LoadSummary, load_all, preview_views

__all__ = ["LoadSummary", "load_all", "preview_views"]
