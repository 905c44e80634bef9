-- gold.alert → vigil.fact_alert. The loader runs these statements in one transaction
-- after writing the table's changes to vigil.stg_fact_alert, then moves the rows marked with a
-- reject reason to vigil.load_reject and advances vigil.load_watermark.

-- Rows the target's constraints would refuse are marked, not merged.
UPDATE vigil.stg_fact_alert SET _reject_reason = CASE
        WHEN alert_type IS NULL THEN 'alert_type is null'
        WHEN window_start IS NULL THEN 'window_start is null'
        WHEN LEN(alert_type) > 64 THEN 'alert_type is longer than 64 characters'
        WHEN LEN(subject) > 400 THEN 'subject is longer than 400 characters'
        WHEN LEN(statistic) > 32 THEN 'statistic is longer than 32 characters'
        WHEN LEN(status) > 16 THEN 'status is longer than 16 characters'
    END
WHERE _change_type <> 'delete';

MERGE INTO vigil.fact_alert AS t
USING (SELECT * FROM vigil.stg_fact_alert WHERE _reject_reason IS NULL) AS s
    ON t.alert_type = s.alert_type AND t.subject IS NOT DISTINCT FROM s.subject AND t.window_start = s.window_start
WHEN MATCHED AND s._change_type = 'delete' THEN DELETE
WHEN MATCHED THEN UPDATE SET
        window_end = s.window_end,
        statistic = s.statistic,
        statistic_value = s.statistic_value,
        threshold = s.threshold,
        evidence_reports = s.evidence_reports,
        expected_reports = s.expected_reports,
        status = s.status,
        first_detected_at = s.first_detected_at,
        gold_updated_at = s.gold_updated_at
WHEN NOT MATCHED BY TARGET AND s._change_type <> 'delete' THEN
    INSERT (alert_type, subject, window_start, window_end, statistic, statistic_value, threshold, evidence_reports, expected_reports, status, first_detected_at, gold_updated_at)
    VALUES (s.alert_type, s.subject, s.window_start, s.window_end, s.statistic, s.statistic_value, s.threshold, s.evidence_reports, s.expected_reports, s.status, s.first_detected_at, s.gold_updated_at);
