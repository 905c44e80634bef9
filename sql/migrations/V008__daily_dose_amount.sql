-- silver.adverse_event_drug gained `daily_dose_amount`, the daily dose in the unit reported:
-- `daily_dose_mg` exists only for a unit of mass, so a daily dose in tablets (DF) or
-- international units (IU) had no column. Gold compares such doses with the reference's own
-- (jobs/gold.py). The drugs view now shows each dose as reported beside its mg value. Rows
-- silver wrote before it are null until a new version of their report arrives.

ALTER TABLE vigil.fact_report_drug ADD daily_dose_amount FLOAT NULL;
GO

-- Staging holds only the load in progress (the loader empties it first), so it is made again,
-- keeping the contract's column order with the change columns last.
DROP TABLE vigil.stg_fact_report_drug;
GO

CREATE TABLE vigil.stg_fact_report_drug (
    safetyreportid NVARCHAR(MAX) NULL,
    safetyreportversion INT NULL,
    drug_seq INT NULL,
    medicinalproduct NVARCHAR(MAX) NULL,
    product_name NVARCHAR(MAX) NULL,
    generic_name NVARCHAR(MAX) NULL,
    drugcharacterization INT NULL,
    drugindication NVARCHAR(MAX) NULL,
    drugdosagetext NVARCHAR(MAX) NULL,
    dose_amount FLOAT NULL,
    dose_unit NVARCHAR(MAX) NULL,
    dose_mg FLOAT NULL,
    daily_dose_mg FLOAT NULL,
    drugadministrationroute NVARCHAR(MAX) NULL,
    actiondrug INT NULL,
    receivedate DATE NULL,
    silver_updated_at DATETIME2 NULL,
    dose_source NVARCHAR(MAX) NULL,
    drugdosageform NVARCHAR(MAX) NULL,
    daily_dose_amount FLOAT NULL,
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);
GO

DROP VIEW vigil.vw_report_drug;
GO

CREATE VIEW vigil.vw_report_drug AS
SELECT
    d.safetyreportid, d.drug_seq, d.receivedate, r.occurcountry,
    d.medicinalproduct, d.product_name, d.generic_name,
    d.drugcharacterization,
    CASE d.drugcharacterization WHEN 1 THEN 'suspect' WHEN 2 THEN 'concomitant'
        WHEN 3 THEN 'interacting' END AS drugcharacterization_label,
    d.drugindication, d.dose_amount, d.dose_unit, d.daily_dose_amount, d.dose_mg, d.daily_dose_mg,
    d.dose_source, d.drugadministrationroute, d.drugdosageform,
    r.serious, r.patient_age_group, r.patient_sex, f.is_overdose
FROM vigil.fact_report_drug AS d
LEFT JOIN vigil.fact_report AS r ON r.safetyreportid = d.safetyreportid
LEFT JOIN vigil.fact_flags AS f ON f.safetyreportid = d.safetyreportid;
GO
