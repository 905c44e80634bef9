"""The dashboard in real headless Chromium over a database the pipeline filled: each page's
numbers equal what SQL says the views hold, and each page is saved as a screenshot under
test-output/dashboard/<page>.png."""

from __future__ import annotations

import re

import duckdb
import pytest

from tests.dashboard.conftest import SCREENSHOTS, wait_rendered

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PAGES = {  # url path → heading
    "overview": "Overview",
    "reactions-by-drug": "Reactions by drug",
    "age-and-sex": "Age and sex",
    "overdose-trends": "Overdose trends",
    "signals-and-alerts": "Signals and alerts",
    "data-quality": "Data quality",
}


def sql(db_path, text: str):
    with duckdb.connect(str(db_path), read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(text).fetchone()


def metrics(page) -> dict[str, str]:
    out = {}
    for metric in page.locator("[data-testid='stMetric']").all():
        label = metric.locator("[data-testid='stMetricLabel']").inner_text().strip()
        out[label] = metric.locator("[data-testid='stMetricValue']").inner_text().strip()
    return out


def number(text: str) -> int:
    assert re.fullmatch(r"[\d,]+", text), text
    return int(text.replace(",", ""))


def first_row(page, key: str) -> list[str]:
    cells = page.locator(f".st-key-{key} table tr:has(th[scope=row])").first.locator("th, td")
    return [c.inner_text().strip() for c in cells.all()]


def expected(db, path: str) -> dict:
    if path == "overview":
        reports, serious, deaths, overdoses = sql(
            db,
            (
                "SELECT COUNT(*), SUM(CASE WHEN serious THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN is_death THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN is_overdose THEN 1 ELSE 0 END) FROM vigil.vw_report"
            ),
        )
        (open_alerts,) = sql(
            db,
            "SELECT COUNT(*) FROM vigil.vw_alert WHERE status NOT IN ('withdrawn', 'acknowledged', 'closed')",
        )
        return {
            "Reports": reports,
            "Serious reports": serious,
            "Deaths": deaths,
            "Overdoses": overdoses,
            "Open alerts": open_alerts,
            "Overdose rate": f"{overdoses / reports:.1%}",
        }
    if path == "reactions-by-drug":
        drugs, reactions, pairs = sql(
            db,
            "SELECT COUNT(DISTINCT generic_name), COUNT(DISTINCT reactionmeddrapt), "
            "COUNT(*) FROM (SELECT DISTINCT generic_name, reactionmeddrapt "
            "FROM vigil.vw_reactions_by_drug)",
        )
        top = sql(
            db,
            "SELECT generic_name, reactionmeddrapt, SUM(reports) AS n FROM vigil.vw_reactions_by_drug "
            "GROUP BY 1, 2 ORDER BY n DESC, 1, 2 LIMIT 1",
        )
        return {
            "Drugs": drugs,
            "Reactions": reactions,
            "Drug–reaction pairs": pairs,
            "table_top_pairs": [top[0], top[1], str(top[2])],
        }
    if path == "age-and-sex":
        (total,) = sql(db, "SELECT SUM(reports) FROM vigil.vw_age_sex_by_reaction")
        group, n = sql(
            db,
            "SELECT patient_age_group, SUM(reports) AS n FROM vigil.vw_age_sex_by_reaction "
            "WHERE patient_age_group IS NOT NULL AND patient_age_group <> 'unknown' "
            "GROUP BY 1, age_group_sort_order ORDER BY n DESC, age_group_sort_order LIMIT 1",
        )
        return {"Reaction reports": total, "Most affected age group": group, "Reports in that group": n}
    if path == "overdose-trends":
        reports, overdoses, deaths = sql(
            db, "SELECT SUM(reports), SUM(overdoses), SUM(deaths) FROM vigil.vw_overdose_trend"
        )
        top = sql(
            db,
            "SELECT generic_name, SUM(overdoses) AS n FROM vigil.vw_overdose_trend "
            "GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1",
        )
        return {
            "Drug reports": reports,
            "Overdose drug reports": overdoses,
            "Deaths": deaths,
            "Overdose rate": f"{overdoses / reports:.1%}",
            "table_overdose_drugs": [top[0], str(top[1])],
        }
    if path == "signals-and-alerts":
        alerts, open_alerts, signals = sql(
            db,
            (
                "SELECT COUNT(*), "
                "SUM(CASE WHEN status NOT IN ('withdrawn', 'acknowledged', 'closed') THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN alert_type = 'safety_signal' THEN 1 ELSE 0 END) FROM vigil.vw_alert"
            ),
        )
        return {"Alerts": alerts, "Open alerts": open_alerts, "Safety-signal alerts": signals}
    if path == "data-quality":
        quarantined, rejects, tables = sql(
            db,
            (
                "SELECT SUM(CASE WHEN check_group = 'quarantine' THEN row_count ELSE 0 END), "
                "SUM(CASE WHEN check_group = 'load_reject' THEN row_count ELSE 0 END), "
                "SUM(CASE WHEN check_group = 'freshness' THEN 1 ELSE 0 END) FROM vigil.vw_data_quality"
            ),
        )
        return {"Quarantined events": quarantined, "Load rejects": rejects, "Tables loaded": tables}
    raise AssertionError(path)


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_shows_the_numbers_the_views_hold(dashboard, served_db, page, path):
    page.goto(dashboard.url + ("" if path == "overview" else path))
    want = expected(served_db, path)
    wait_rendered(page, PAGES[path], metrics=len([k for k in want if not k.startswith("table_")]))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{path}.png"), full_page=True)

    assert not page.locator("[data-testid='stException']").count(), page.locator(
        "[data-testid='stException']"
    ).first.inner_text()
    shown = metrics(page)
    for label, value in want.items():
        if label.startswith("table_"):
            assert first_row(page, label)[: len(value)] == value, label
        elif isinstance(value, str):
            assert shown[label] == value, label
        else:
            assert number(shown[label]) == value, (label, shown)

    (ingested,) = sql(
        served_db, "SELECT strftime(MAX(ingested_at), '%Y-%m-%d %H:%M:%S') FROM vigil.vw_report"
    )
    freshness = page.locator(".vigil-freshness").inner_text()
    assert f"ingested {ingested} UTC" in freshness


def test_a_filter_narrows_the_numbers_to_what_sql_says(dashboard, served_db, page):
    """Choose a country in the sidebar: the overview's report count follows vw_report."""
    country, n = sql(
        served_db,
        "SELECT occurcountry, COUNT(*) AS n FROM vigil.vw_report "
        "WHERE occurcountry IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1 OFFSET 1",
    )
    page.goto(dashboard.url)
    wait_rendered(page, "Overview", metrics=6)
    box = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(has_text="Country")
    box.locator("input").fill(country)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => "
        "m.innerText.startsWith('Reports') && m.innerText.replace(/,/g, '').endsWith(String(n)))",
        arg=n,
    )
    assert number(metrics(page)["Reports"]) == n
