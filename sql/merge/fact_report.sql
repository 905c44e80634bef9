-- silver.adverse_event_report → vigil.fact_report. The loader runs these statements in one transaction
-- after writing the table's changes to vigil.stg_fact_report, then moves the rows marked with a
-- reject reason to vigil.load_reject and advances vigil.load_watermark.

-- Rows the target's constraints would refuse are marked, not merged.
UPDATE vigil.stg_fact_report SET _reject_reason = CASE
        WHEN safetyreportid IS NULL THEN 'safetyreportid is null'
        WHEN LEN(safetyreportid) > 64 THEN 'safetyreportid is longer than 64 characters'
        WHEN NOT (safetyreportversion >= 1) THEN 'safetyreportversion is below 1'
        WHEN LEN(receivedate_precision) > 8 THEN 'receivedate_precision is longer than 8 characters'
        WHEN LEN(occurcountry) > 64 THEN 'occurcountry is longer than 64 characters'
        WHEN LEN(reportercountry) > 64 THEN 'reportercountry is longer than 64 characters'
        WHEN LEN(senderorganization) > 400 THEN 'senderorganization is longer than 400 characters'
        WHEN NOT (patient_age_years >= 0) THEN 'patient_age_years is negative'
        WHEN LEN(patient_age_group) > 32 THEN 'patient_age_group is longer than 32 characters'
        WHEN LEN(patient_sex) > 16 THEN 'patient_sex is longer than 16 characters'
        WHEN NOT (patient_sex IN ('male', 'female', 'unknown')) THEN 'patient_sex is not male, female or unknown'
        WHEN NOT (patient_weight_kg > 0) THEN 'patient_weight_kg is not above 0'
        WHEN LEN(payload_sha256) > 64 THEN 'payload_sha256 is longer than 64 characters'
        WHEN LEN(bronze_id) > 400 THEN 'bronze_id is longer than 400 characters'
    END
WHERE _change_type <> 'delete';

MERGE INTO vigil.fact_report AS t
USING (SELECT * FROM vigil.stg_fact_report WHERE _reject_reason IS NULL) AS s
    ON t.safetyreportid = s.safetyreportid
WHEN MATCHED AND s._change_type = 'delete' THEN DELETE
WHEN MATCHED THEN UPDATE SET
        safetyreportversion = s.safetyreportversion,
        receivedate = s.receivedate,
        receivedate_precision = s.receivedate_precision,
        receiptdate = s.receiptdate,
        transmissiondate = s.transmissiondate,
        serious = s.serious,
        seriousnessdeath = s.seriousnessdeath,
        seriousnesslifethreatening = s.seriousnesslifethreatening,
        seriousnesshospitalization = s.seriousnesshospitalization,
        seriousnessdisabling = s.seriousnessdisabling,
        seriousnesscongenitalanomali = s.seriousnesscongenitalanomali,
        seriousnessother = s.seriousnessother,
        reporttype = s.reporttype,
        occurcountry = s.occurcountry,
        reportercountry = s.reportercountry,
        qualification = s.qualification,
        senderorganization = s.senderorganization,
        patient_age_years = s.patient_age_years,
        patient_age_group = s.patient_age_group,
        patient_sex = s.patient_sex,
        patient_weight_kg = s.patient_weight_kg,
        patient_death_date = s.patient_death_date,
        drug_count = s.drug_count,
        reaction_count = s.reaction_count,
        payload_sha256 = s.payload_sha256,
        bronze_id = s.bronze_id,
        enqueued_at = s.enqueued_at,
        ingested_at = s.ingested_at,
        silver_updated_at = s.silver_updated_at
WHEN NOT MATCHED BY TARGET AND s._change_type <> 'delete' THEN
    INSERT (safetyreportid, safetyreportversion, receivedate, receivedate_precision, receiptdate, transmissiondate, serious, seriousnessdeath, seriousnesslifethreatening, seriousnesshospitalization, seriousnessdisabling, seriousnesscongenitalanomali, seriousnessother, reporttype, occurcountry, reportercountry, qualification, senderorganization, patient_age_years, patient_age_group, patient_sex, patient_weight_kg, patient_death_date, drug_count, reaction_count, payload_sha256, bronze_id, enqueued_at, ingested_at, silver_updated_at)
    VALUES (s.safetyreportid, s.safetyreportversion, s.receivedate, s.receivedate_precision, s.receiptdate, s.transmissiondate, s.serious, s.seriousnessdeath, s.seriousnesslifethreatening, s.seriousnesshospitalization, s.seriousnessdisabling, s.seriousnesscongenitalanomali, s.seriousnessother, s.reporttype, s.occurcountry, s.reportercountry, s.qualification, s.senderorganization, s.patient_age_years, s.patient_age_group, s.patient_sex, s.patient_weight_kg, s.patient_death_date, s.drug_count, s.reaction_count, s.payload_sha256, s.bronze_id, s.enqueued_at, s.ingested_at, s.silver_updated_at);

-- New dimension members, so every fact row finds its dimension row.
MERGE INTO vigil.dim_date AS t
USING (SELECT DISTINCT receivedate AS calendar_date FROM vigil.stg_fact_report WHERE receivedate IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.calendar_date = s.calendar_date
WHEN NOT MATCHED BY TARGET THEN
    INSERT (calendar_date, calendar_year, calendar_quarter, calendar_month, calendar_day)
    VALUES (s.calendar_date, YEAR(s.calendar_date), DATEPART(quarter, s.calendar_date), MONTH(s.calendar_date), DAY(s.calendar_date));

MERGE INTO vigil.dim_country AS t
USING (SELECT occurcountry AS country_code FROM vigil.stg_fact_report WHERE occurcountry IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete'
        UNION
        SELECT reportercountry AS country_code FROM vigil.stg_fact_report WHERE reportercountry IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.country_code = s.country_code
WHEN NOT MATCHED BY TARGET THEN
    INSERT (country_code) VALUES (s.country_code);

MERGE INTO vigil.dim_age_group AS t
USING (SELECT DISTINCT patient_age_group AS patient_age_group FROM vigil.stg_fact_report WHERE patient_age_group IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.patient_age_group = s.patient_age_group
WHEN NOT MATCHED BY TARGET THEN
    INSERT (patient_age_group) VALUES (s.patient_age_group);
