-- Staging: the changes of one load of one table, written by the loader, read by sql/merge/<target>.sql.
-- Strings are unbounded and nothing is NOT NULL except the change columns, so that a bad row
-- reaches the reject rules instead of failing the write.

CREATE TABLE vigil.stg_fact_report (
    safetyreportid NVARCHAR(MAX) NULL,
    safetyreportversion INT NULL,
    receivedate DATE NULL,
    receivedate_precision NVARCHAR(MAX) NULL,
    receiptdate DATE NULL,
    transmissiondate DATE NULL,
    serious BIT NULL,
    seriousnessdeath BIT NULL,
    seriousnesslifethreatening BIT NULL,
    seriousnesshospitalization BIT NULL,
    seriousnessdisabling BIT NULL,
    seriousnesscongenitalanomali BIT NULL,
    seriousnessother BIT NULL,
    reporttype INT NULL,
    occurcountry NVARCHAR(MAX) NULL,
    reportercountry NVARCHAR(MAX) NULL,
    qualification INT NULL,
    senderorganization NVARCHAR(MAX) NULL,
    patient_age_years FLOAT NULL,
    patient_age_group NVARCHAR(MAX) NULL,
    patient_sex NVARCHAR(MAX) NULL,
    patient_weight_kg FLOAT NULL,
    patient_death_date DATE NULL,
    drug_count INT NULL,
    reaction_count INT NULL,
    payload_sha256 NVARCHAR(MAX) NULL,
    bronze_id NVARCHAR(MAX) NULL,
    enqueued_at DATETIME2 NULL,
    ingested_at DATETIME2 NULL,
    silver_updated_at DATETIME2 NULL,
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);

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
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);

CREATE TABLE vigil.stg_fact_report_reaction (
    safetyreportid NVARCHAR(MAX) NULL,
    safetyreportversion INT NULL,
    reaction_seq INT NULL,
    reactionmeddrapt NVARCHAR(MAX) NULL,
    reactionoutcome INT NULL,
    receivedate DATE NULL,
    silver_updated_at DATETIME2 NULL,
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);

CREATE TABLE vigil.stg_fact_quarantine (
    bronze_id NVARCHAR(MAX) NULL,
    safetyreportid NVARCHAR(MAX) NULL,
    payload_text NVARCHAR(MAX) NULL,
    broken_rules NVARCHAR(MAX) NULL,
    error NVARCHAR(MAX) NULL,
    source NVARCHAR(MAX) NULL,
    topic NVARCHAR(MAX) NULL,
    [partition] INT NULL,
    [offset] BIGINT NULL,
    enqueued_at DATETIME2 NULL,
    file_path NVARCHAR(MAX) NULL,
    ingested_at DATETIME2 NULL,
    quarantined_at DATETIME2 NULL,
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);

CREATE TABLE vigil.stg_fact_flags (
    safetyreportid NVARCHAR(MAX) NULL,
    safetyreportversion INT NULL,
    receivedate DATE NULL,
    occurcountry NVARCHAR(MAX) NULL,
    serious BIT NULL,
    is_death BIT NULL,
    is_overdose BIT NULL,
    overdose_reasons NVARCHAR(MAX) NULL,
    overdose_intent NVARCHAR(MAX) NULL,
    is_anomaly BIT NULL,
    anomaly_reasons NVARCHAR(MAX) NULL,
    suspect_generic_names NVARCHAR(MAX) NULL,
    gold_updated_at DATETIME2 NULL,
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);

CREATE TABLE vigil.stg_fact_drug_daily (
    receivedate DATE NULL,
    generic_name NVARCHAR(MAX) NULL,
    occurcountry NVARCHAR(MAX) NULL,
    reports BIGINT NULL,
    serious_reports BIGINT NULL,
    deaths BIGINT NULL,
    overdoses BIGINT NULL,
    anomalies BIGINT NULL,
    gold_updated_at DATETIME2 NULL,
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);

CREATE TABLE vigil.stg_fact_drug_reaction_daily (
    receivedate DATE NULL,
    generic_name NVARCHAR(MAX) NULL,
    reactionmeddrapt NVARCHAR(MAX) NULL,
    reports BIGINT NULL,
    serious_reports BIGINT NULL,
    deaths BIGINT NULL,
    overdoses BIGINT NULL,
    anomalies BIGINT NULL,
    gold_updated_at DATETIME2 NULL,
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);

CREATE TABLE vigil.stg_fact_reaction_demographic_daily (
    receivedate DATE NULL,
    reactionmeddrapt NVARCHAR(MAX) NULL,
    patient_age_group NVARCHAR(MAX) NULL,
    patient_sex NVARCHAR(MAX) NULL,
    reports BIGINT NULL,
    serious_reports BIGINT NULL,
    deaths BIGINT NULL,
    overdoses BIGINT NULL,
    anomalies BIGINT NULL,
    gold_updated_at DATETIME2 NULL,
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);

CREATE TABLE vigil.stg_fact_country_daily (
    receivedate DATE NULL,
    occurcountry NVARCHAR(MAX) NULL,
    reports BIGINT NULL,
    serious_reports BIGINT NULL,
    deaths BIGINT NULL,
    overdoses BIGINT NULL,
    anomalies BIGINT NULL,
    gold_updated_at DATETIME2 NULL,
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);

CREATE TABLE vigil.stg_fact_alert (
    alert_type NVARCHAR(MAX) NULL,
    subject NVARCHAR(MAX) NULL,
    window_start DATE NULL,
    window_end DATE NULL,
    statistic NVARCHAR(MAX) NULL,
    statistic_value FLOAT NULL,
    threshold FLOAT NULL,
    evidence_reports BIGINT NULL,
    expected_reports FLOAT NULL,
    status NVARCHAR(MAX) NULL,
    first_detected_at DATETIME2 NULL,
    gold_updated_at DATETIME2 NULL,
    _change_type NVARCHAR(16) NOT NULL,
    _commit_version BIGINT NOT NULL,
    _reject_reason NVARCHAR(400) NULL
);
