-- silver.adverse_event_reaction → vigil.fact_report_reaction. The loader runs these statements in one transaction
-- after writing the table's changes to vigil.stg_fact_report_reaction, then moves the rows marked with a
-- reject reason to vigil.load_reject and advances vigil.load_watermark.

-- Rows the target's constraints would refuse are marked, not merged.
UPDATE vigil.stg_fact_report_reaction SET _reject_reason = CASE
        WHEN safetyreportid IS NULL THEN 'safetyreportid is null'
        WHEN reaction_seq IS NULL THEN 'reaction_seq is null'
        WHEN LEN(safetyreportid) > 64 THEN 'safetyreportid is longer than 64 characters'
        WHEN NOT (safetyreportversion >= 1) THEN 'safetyreportversion is below 1'
        WHEN LEN(reactionmeddrapt) > 200 THEN 'reactionmeddrapt is longer than 200 characters'
        WHEN NOT (reactionoutcome >= 1 AND reactionoutcome <= 6) THEN 'reactionoutcome is outside 1..6'
    END
WHERE _change_type <> 'delete';

MERGE INTO vigil.fact_report_reaction AS t
USING (SELECT * FROM vigil.stg_fact_report_reaction WHERE _reject_reason IS NULL) AS s
    ON t.safetyreportid = s.safetyreportid AND t.reaction_seq = s.reaction_seq
WHEN MATCHED AND s._change_type = 'delete' THEN DELETE
WHEN MATCHED THEN UPDATE SET
        safetyreportversion = s.safetyreportversion,
        reactionmeddrapt = s.reactionmeddrapt,
        reactionoutcome = s.reactionoutcome,
        receivedate = s.receivedate,
        silver_updated_at = s.silver_updated_at
WHEN NOT MATCHED BY TARGET AND s._change_type <> 'delete' THEN
    INSERT (safetyreportid, safetyreportversion, reaction_seq, reactionmeddrapt, reactionoutcome, receivedate, silver_updated_at)
    VALUES (s.safetyreportid, s.safetyreportversion, s.reaction_seq, s.reactionmeddrapt, s.reactionoutcome, s.receivedate, s.silver_updated_at);

-- New dimension members, so every fact row finds its dimension row.
MERGE INTO vigil.dim_reaction AS t
USING (SELECT DISTINCT reactionmeddrapt AS reactionmeddrapt FROM vigil.stg_fact_report_reaction WHERE reactionmeddrapt IS NOT NULL AND _reject_reason IS NULL AND _change_type <> 'delete') AS s
    ON t.reactionmeddrapt = s.reactionmeddrapt
WHEN NOT MATCHED BY TARGET THEN
    INSERT (reactionmeddrapt) VALUES (s.reactionmeddrapt);
