"""Streamlit entry point: `python -m dashboard` runs it (or `streamlit run dashboard/app.py`).

Navigation across the six pages, the filters (date range, drug, reaction, country) in the
sidebar — kept across pages — and a freshness line on every page. A database that cannot be
opened, or holds nothing yet, gets an explanation on every page instead of numbers.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

if __package__ in (None, ""):  # `streamlit run dashboard/app.py` runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st

from dashboard import pages
from dashboard.data import DashboardDataError, Filters, NotLoaded, ServingViews, Unreachable


def show_problem(problem: DashboardDataError) -> None:
    if isinstance(problem, NotLoaded):
        st.info(
            f"**Nothing to show yet.** The serving database `{problem.path}` {problem.reason}.\n\n"
            "Fill it from the Delta tables the pipeline wrote, then reload this page:"
        )
        st.code(problem.command, language="bash")
    elif isinstance(problem, Unreachable):
        st.error(f"**Cannot open the serving database** `{problem.path}`\n\n{problem.reason}")
    else:
        st.error(str(problem))


def sidebar_filters(options: dict) -> Filters:
    st.sidebar.header("Filters")
    start, end = options["start"], options["end"]
    chosen = (
        st.sidebar.date_input(
            "Receive date", value=(start, end), min_value=start, max_value=end, key="filter_dates"
        )
        if start and end
        else ()
    )
    lo, hi = (chosen[0], chosen[-1]) if isinstance(chosen, tuple | list) and chosen else (start, end)
    drugs = st.sidebar.multiselect("Drug", options["drugs"], key="filter_drugs")
    reactions = st.sidebar.multiselect("Reaction", options["reactions"], key="filter_reactions")
    countries = st.sidebar.multiselect("Country", options["countries"], key="filter_countries")
    return Filters(
        start=lo if lo != start else None,
        end=hi if hi != end else None,
        drugs=tuple(drugs),
        reactions=tuple(reactions),
        countries=tuple(countries),
    )


def _when(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.isoformat() if isinstance(value, date) else str(value)


def freshness_line(views: ServingViews) -> None:
    fresh = views.freshness()
    st.markdown(
        f"<div class='vigil-freshness'>Freshness: latest event loaded was ingested "
        f"<b>{_when(fresh['latest_event_ingested_at'])}</b> (latest receive date "
        f"{_when(fresh['latest_receivedate'])}); last serving load {_when(fresh['last_load_at'])}.</div>",
        unsafe_allow_html=True,
    )


def main() -> None:
    st.set_page_config(page_title="Vigil — patient safety", page_icon="🩺", layout="wide")
    views = ServingViews()
    problem: DashboardDataError | None = None
    filters = Filters()
    try:
        views.check()
        filters = sidebar_filters(views.options())
    except DashboardDataError as exc:
        problem = exc

    def page(title: str, path: str, render):
        def run() -> None:
            if problem is not None:
                show_problem(problem)
                return
            try:
                render(views, filters)
            except DashboardDataError as exc:  # e.g. the load took the lock since the check
                show_problem(exc)

        run.__name__ = path.replace("-", "_")
        return st.Page(run, title=title, url_path=path, default=path == "overview")

    navigation = st.navigation([page(*p) for p in pages.PAGES])
    st.title("Vigil — patient safety")
    if problem is None:
        try:
            freshness_line(views)
        except DashboardDataError as exc:
            problem = exc
    st.sidebar.caption(f"Serving database: `{views.path}`")
    navigation.run()


main()
