"""The local dashboard: the Power BI report's pages in a browser, over the local serving database.

Why a top-level folder: DESIGN.md's layout has no home for a web app. `jobs/` is the Spark code
that Databricks runs, `sql/` is T-SQL, `scripts/` is set-up and the demo; the dashboard is none
of these — it is the local runtime's stand-in for Power BI (the "dashboards" box of the data flow),
a separate process that only reads the serving database. So it gets its own folder, beside
`powerbi/` (the Azure side of the same box).

- `data.py` — the only module that touches the database: opens the DuckDB file read-only, runs
  queries over the `vigil.vw_…` views (the single source of truth for every metric), turns the
  page filters into SQL, and says clearly when the database is missing, locked or empty.
- `pages.py` — one function per page (Overview, Reactions by drug, Age and sex, Overdose
  trends, Signals and alerts, Data quality), the same pages as the Power BI report.
- `app.py` — the Streamlit entry point: navigation, filters, freshness line.
- `__main__.py` — `python -m dashboard [--port 8501] [--data-root DIR | --db FILE]` starts it
  and prints its address once it answers.
"""
