-- gold.reaction_demographic_daily → vigil.fact_reaction_demographic_daily. The loader runs these statements in one transaction
-- after writing the table's changes to vigil.stg_fact_reaction_demographic_daily, then moves the rows marked with a
-- reject reason to vigil.load_reject and advances vigil.load_watermark.

-- Rows the target's constraints would refuse are marked, not merged.
UPDATE vigil.stg_fact_reaction_demographic_daily SET _reject_reason = CASE
        WHEN receivedate IS NULL THEN 'receivedate is null'
        WHEN LEN(reactionmeddrapt) > 200 THEN 'reactionmeddrapt is longer than 200 characters'
        WHEN LEN(patient_age_group) > 32 THEN 'patient_age_group is longer than 32 characters'
        WHEN LEN(patient_sex) > 16 THEN 'patient_sex is longer than 16 characters'
        WHEN NOT (patient_sex IN ('male', 'female', 'unknown')) THEN 'patient_sex is not male, female or unknown'
        WHEN NOT (reports >= 0) THEN 'reports is negative'
    END
WHERE _change_type <> 'delete';

MERGE INTO vigil.fact_reaction_demographic_daily AS t
USING (SELECT * FROM vigil.stg_fact_reaction_demographic_daily WHERE _reject_reason IS NULL) AS s
    ON t.receivedate = s.receivedate AND t.reactionmeddrapt IS NOT DISTINCT FROM s.reactionmeddrapt AND t.patient_age_group IS NOT DISTINCT FROM s.patient_age_group AND t.patient_sex IS NOT DISTINCT FROM s.patient_sex
WHEN MATCHED AND s._change_type = 'delete' THEN DELETE
WHEN MATCHED THEN UPDATE SET
        reports = s.reports,
        serious_reports = s.serious_reports,
        deaths = s.deaths,
        overdoses = s.overdoses,
        anomalies = s.anomalies,
        gold_updated_at = s.gold_updated_at
WHEN NOT MATCHED BY TARGET AND s._change_type <> 'delete' THEN
    INSERT (receivedate, reactionmeddrapt, patient_age_group, patient_sex, reports, serious_reports, deaths, overdoses, anomalies, gold_updated_at)
    VALUES (s.receivedate, s.reactionmeddrapt, s.patient_age_group, s.patient_sex, s.reports, s.serious_reports, s.deaths, s.overdoses, s.anomalies, s.gold_updated_at);

-- New dimension members, so every fact row finds its dimension row.
MERGE INTO vigil.dim_date AS t
USING (SELECT DISTINCT receivedate AS calendar_date FROM vigil.stg_fact_reaction_demographic_daily WHERE receivedate IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.calendar_date = s.calendar_date
WHEN NOT MATCHED BY TARGET THEN
    INSERT (calendar_date, calendar_year, calendar_quarter, calendar_month, calendar_day)
    VALUES (s.calendar_date, YEAR(s.calendar_date), DATEPART(quarter, s.calendar_date), MONTH(s.calendar_date), DAY(s.calendar_date));

MERGE INTO vigil.dim_reaction AS t
USING (SELECT DISTINCT reactionmeddrapt AS reactionmeddrapt FROM vigil.stg_fact_reaction_demographic_daily WHERE reactionmeddrapt IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.reactionmeddrapt = s.reactionmeddrapt
WHEN NOT MATCHED BY TARGET THEN
    INSERT (reactionmeddrapt) VALUES (s.reactionmeddrapt);

MERGE INTO vigil.dim_age_group AS t
USING (SELECT DISTINCT patient_age_group AS patient_age_group FROM vigil.stg_fact_reaction_demographic_daily WHERE patient_age_group IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.patient_age_group = s.patient_age_group
WHEN NOT MATCHED BY TARGET THEN
    INSERT (patient_age_group) VALUES (s.patient_age_group);
