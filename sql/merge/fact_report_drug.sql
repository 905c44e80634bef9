-- silver.adverse_event_drug → vigil.fact_report_drug. The loader runs these statements in one transaction
-- after writing the table's changes to vigil.stg_fact_report_drug, then moves the rows marked with a
-- reject reason to vigil.load_reject and advances vigil.load_watermark.

-- Rows the target's constraints would refuse are marked, not merged.
UPDATE vigil.stg_fact_report_drug SET _reject_reason = CASE
        WHEN safetyreportid IS NULL THEN 'safetyreportid is null'
        WHEN drug_seq IS NULL THEN 'drug_seq is null'
        WHEN LEN(safetyreportid) > 64 THEN 'safetyreportid is longer than 64 characters'
        WHEN NOT (safetyreportversion >= 1) THEN 'safetyreportversion is below 1'
        WHEN LEN(medicinalproduct) > 400 THEN 'medicinalproduct is longer than 400 characters'
        WHEN LEN(product_name) > 400 THEN 'product_name is longer than 400 characters'
        WHEN LEN(generic_name) > 200 THEN 'generic_name is longer than 200 characters'
        WHEN NOT (drugcharacterization IN (1, 2, 3)) THEN 'drugcharacterization is not 1, 2 or 3'
        WHEN LEN(drugindication) > 400 THEN 'drugindication is longer than 400 characters'
        WHEN LEN(dose_unit) > 32 THEN 'dose_unit is longer than 32 characters'
        WHEN LEN(drugadministrationroute) > 64 THEN 'drugadministrationroute is longer than 64 characters'
        WHEN LEN(dose_source) > 40 THEN 'dose_source is longer than 40 characters'
        WHEN LEN(drugdosageform) > 400 THEN 'drugdosageform is longer than 400 characters'
    END
WHERE _change_type <> 'delete';

MERGE INTO vigil.fact_report_drug AS t
USING (SELECT * FROM vigil.stg_fact_report_drug WHERE _reject_reason IS NULL) AS s
    ON t.safetyreportid = s.safetyreportid AND t.drug_seq = s.drug_seq
WHEN MATCHED AND s._change_type = 'delete' THEN DELETE
WHEN MATCHED THEN UPDATE SET
        safetyreportversion = s.safetyreportversion,
        medicinalproduct = s.medicinalproduct,
        product_name = s.product_name,
        generic_name = s.generic_name,
        drugcharacterization = s.drugcharacterization,
        drugindication = s.drugindication,
        drugdosagetext = s.drugdosagetext,
        dose_amount = s.dose_amount,
        dose_unit = s.dose_unit,
        dose_mg = s.dose_mg,
        daily_dose_mg = s.daily_dose_mg,
        drugadministrationroute = s.drugadministrationroute,
        actiondrug = s.actiondrug,
        receivedate = s.receivedate,
        silver_updated_at = s.silver_updated_at,
        dose_source = s.dose_source,
        drugdosageform = s.drugdosageform,
        daily_dose_amount = s.daily_dose_amount
WHEN NOT MATCHED BY TARGET AND s._change_type <> 'delete' THEN
    INSERT (safetyreportid, safetyreportversion, drug_seq, medicinalproduct, product_name, generic_name, drugcharacterization, drugindication, drugdosagetext, dose_amount, dose_unit, dose_mg, daily_dose_mg, drugadministrationroute, actiondrug, receivedate, silver_updated_at, dose_source, drugdosageform, daily_dose_amount)
    VALUES (s.safetyreportid, s.safetyreportversion, s.drug_seq, s.medicinalproduct, s.product_name, s.generic_name, s.drugcharacterization, s.drugindication, s.drugdosagetext, s.dose_amount, s.dose_unit, s.dose_mg, s.daily_dose_mg, s.drugadministrationroute, s.actiondrug, s.receivedate, s.silver_updated_at, s.dose_source, s.drugdosageform, s.daily_dose_amount);

-- New dimension members, so every fact row finds its dimension row.
MERGE INTO vigil.dim_drug AS t
USING (SELECT DISTINCT generic_name AS generic_name FROM vigil.stg_fact_report_drug WHERE generic_name IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.generic_name = s.generic_name
WHEN NOT MATCHED BY TARGET THEN
    INSERT (generic_name) VALUES (s.generic_name);
