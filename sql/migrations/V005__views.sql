-- The views Power BI reads. Daily grain wherever the data has a date, so that report filters
-- (date, drug, country) work; Power BI sums. Each CREATE VIEW is its own batch, as T-SQL requires.

CREATE VIEW vigil.vw_report AS
SELECT
    r.safetyreportid, r.safetyreportversion, r.receivedate, r.receivedate_precision,
    r.occurcountry, r.reportercountry, r.reporttype, r.qualification,
    r.serious, r.seriousnessdeath, r.seriousnesslifethreatening, r.seriousnesshospitalization,
    r.patient_age_years, r.patient_age_group, r.patient_sex, r.patient_weight_kg,
    r.drug_count, r.reaction_count,
    f.is_death, f.is_overdose, f.overdose_intent, f.is_anomaly,
    r.ingested_at, r.silver_updated_at
FROM vigil.fact_report AS r
LEFT JOIN vigil.fact_flags AS f ON f.safetyreportid = r.safetyreportid;
GO

CREATE VIEW vigil.vw_report_drug AS
SELECT
    d.safetyreportid, d.drug_seq, d.receivedate, r.occurcountry,
    d.medicinalproduct, d.product_name, d.generic_name,
    d.drugcharacterization,
    CASE d.drugcharacterization WHEN 1 THEN 'suspect' WHEN 2 THEN 'concomitant'
        WHEN 3 THEN 'interacting' END AS drugcharacterization_label,
    d.drugindication, d.dose_mg, d.daily_dose_mg, d.drugadministrationroute,
    r.serious, r.patient_age_group, r.patient_sex, f.is_overdose
FROM vigil.fact_report_drug AS d
LEFT JOIN vigil.fact_report AS r ON r.safetyreportid = d.safetyreportid
LEFT JOIN vigil.fact_flags AS f ON f.safetyreportid = d.safetyreportid;
GO

CREATE VIEW vigil.vw_report_reaction AS
SELECT
    x.safetyreportid, x.reaction_seq, x.receivedate, r.occurcountry,
    x.reactionmeddrapt, x.reactionoutcome,
    CASE x.reactionoutcome WHEN 1 THEN 'recovered' WHEN 2 THEN 'recovering' WHEN 3 THEN 'not recovered'
        WHEN 4 THEN 'recovered with sequelae' WHEN 5 THEN 'fatal' WHEN 6 THEN 'unknown'
        END AS reactionoutcome_label,
    r.serious, r.patient_age_group, r.patient_sex
FROM vigil.fact_report_reaction AS x
LEFT JOIN vigil.fact_report AS r ON r.safetyreportid = x.safetyreportid;
GO

CREATE VIEW vigil.vw_overdose_trend AS
SELECT
    d.receivedate, c.calendar_year, c.calendar_month, d.generic_name, d.occurcountry,
    d.reports, d.overdoses, d.deaths, d.serious_reports,
    CAST(d.overdoses AS FLOAT) / NULLIF(d.reports, 0) AS overdose_rate
FROM vigil.fact_drug_daily AS d
LEFT JOIN vigil.dim_date AS c ON c.calendar_date = d.receivedate;
GO

CREATE VIEW vigil.vw_reactions_by_drug AS
SELECT
    d.receivedate, c.calendar_year, c.calendar_month, d.generic_name, d.reactionmeddrapt,
    d.reports, d.serious_reports, d.deaths, d.overdoses
FROM vigil.fact_drug_reaction_daily AS d
LEFT JOIN vigil.dim_date AS c ON c.calendar_date = d.receivedate;
GO

CREATE VIEW vigil.vw_age_sex_by_reaction AS
SELECT
    d.receivedate, d.reactionmeddrapt, d.patient_age_group, a.sort_order AS age_group_sort_order,
    d.patient_sex, d.reports, d.serious_reports, d.deaths
FROM vigil.fact_reaction_demographic_daily AS d
LEFT JOIN vigil.dim_age_group AS a ON a.patient_age_group = d.patient_age_group;
GO

CREATE VIEW vigil.vw_alert AS
SELECT
    alert_type, subject, window_start, window_end, statistic, statistic_value, threshold,
    evidence_reports, expected_reports, status, first_detected_at, gold_updated_at
FROM vigil.fact_alert;
GO

-- One table for the data-quality page: quarantined input by broken rules, load rejects by
-- reason, and per table how long ago its last loaded Delta commit was made.
CREATE VIEW vigil.vw_data_quality AS
SELECT 'quarantine' AS check_group, 'silver.quarantine' AS subject, broken_rules AS check_name,
    COUNT(*) AS row_count, MAX(quarantined_at) AS last_seen_at, CAST(NULL AS BIGINT) AS lag_seconds
FROM vigil.fact_quarantine
GROUP BY broken_rules
UNION ALL
SELECT 'load_reject', table_name, reason, COUNT(*), MAX(rejected_at), CAST(NULL AS BIGINT)
FROM vigil.load_reject
GROUP BY table_name, reason
UNION ALL
SELECT 'freshness', source_table, 'seconds since the last loaded commit', rows_loaded, loaded_at,
    CAST(DATEDIFF(second, source_committed_at, SYSUTCDATETIME()) AS BIGINT)
FROM vigil.load_watermark;
