"""The dashboard's pages — the same six as the Power BI report (powerbi/Vigil.Report).

Every number comes from a `vigil.vw_…` view through `data.ServingViews`; a page sums, counts and
ranks the view's rows, as the Power BI measures do, and never re-derives a flag or a rate's
inputs. Headline figures are `st.metric`s and small tables are `st.table`s (plain HTML), so
people — and the browser test — can read them; trends and distributions are charts.
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.data import CLOSED_ALERT_STATUSES, SIGNAL_VIEW, Filters, ServingViews, where

TOP_DRUGS = 8
TOP_REACTIONS = 12
REACTIONS_PER_DRUG = 5


def count(value) -> str:
    return f"{int(value or 0):,}"


def rate(numerator, denominator) -> str:
    return f"{numerator / denominator:.1%}" if denominator else "–"


def _not_applied(view: str, names: list[str]) -> None:
    if names:
        st.caption(f"Filters not applied here ({view} has no such column): {', '.join(names)}.")


def _open_alerts_sql() -> str:
    closed = ", ".join(f"'{s}'" for s in CLOSED_ALERT_STATUSES)
    return f"SUM(CASE WHEN COALESCE(status, 'open') NOT IN ({closed}) THEN 1 ELSE 0 END)"


# Charts over time plot reports dated up to today; reports dated in the future are flagged as
# anomalies (gold) and would stretch the time axis by decades. The page says how many it left out.
PLOTTED = "receivedate IS NOT NULL AND receivedate <= CURRENT_DATE"


def _future_note(views: ServingViews, view: str, w) -> None:
    later = views.scalar(
        f"SELECT COUNT(*) FROM vigil.{view} {w.and_('receivedate > CURRENT_DATE')}", w.params
    )
    if later:
        st.caption(
            f"{count(later)} row(s) of {view} dated after today are not plotted "
            "(reports dated in the future are flagged as anomalies)."
        )


def _sums(**columns: str) -> str:
    """`COALESCE(SUM(col), 0) AS name, …` as whole numbers (DuckDB sums BIGINT to HUGEINT)."""
    return ", ".join(f"CAST(COALESCE(SUM({c}), 0) AS BIGINT) AS {name}" for name, c in columns.items())


def _table(frame: pd.DataFrame, key: str) -> None:
    """A small table, as HTML, without pandas' index; `key` names it for the browser test."""
    with st.container(key=key):
        st.table(frame.set_index(frame.columns[0]) if len(frame) else frame)


# --- Overview ----------------------------------------------------------------------------------


def overview(views: ServingViews, f: Filters) -> None:
    st.header("Overview")
    w = where("vw_report", f)
    totals = views.query(
        "SELECT COUNT(*) AS reports, "
        "SUM(CASE WHEN serious THEN 1 ELSE 0 END) AS serious_reports, "
        "SUM(CASE WHEN is_death THEN 1 ELSE 0 END) AS deaths, "
        "SUM(CASE WHEN is_overdose THEN 1 ELSE 0 END) AS overdoses "
        f"FROM vigil.vw_report {w.sql}",
        w.params,
    ).iloc[0]
    wa = where("vw_alert", f)
    open_alerts = views.scalar(f"SELECT {_open_alerts_sql()} FROM vigil.vw_alert {wa.sql}", wa.params)
    cols = st.columns(6)
    cols[0].metric("Reports", count(totals.reports))
    cols[1].metric("Serious reports", count(totals.serious_reports))
    cols[2].metric("Deaths", count(totals.deaths))
    cols[3].metric("Overdoses", count(totals.overdoses))
    cols[4].metric("Overdose rate", rate(totals.overdoses or 0, totals.reports))
    cols[5].metric("Open alerts", count(open_alerts))

    daily = views.query(
        "SELECT receivedate AS day, COUNT(*) AS reports, SUM(CASE WHEN serious THEN 1 ELSE 0 END) AS serious "
        f"FROM vigil.vw_report {w.and_(PLOTTED)} GROUP BY receivedate ORDER BY receivedate",
        w.params,
    )
    left, right = st.columns([2, 1])
    with left:
        st.subheader("Reports per day")
        if len(daily):
            long = daily.melt("day", var_name="series", value_name="count")
            st.altair_chart(
                alt.Chart(long)
                .mark_line(point=True)
                .encode(
                    x=alt.X("day:T", title="receive date"),
                    y=alt.Y("count:Q", title="reports"),
                    color=alt.Color("series:N", title=None),
                ),
                width="stretch",
            )
        _future_note(views, "vw_report", w)
    with right:
        st.subheader("Reports by country")
        countries = views.query(
            "SELECT COALESCE(occurcountry, '(unknown)') AS country, COUNT(*) AS reports "
            f"FROM vigil.vw_report {w.sql} GROUP BY 1 ORDER BY reports DESC, country LIMIT 10",
            w.params,
        )
        if len(countries):
            st.altair_chart(
                alt.Chart(countries)
                .mark_bar()
                .encode(x=alt.X("reports:Q"), y=alt.Y("country:N", sort="-x", title=None)),
                width="stretch",
            )
    _not_applied("vw_report", w.not_applied)


# --- Reactions by drug -------------------------------------------------------------------------


def reactions_by_drug(views: ServingViews, f: Filters) -> None:
    st.header("Reactions by drug")
    st.caption(
        "Reports naming the drug as suspect and the reaction, per drug–reaction pair "
        "(vigil.vw_reactions_by_drug)."
    )
    w = where("vw_reactions_by_drug", f)
    pairs = views.query(
        "SELECT generic_name AS drug, reactionmeddrapt AS reaction, "
        + _sums(reports="reports", serious="serious_reports", deaths="deaths")
        + " "
        f"FROM vigil.vw_reactions_by_drug {w.sql} GROUP BY 1, 2",
        w.params,
    )
    if not len(pairs):
        st.info("No drug–reaction reports match these filters.")
        return
    cols = st.columns(3)
    cols[0].metric("Drugs", count(pairs["drug"].nunique()))
    cols[1].metric("Reactions", count(pairs["reaction"].nunique()))
    cols[2].metric("Drug–reaction pairs", count(len(pairs)))

    drug_totals = pairs.groupby("drug", dropna=False)["reports"].sum().sort_values(ascending=False)
    top_drugs = list(drug_totals.index[:TOP_DRUGS])
    top = (
        pairs[pairs["drug"].isin(top_drugs)]
        .sort_values(["drug", "reports", "reaction"], ascending=[True, False, True])
        .groupby("drug", dropna=False)
        .head(REACTIONS_PER_DRUG)
    )
    top["rank"] = top.groupby("drug", dropna=False).cumcount() + 1
    top["drug_order"] = top["drug"].map({d: i for i, d in enumerate(top_drugs)})
    top = top.sort_values(["drug_order", "rank"])

    left, right = st.columns([3, 2])
    with left:
        st.subheader(f"Most common reactions for the top {len(top_drugs)} drugs")
        reactions = list(
            pairs.groupby("reaction")["reports"].sum().sort_values(ascending=False).index[:TOP_REACTIONS]
        )
        grid = pairs[pairs["drug"].isin(top_drugs) & pairs["reaction"].isin(reactions)]
        st.altair_chart(
            alt.Chart(grid)
            .mark_rect()
            .encode(
                x=alt.X("reaction:N", sort=reactions, title=None),
                y=alt.Y("drug:N", sort=top_drugs, title=None),
                color=alt.Color("reports:Q", scale=alt.Scale(scheme="orangered")),
                tooltip=["drug", "reaction", "reports", "serious", "deaths"],
            ),
            width="stretch",
        )
    with right:
        st.subheader("Top pairs")
        best = pairs.sort_values(["reports", "drug", "reaction"], ascending=[False, True, True]).head(10)
        _table(
            best[["drug", "reaction", "reports", "serious", "deaths"]].astype({"reports": int}),
            "table_top_pairs",
        )
    st.subheader(f"Top {REACTIONS_PER_DRUG} reactions per drug")
    _table(top[["drug", "rank", "reaction", "reports", "serious", "deaths"]], "table_reactions_per_drug")
    _not_applied("vw_reactions_by_drug", w.not_applied)


# --- Age and sex -------------------------------------------------------------------------------


def age_and_sex(views: ServingViews, f: Filters) -> None:
    st.header("Age and sex")
    st.caption("Reports per reaction by the patient's age group and sex (vigil.vw_age_sex_by_reaction).")
    w = where("vw_age_sex_by_reaction", f)
    rows = views.query(
        "SELECT reactionmeddrapt AS reaction, COALESCE(patient_age_group, '(unknown)') AS age_group, "
        "COALESCE(age_group_sort_order, 99) AS age_order, COALESCE(patient_sex, '(unknown)') AS sex, "
        + _sums(reports="reports", serious="serious_reports", deaths="deaths")
        + " "
        f"FROM vigil.vw_age_sex_by_reaction {w.sql} GROUP BY 1, 2, 3, 4",
        w.params,
    )
    if not len(rows):
        st.info("No reports match these filters.")
        return
    by_age = (
        rows.groupby(["age_group", "age_order"], as_index=False)[["reports", "serious", "deaths"]]
        .sum()
        .sort_values("age_order")
    )
    known = by_age[~by_age["age_group"].isin(["(unknown)", "unknown"])]
    most = (
        (known if len(known) else by_age)
        .sort_values(["reports", "age_order"], ascending=[False, True])
        .iloc[0]
    )
    cols = st.columns(3)
    cols[0].metric("Reaction reports", count(rows["reports"].sum()))
    cols[1].metric("Most affected age group", str(most.age_group))
    cols[2].metric("Reports in that group", count(most.reports))

    ages = list(by_age["age_group"])
    reactions = list(
        rows.groupby("reaction")["reports"].sum().sort_values(ascending=False).index[:TOP_REACTIONS]
    )
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Which age groups are most affected by which reactions")
        grid = (
            rows[rows["reaction"].isin(reactions)]
            .groupby(["reaction", "age_group"], as_index=False)["reports"]
            .sum()
        )
        st.altair_chart(
            alt.Chart(grid)
            .mark_rect()
            .encode(
                x=alt.X("age_group:N", sort=ages, title="age group"),
                y=alt.Y("reaction:N", sort=reactions, title=None),
                color=alt.Color("reports:Q", scale=alt.Scale(scheme="purples")),
                tooltip=["reaction", "age_group", "reports"],
            ),
            width="stretch",
        )
    with right:
        st.subheader("By sex and age group")
        sexes = rows.groupby(["age_group", "sex"], as_index=False)["reports"].sum()
        st.altair_chart(
            alt.Chart(sexes)
            .mark_bar()
            .encode(
                x=alt.X("age_group:N", sort=ages, title="age group"),
                y=alt.Y("reports:Q"),
                color=alt.Color("sex:N"),
                xOffset="sex:N",
            ),
            width="stretch",
        )
    st.subheader("By age group")
    top_reaction = (
        rows.groupby(["age_group", "reaction"], as_index=False)["reports"]
        .sum()
        .sort_values(["reports", "reaction"], ascending=[False, True])
        .drop_duplicates("age_group")
        .set_index("age_group")["reaction"]
    )
    by_age["top reaction"] = by_age["age_group"].map(top_reaction)
    _table(
        by_age[["age_group", "reports", "serious", "deaths", "top reaction"]].rename(
            columns={"age_group": "age group"}
        ),
        "table_by_age_group",
    )
    _not_applied("vw_age_sex_by_reaction", w.not_applied)


# --- Overdose trends ---------------------------------------------------------------------------


def overdose_trends(views: ServingViews, f: Filters) -> None:
    st.header("Overdose trends")
    st.caption(
        "Reports and overdoses per suspect drug, day and country (vigil.vw_overdose_trend); "
        "a report naming two suspect drugs counts once for each."
    )
    w = where("vw_overdose_trend", f)
    totals = views.query(
        "SELECT " + _sums(reports="reports", overdoses="overdoses", deaths="deaths") + " "
        f"FROM vigil.vw_overdose_trend {w.sql}",
        w.params,
    ).iloc[0]
    cols = st.columns(4)
    cols[0].metric("Drug reports", count(totals.reports))
    cols[1].metric("Overdose drug reports", count(totals.overdoses))
    cols[2].metric("Overdose rate", rate(totals.overdoses or 0, totals.reports))
    cols[3].metric("Deaths", count(totals.deaths))

    daily = views.query(
        "SELECT receivedate AS day, " + _sums(overdoses="overdoses", reports="reports") + " "
        f"FROM vigil.vw_overdose_trend {w.and_(PLOTTED)} GROUP BY 1 ORDER BY 1",
        w.params,
    )
    _future_note(views, "vw_overdose_trend", w)
    if len(daily):
        daily["overdose_rate"] = daily["overdoses"] / daily["reports"].where(daily["reports"] > 0)
        st.subheader("Overdoses per day")
        base = alt.Chart(daily).encode(x=alt.X("day:T", title="receive date"))
        bars = base.mark_bar(opacity=0.6, color="#d62728").encode(y=alt.Y("overdoses:Q", title="overdoses"))
        line = base.mark_line(point=True, color="#1f77b4").encode(
            y=alt.Y("overdose_rate:Q", title="overdose rate", axis=alt.Axis(format="%"))
        )
        st.altair_chart(alt.layer(bars, line).resolve_scale(y="independent"), width="stretch")
    by_drug = views.query(
        "SELECT COALESCE(generic_name, '(unknown)') AS drug, "
        + _sums(overdoses="overdoses", reports="reports", deaths="deaths")
        + " "
        f"FROM vigil.vw_overdose_trend {w.sql} GROUP BY 1 HAVING SUM(overdoses) > 0 "
        "ORDER BY overdoses DESC, drug LIMIT 10",
        w.params,
    )
    st.subheader("Drugs with the most overdoses")
    if len(by_drug):
        by_drug["overdose rate"] = [
            rate(o, r) for o, r in zip(by_drug["overdoses"], by_drug["reports"], strict=True)
        ]
        _table(by_drug, "table_overdose_drugs")
    else:
        st.info("No overdoses among the reports that match these filters.")
    _not_applied("vw_overdose_trend", w.not_applied)


# --- Signals and alerts ------------------------------------------------------------------------


def signals_and_alerts(views: ServingViews, f: Filters) -> None:
    st.header("Signals and alerts")
    w = where("vw_alert", f)
    alerts = views.query(
        "SELECT alert_type, subject, CAST(window_start AS VARCHAR) AS window_start, "
        "CAST(window_end AS VARCHAR) AS window_end, statistic, statistic_value, threshold, "
        "evidence_reports, expected_reports, COALESCE(status, 'open') AS status, first_detected_at "
        f"FROM vigil.vw_alert {w.sql}",
        w.params,
    )
    is_open = ~alerts["status"].isin(CLOSED_ALERT_STATUSES)
    cols = st.columns(3)
    cols[0].metric("Alerts", count(len(alerts)))
    cols[1].metric("Open alerts", count(is_open.sum()))
    cols[2].metric("Safety-signal alerts", count((alerts["alert_type"] == "safety_signal").sum()))
    if not len(alerts):
        st.info(
            "No alerts in the serving database for these filters. Alerts come from gold.alert — "
            "safety signals (drug–reaction pairs whose PRR/ROR pass their thresholds), reporting "
            "spikes and overdose clusters — computed by the signals job (jobs/signals) and loaded "
            "into vigil.fact_alert by the serving load. An empty page means none was raised, or "
            "the signals job has not run yet."
        )
    else:
        with st.container():  # the chart above the list: the list needs the page's width
            st.subheader("By type and status")
            kinds = (
                alerts.groupby(["alert_type", "status"], as_index=False)
                .size()
                .rename(columns={"size": "alerts"})
            )
            st.altair_chart(
                alt.Chart(kinds)
                .mark_bar()
                .encode(x=alt.X("alerts:Q"), y=alt.Y("alert_type:N", title=None), color="status:N")
                .properties(height=140),
                width="stretch",
            )
            st.subheader("Alerts, open first")
            shown = (
                alerts.assign(open=is_open)
                .sort_values(["open", "statistic_value", "subject"], ascending=[False, False, True])
                .head(25)
            )
            for column in ("statistic_value", "threshold", "expected_reports"):
                shown[column] = shown[column].map(lambda v: "–" if pd.isna(v) else f"{v:.4g}")
            shown = shown.rename(
                columns={
                    "alert_type": "type",
                    "window_start": "from",
                    "window_end": "to",
                    "statistic_value": "value",
                    "evidence_reports": "reports",
                    "expected_reports": "expected",
                }
            )
            _table(
                shown[
                    [
                        "subject",
                        "type",
                        "status",
                        "from",
                        "to",
                        "statistic",
                        "value",
                        "threshold",
                        "reports",
                        "expected",
                    ]
                ],
                "table_alerts",
            )
    _not_applied("vw_alert", w.not_applied)

    st.subheader("Safety signals (PRR / ROR per drug–reaction pair)")
    if SIGNAL_VIEW not in views.views():
        st.info(
            f"The serving database has no vigil.{SIGNAL_VIEW} view yet, so the statistics of "
            "every evaluated pair are not shown here; the pairs that pass the thresholds appear "
            "above as safety_signal alerts."
        )
    else:
        signals = views.query(f"SELECT * FROM vigil.{SIGNAL_VIEW} ORDER BY 1, 2 LIMIT 50")
        if len(signals):
            st.dataframe(signals, hide_index=True)
        else:
            st.info("No drug–reaction pair has enough reports to be evaluated yet.")


# --- Data quality ------------------------------------------------------------------------------


def _rules(text) -> str:
    try:
        return ", ".join(json.loads(text))
    except (TypeError, ValueError):
        return str(text)


def _ago(seconds) -> str:
    if seconds is None or pd.isna(seconds):
        return "–"
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds} s"


def data_quality(views: ServingViews, f: Filters) -> None:
    st.header("Data quality")
    st.caption(
        "Quarantined input by broken rule, rows the load rejected, and how fresh each table is "
        "(vigil.vw_data_quality). The page filters do not apply here."
    )
    rows = views.query(
        "SELECT check_group, subject, check_name, row_count, "
        "strftime(last_seen_at, '%Y-%m-%d %H:%M:%S') AS last_seen_at, lag_seconds "
        "FROM vigil.vw_data_quality"
    )
    quarantine = rows[rows["check_group"] == "quarantine"].copy()
    rejects = rows[rows["check_group"] == "load_reject"].copy()
    fresh = rows[rows["check_group"] == "freshness"].copy()
    cols = st.columns(4)
    cols[0].metric("Quarantined events", count(quarantine["row_count"].sum()))
    cols[1].metric("Load rejects", count(rejects["row_count"].sum()))
    cols[2].metric("Tables loaded", count(len(fresh)))
    cols[3].metric("Oldest loaded commit", _ago(fresh["lag_seconds"].max() if len(fresh) else None))

    left, right = st.columns(2)
    with left:
        st.subheader("Quarantine by rule")
        if len(quarantine):
            quarantine["rules"] = quarantine["check_name"].map(_rules)
            q = (
                quarantine.groupby("rules", as_index=False)["row_count"]
                .sum()
                .sort_values(["row_count", "rules"], ascending=[False, True])
                .rename(columns={"row_count": "events"})
            )
            st.altair_chart(
                alt.Chart(q)
                .mark_bar(color="#ff7f0e")
                .encode(
                    x=alt.X("events:Q"),
                    y=alt.Y("rules:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
                ),
                width="stretch",
            )
            _table(q, "table_quarantine")
        else:
            st.success("Nothing quarantined: every event passed the silver rules.")
    with right:
        st.subheader("Load rejects")
        if len(rejects):
            _table(
                rejects[["subject", "check_name", "row_count", "last_seen_at"]].rename(
                    columns={
                        "subject": "table",
                        "check_name": "reason",
                        "row_count": "rows",
                        "last_seen_at": "last rejected at (UTC)",
                    }
                ),
                "table_rejects",
            )
        else:
            st.success("The serving load rejected no rows.")
    st.subheader("Freshness")
    fresh["since last commit"] = fresh["lag_seconds"].map(_ago)
    _table(
        fresh[["subject", "row_count", "last_seen_at", "since last commit"]].rename(
            columns={"subject": "table", "row_count": "rows in last load", "last_seen_at": "loaded at (UTC)"}
        ),
        "table_freshness",
    )


PAGES = (  # (title, url path, render): the Power BI report's pages, in its order
    ("Overview", "overview", overview),
    ("Reactions by drug", "reactions-by-drug", reactions_by_drug),
    ("Age and sex", "age-and-sex", age_and_sex),
    ("Overdose trends", "overdose-trends", overdose_trends),
    ("Signals and alerts", "signals-and-alerts", signals_and_alerts),
    ("Data quality", "data-quality", data_quality),
)
