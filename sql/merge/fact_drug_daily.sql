-- gold.drug_daily → vigil.fact_drug_daily. The loader runs these statements in one transaction
-- after writing the table's changes to vigil.stg_fact_drug_daily, then moves the rows marked with a
-- reject reason to vigil.load_reject and advances vigil.load_watermark.

-- Rows the target's constraints would refuse are marked, not merged.
UPDATE vigil.stg_fact_drug_daily SET _reject_reason = CASE
        WHEN receivedate IS NULL THEN 'receivedate is null'
        WHEN LEN(generic_name) > 200 THEN 'generic_name is longer than 200 characters'
        WHEN LEN(occurcountry) > 64 THEN 'occurcountry is longer than 64 characters'
        WHEN NOT (reports >= 0) THEN 'reports is negative'
    END
WHERE _change_type <> 'delete';

MERGE INTO vigil.fact_drug_daily AS t
USING (SELECT * FROM vigil.stg_fact_drug_daily WHERE _reject_reason IS NULL) AS s
    ON t.receivedate = s.receivedate AND t.generic_name IS NOT DISTINCT FROM s.generic_name AND t.occurcountry IS NOT DISTINCT FROM s.occurcountry
WHEN MATCHED AND s._change_type = 'delete' THEN DELETE
WHEN MATCHED THEN UPDATE SET
        reports = s.reports,
        serious_reports = s.serious_reports,
        deaths = s.deaths,
        overdoses = s.overdoses,
        anomalies = s.anomalies,
        gold_updated_at = s.gold_updated_at
WHEN NOT MATCHED BY TARGET AND s._change_type <> 'delete' THEN
    INSERT (receivedate, generic_name, occurcountry, reports, serious_reports, deaths, overdoses, anomalies, gold_updated_at)
    VALUES (s.receivedate, s.generic_name, s.occurcountry, s.reports, s.serious_reports, s.deaths, s.overdoses, s.anomalies, s.gold_updated_at);

-- New dimension members, so every fact row finds its dimension row.
MERGE INTO vigil.dim_date AS t
USING (SELECT DISTINCT receivedate AS calendar_date FROM vigil.stg_fact_drug_daily WHERE receivedate IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.calendar_date = s.calendar_date
WHEN NOT MATCHED BY TARGET THEN
    INSERT (calendar_date, calendar_year, calendar_quarter, calendar_month, calendar_day)
    VALUES (s.calendar_date, YEAR(s.calendar_date), DATEPART(quarter, s.calendar_date), MONTH(s.calendar_date), DAY(s.calendar_date));

MERGE INTO vigil.dim_drug AS t
USING (SELECT DISTINCT generic_name AS generic_name FROM vigil.stg_fact_drug_daily WHERE generic_name IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.generic_name = s.generic_name
WHEN NOT MATCHED BY TARGET THEN
    INSERT (generic_name) VALUES (s.generic_name);

MERGE INTO vigil.dim_country AS t
USING (SELECT DISTINCT occurcountry AS country_code FROM vigil.stg_fact_drug_daily WHERE occurcountry IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.country_code = s.country_code
WHEN NOT MATCHED BY TARGET THEN
    INSERT (country_code) VALUES (s.country_code);
