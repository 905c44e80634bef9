-- Facts: one table per Delta table the load reads, with the same columns and key (jobs/tables.py).
-- Arrays arrive as JSON text. Aggregate keys other than the date may be null (a drug without a
-- generic name, a report without a country): those tables have a UNIQUE key, matched with
-- IS NOT DISTINCT FROM, instead of a primary key.

-- silver.adverse_event_report
CREATE TABLE vigil.fact_report (
    safetyreportid NVARCHAR(64) NOT NULL,
    safetyreportversion INT NULL,
    receivedate DATE NULL,
    receivedate_precision NVARCHAR(8) NULL,
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
    occurcountry NVARCHAR(64) NULL,
    reportercountry NVARCHAR(64) NULL,
    qualification INT NULL,
    senderorganization NVARCHAR(400) NULL,
    patient_age_years FLOAT NULL,
    patient_age_group NVARCHAR(32) NULL,
    patient_sex NVARCHAR(16) NULL,
    patient_weight_kg FLOAT NULL,
    patient_death_date DATE NULL,
    drug_count INT NULL,
    reaction_count INT NULL,
    payload_sha256 NVARCHAR(64) NULL,
    bronze_id NVARCHAR(400) NULL,
    enqueued_at DATETIME2 NULL,
    ingested_at DATETIME2 NULL,
    silver_updated_at DATETIME2 NULL,
    CONSTRAINT pk_fact_report PRIMARY KEY (safetyreportid),
    CONSTRAINT ck_fact_report_safetyreportversion CHECK (safetyreportversion IS NULL OR (safetyreportversion >= 1)),
    -- Only what no reading allows: an age of 250 is kept, shown and flagged by gold.
    CONSTRAINT ck_fact_report_patient_age_years CHECK (patient_age_years IS NULL OR (patient_age_years >= 0)),
    CONSTRAINT ck_fact_report_patient_sex CHECK (patient_sex IS NULL OR (patient_sex IN ('male', 'female', 'unknown'))),
    CONSTRAINT ck_fact_report_patient_weight_kg CHECK (patient_weight_kg IS NULL OR (patient_weight_kg > 0))
);

-- silver.adverse_event_drug
CREATE TABLE vigil.fact_report_drug (
    safetyreportid NVARCHAR(64) NOT NULL,
    safetyreportversion INT NULL,
    drug_seq INT NOT NULL,
    medicinalproduct NVARCHAR(400) NULL,
    product_name NVARCHAR(400) NULL,
    generic_name NVARCHAR(200) NULL,
    drugcharacterization INT NULL,
    drugindication NVARCHAR(400) NULL,
    drugdosagetext NVARCHAR(MAX) NULL,
    dose_amount FLOAT NULL,
    dose_unit NVARCHAR(32) NULL,
    dose_mg FLOAT NULL,
    daily_dose_mg FLOAT NULL,
    drugadministrationroute NVARCHAR(64) NULL,
    actiondrug INT NULL,
    receivedate DATE NULL,
    silver_updated_at DATETIME2 NULL,
    CONSTRAINT pk_fact_report_drug PRIMARY KEY (safetyreportid, drug_seq),
    CONSTRAINT ck_fact_report_drug_safetyreportversion CHECK (safetyreportversion IS NULL OR (safetyreportversion >= 1)),
    CONSTRAINT ck_fact_report_drug_drugcharacterization CHECK (drugcharacterization IS NULL OR (drugcharacterization IN (1, 2, 3)))
);

-- silver.adverse_event_reaction
CREATE TABLE vigil.fact_report_reaction (
    safetyreportid NVARCHAR(64) NOT NULL,
    safetyreportversion INT NULL,
    reaction_seq INT NOT NULL,
    reactionmeddrapt NVARCHAR(200) NULL,
    reactionoutcome INT NULL,
    receivedate DATE NULL,
    silver_updated_at DATETIME2 NULL,
    CONSTRAINT pk_fact_report_reaction PRIMARY KEY (safetyreportid, reaction_seq),
    CONSTRAINT ck_fact_report_reaction_safetyreportversion CHECK (safetyreportversion IS NULL OR (safetyreportversion >= 1)),
    CONSTRAINT ck_fact_report_reaction_reactionoutcome CHECK (reactionoutcome IS NULL OR (reactionoutcome >= 1 AND reactionoutcome <= 6))
);

-- silver.quarantine
CREATE TABLE vigil.fact_quarantine (
    bronze_id NVARCHAR(400) NOT NULL,
    safetyreportid NVARCHAR(64) NULL,
    payload_text NVARCHAR(MAX) NULL,
    broken_rules NVARCHAR(MAX) NULL,
    error NVARCHAR(MAX) NULL,
    source NVARCHAR(16) NULL,
    topic NVARCHAR(200) NULL,
    [partition] INT NULL,
    [offset] BIGINT NULL,
    enqueued_at DATETIME2 NULL,
    file_path NVARCHAR(1000) NULL,
    ingested_at DATETIME2 NULL,
    quarantined_at DATETIME2 NULL,
    CONSTRAINT pk_fact_quarantine PRIMARY KEY (bronze_id)
);

-- gold.adverse_event_flags
CREATE TABLE vigil.fact_flags (
    safetyreportid NVARCHAR(64) NOT NULL,
    safetyreportversion INT NULL,
    receivedate DATE NULL,
    occurcountry NVARCHAR(64) NULL,
    serious BIT NULL,
    is_death BIT NULL,
    is_overdose BIT NULL,
    overdose_reasons NVARCHAR(MAX) NULL,
    overdose_intent NVARCHAR(16) NULL,
    is_anomaly BIT NULL,
    anomaly_reasons NVARCHAR(MAX) NULL,
    suspect_generic_names NVARCHAR(MAX) NULL,
    gold_updated_at DATETIME2 NULL,
    CONSTRAINT pk_fact_flags PRIMARY KEY (safetyreportid),
    CONSTRAINT ck_fact_flags_safetyreportversion CHECK (safetyreportversion IS NULL OR (safetyreportversion >= 1))
);

-- gold.drug_daily
CREATE TABLE vigil.fact_drug_daily (
    receivedate DATE NOT NULL,
    generic_name NVARCHAR(200) NULL,
    occurcountry NVARCHAR(64) NULL,
    reports BIGINT NULL,
    serious_reports BIGINT NULL,
    deaths BIGINT NULL,
    overdoses BIGINT NULL,
    anomalies BIGINT NULL,
    gold_updated_at DATETIME2 NULL,
    CONSTRAINT uq_fact_drug_daily UNIQUE (receivedate, generic_name, occurcountry),
    CONSTRAINT ck_fact_drug_daily_reports CHECK (reports IS NULL OR (reports >= 0))
);

-- gold.drug_reaction_daily
CREATE TABLE vigil.fact_drug_reaction_daily (
    receivedate DATE NOT NULL,
    generic_name NVARCHAR(200) NULL,
    reactionmeddrapt NVARCHAR(200) NULL,
    reports BIGINT NULL,
    serious_reports BIGINT NULL,
    deaths BIGINT NULL,
    overdoses BIGINT NULL,
    anomalies BIGINT NULL,
    gold_updated_at DATETIME2 NULL,
    CONSTRAINT uq_fact_drug_reaction_daily UNIQUE (receivedate, generic_name, reactionmeddrapt),
    CONSTRAINT ck_fact_drug_reaction_daily_reports CHECK (reports IS NULL OR (reports >= 0))
);

-- gold.reaction_demographic_daily
CREATE TABLE vigil.fact_reaction_demographic_daily (
    receivedate DATE NOT NULL,
    reactionmeddrapt NVARCHAR(200) NULL,
    patient_age_group NVARCHAR(32) NULL,
    patient_sex NVARCHAR(16) NULL,
    reports BIGINT NULL,
    serious_reports BIGINT NULL,
    deaths BIGINT NULL,
    overdoses BIGINT NULL,
    anomalies BIGINT NULL,
    gold_updated_at DATETIME2 NULL,
    CONSTRAINT uq_fact_reaction_demographic_daily UNIQUE (receivedate, reactionmeddrapt, patient_age_group, patient_sex),
    CONSTRAINT ck_fact_reaction_demographic_daily_patient_sex CHECK (patient_sex IS NULL OR (patient_sex IN ('male', 'female', 'unknown'))),
    CONSTRAINT ck_fact_reaction_demographic_daily_reports CHECK (reports IS NULL OR (reports >= 0))
);

-- gold.country_daily
CREATE TABLE vigil.fact_country_daily (
    receivedate DATE NOT NULL,
    occurcountry NVARCHAR(64) NULL,
    reports BIGINT NULL,
    serious_reports BIGINT NULL,
    deaths BIGINT NULL,
    overdoses BIGINT NULL,
    anomalies BIGINT NULL,
    gold_updated_at DATETIME2 NULL,
    CONSTRAINT uq_fact_country_daily UNIQUE (receivedate, occurcountry),
    CONSTRAINT ck_fact_country_daily_reports CHECK (reports IS NULL OR (reports >= 0))
);

-- gold.alert
CREATE TABLE vigil.fact_alert (
    alert_type NVARCHAR(64) NOT NULL,
    subject NVARCHAR(400) NULL,
    window_start DATE NOT NULL,
    window_end DATE NULL,
    statistic NVARCHAR(32) NULL,
    statistic_value FLOAT NULL,
    threshold FLOAT NULL,
    evidence_reports BIGINT NULL,
    expected_reports FLOAT NULL,
    status NVARCHAR(16) NULL,
    first_detected_at DATETIME2 NULL,
    gold_updated_at DATETIME2 NULL,
    CONSTRAINT uq_fact_alert UNIQUE (alert_type, subject, window_start)
);
