-- gold.adverse_event_flags → vigil.fact_flags. The loader runs these statements in one transaction
-- after writing the table's changes to vigil.stg_fact_flags, then moves the rows marked with a
-- reject reason to vigil.load_reject and advances vigil.load_watermark.

-- Rows the target's constraints would refuse are marked, not merged.
UPDATE vigil.stg_fact_flags SET _reject_reason = CASE
        WHEN safetyreportid IS NULL THEN 'safetyreportid is null'
        WHEN LEN(safetyreportid) > 64 THEN 'safetyreportid is longer than 64 characters'
        WHEN NOT (safetyreportversion >= 1) THEN 'safetyreportversion is below 1'
        WHEN LEN(occurcountry) > 64 THEN 'occurcountry is longer than 64 characters'
        WHEN LEN(overdose_intent) > 16 THEN 'overdose_intent is longer than 16 characters'
    END
WHERE _change_type <> 'delete';

MERGE INTO vigil.fact_flags AS t
USING (SELECT * FROM vigil.stg_fact_flags WHERE _reject_reason IS NULL) AS s
    ON t.safetyreportid = s.safetyreportid
WHEN MATCHED AND s._change_type = 'delete' THEN DELETE
WHEN MATCHED THEN UPDATE SET
        safetyreportversion = s.safetyreportversion,
        receivedate = s.receivedate,
        occurcountry = s.occurcountry,
        serious = s.serious,
        is_death = s.is_death,
        is_overdose = s.is_overdose,
        overdose_reasons = s.overdose_reasons,
        overdose_intent = s.overdose_intent,
        is_anomaly = s.is_anomaly,
        anomaly_reasons = s.anomaly_reasons,
        suspect_generic_names = s.suspect_generic_names,
        gold_updated_at = s.gold_updated_at
WHEN NOT MATCHED BY TARGET AND s._change_type <> 'delete' THEN
    INSERT (safetyreportid, safetyreportversion, receivedate, occurcountry, serious, is_death, is_overdose, overdose_reasons, overdose_intent, is_anomaly, anomaly_reasons, suspect_generic_names, gold_updated_at)
    VALUES (s.safetyreportid, s.safetyreportversion, s.receivedate, s.occurcountry, s.serious, s.is_death, s.is_overdose, s.overdose_reasons, s.overdose_intent, s.is_anomaly, s.anomaly_reasons, s.suspect_generic_names, s.gold_updated_at);
