-- The serving schema and the tables the loader and the migration runner keep their state in.
CREATE SCHEMA vigil;
GO

-- One row per applied migration; the runner skips these and refuses edited ones.
CREATE TABLE vigil.schema_migrations (
    version INT NOT NULL,
    name NVARCHAR(200) NOT NULL,
    checksum NVARCHAR(64) NOT NULL,  -- sha256 of the file as applied
    applied_at DATETIME2 NOT NULL,
    CONSTRAINT pk_schema_migrations PRIMARY KEY (version)
);

-- The last Delta version of each source table whose changes are in the target. Advanced in
-- the same transaction as the target's MERGE, so a load is applied once or not at all.
CREATE TABLE vigil.load_watermark (
    target_table NVARCHAR(128) NOT NULL,
    source_table NVARCHAR(128) NOT NULL,  -- <layer>.<subject>
    last_version BIGINT NOT NULL,
    source_committed_at DATETIME2 NULL,  -- Delta commit time of last_version (UTC)
    rows_loaded BIGINT NOT NULL,  -- by the last load
    rows_rejected BIGINT NOT NULL,
    loaded_at DATETIME2 NOT NULL,
    CONSTRAINT pk_load_watermark PRIMARY KEY (target_table)
);

-- Rows a target's constraints refuse: kept with the reason instead of failing the load.
CREATE TABLE vigil.load_reject (
    table_name NVARCHAR(128) NOT NULL,  -- the target table
    key_value NVARCHAR(400) NULL,  -- the row's key columns as JSON
    reason NVARCHAR(400) NOT NULL,
    row_json NVARCHAR(MAX) NOT NULL,
    commit_version BIGINT NOT NULL,  -- the Delta version the row came from
    rejected_at DATETIME2 NOT NULL
);
