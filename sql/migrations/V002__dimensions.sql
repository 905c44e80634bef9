-- Dimensions of the Power BI star model. Keys are the natural values the facts carry (same
-- column names where they are the same thing); the loader adds new members as facts arrive.

CREATE TABLE vigil.dim_date (
    calendar_date DATE NOT NULL,
    calendar_year INT NOT NULL,
    calendar_quarter INT NOT NULL,
    calendar_month INT NOT NULL,
    calendar_day INT NOT NULL,
    CONSTRAINT pk_dim_date PRIMARY KEY (calendar_date)
);

CREATE TABLE vigil.dim_drug (
    generic_name NVARCHAR(200) NOT NULL,
    CONSTRAINT pk_dim_drug PRIMARY KEY (generic_name)
);

CREATE TABLE vigil.dim_reaction (
    reactionmeddrapt NVARCHAR(200) NOT NULL,  -- MedDRA preferred term
    CONSTRAINT pk_dim_reaction PRIMARY KEY (reactionmeddrapt)
);

-- occurcountry and reportercountry both refer here.
CREATE TABLE vigil.dim_country (
    country_code NVARCHAR(64) NOT NULL,
    CONSTRAINT pk_dim_country PRIMARY KEY (country_code)
);

CREATE TABLE vigil.dim_age_group (
    patient_age_group NVARCHAR(32) NOT NULL,
    sort_order INT NULL,  -- null for a group the pipeline adds that is not seeded here
    age_from_years FLOAT NULL,
    age_to_years FLOAT NULL,  -- exclusive
    CONSTRAINT pk_dim_age_group PRIMARY KEY (patient_age_group)
);

-- openFDA patient.patientagegroup (1 neonate … 6 elderly) and the age bands Vigil derives them from.
INSERT INTO vigil.dim_age_group (patient_age_group, sort_order, age_from_years, age_to_years) VALUES
    ('neonate', 1, 0, 0.0833),
    ('infant', 2, 0.0833, 2),
    ('child', 3, 2, 12),
    ('adolescent', 4, 12, 18),
    ('adult', 5, 18, 65),
    ('elderly', 6, 65, NULL);
