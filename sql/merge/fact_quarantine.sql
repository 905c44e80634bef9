-- silver.quarantine → vigil.fact_quarantine. The loader runs these statements in one transaction
-- after writing the table's changes to vigil.stg_fact_quarantine, then moves the rows marked with a
-- reject reason to vigil.load_reject and advances vigil.load_watermark.

-- Rows the target's constraints would refuse are marked, not merged.
UPDATE vigil.stg_fact_quarantine SET _reject_reason = CASE
        WHEN bronze_id IS NULL THEN 'bronze_id is null'
        WHEN LEN(bronze_id) > 400 THEN 'bronze_id is longer than 400 characters'
        WHEN LEN(safetyreportid) > 64 THEN 'safetyreportid is longer than 64 characters'
        WHEN LEN(source) > 16 THEN 'source is longer than 16 characters'
        WHEN LEN(topic) > 200 THEN 'topic is longer than 200 characters'
        WHEN LEN(file_path) > 1000 THEN 'file_path is longer than 1000 characters'
    END
WHERE _change_type <> 'delete';

MERGE INTO vigil.fact_quarantine AS t
USING (SELECT * FROM vigil.stg_fact_quarantine WHERE _reject_reason IS NULL) AS s
    ON t.bronze_id = s.bronze_id
WHEN MATCHED AND s._change_type = 'delete' THEN DELETE
WHEN MATCHED THEN UPDATE SET
        safetyreportid = s.safetyreportid,
        payload_text = s.payload_text,
        broken_rules = s.broken_rules,
        error = s.error,
        source = s.source,
        topic = s.topic,
        [partition] = s.[partition],
        [offset] = s.[offset],
        enqueued_at = s.enqueued_at,
        file_path = s.file_path,
        ingested_at = s.ingested_at,
        quarantined_at = s.quarantined_at
WHEN NOT MATCHED BY TARGET AND s._change_type <> 'delete' THEN
    INSERT (bronze_id, safetyreportid, payload_text, broken_rules, error, source, topic, [partition], [offset], enqueued_at, file_path, ingested_at, quarantined_at)
    VALUES (s.bronze_id, s.safetyreportid, s.payload_text, s.broken_rules, s.error, s.source, s.topic, s.[partition], s.[offset], s.enqueued_at, s.file_path, s.ingested_at, s.quarantined_at);
