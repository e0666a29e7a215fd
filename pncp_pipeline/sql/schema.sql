-- Idempotent and additive only: run at every writer connection, never drops or rewrites anything.
CREATE SCHEMA IF NOT EXISTS psa;

CREATE TABLE IF NOT EXISTS psa.pncp_extraction_tasks (
    task_id        VARCHAR PRIMARY KEY,
    endpoint_name  VARCHAR NOT NULL,
    data_date      DATE NOT NULL,
    modalidade     INTEGER,
    status         VARCHAR NOT NULL DEFAULT 'PENDING',
    total_pages    INTEGER,
    total_records  INTEGER,
    missing_pages  JSON,
    last_error     TEXT,
    created_at     TIMESTAMPTZ DEFAULT current_timestamp,
    updated_at     TIMESTAMPTZ DEFAULT current_timestamp,
    UNIQUE (endpoint_name, data_date, modalidade)
);

ALTER TABLE psa.pncp_extraction_tasks ADD COLUMN IF NOT EXISTS attempts INTEGER DEFAULT 0;
ALTER TABLE psa.pncp_extraction_tasks ADD COLUMN IF NOT EXISTS records_landed BIGINT;

CREATE SEQUENCE IF NOT EXISTS psa.pncp_raw_responses_id;

CREATE TABLE IF NOT EXISTS psa.pncp_raw_responses (
    id              BIGINT DEFAULT nextval('psa.pncp_raw_responses_id'),
    task_id         VARCHAR NOT NULL,
    endpoint_name   VARCHAR NOT NULL,
    data_date       DATE NOT NULL,
    modalidade      INTEGER,
    page            INTEGER NOT NULL,
    request_url     VARCHAR NOT NULL,
    request_params  JSON,
    status_code     INTEGER,            -- NULL when no HTTP answer came (timeout, dropped connection)
    response_class  VARCHAR NOT NULL,   -- data | empty | fatal | retryable; only data and empty landed
    body            VARCHAR,
    headers         JSON,
    body_sha256     VARCHAR,            -- of the body as stored (UTF-8); a landed page's: of the bytes received
    total_records   BIGINT,
    total_pages     INTEGER,
    page_records    INTEGER,
    error           VARCHAR,
    attempt         INTEGER NOT NULL,
    run_id          VARCHAR NOT NULL,
    elapsed_ms      DOUBLE,
    fetched_at      TIMESTAMPTZ NOT NULL
);

-- Added after the first release; ADD COLUMN IF NOT EXISTS keeps old files working.
ALTER TABLE psa.pncp_extraction_tasks ADD COLUMN IF NOT EXISTS page_size INTEGER;
ALTER TABLE psa.pncp_extraction_tasks ADD COLUMN IF NOT EXISTS records_distinct BIGINT;
ALTER TABLE psa.pncp_extraction_tasks ADD COLUMN IF NOT EXISTS drifted_at TIMESTAMPTZ;
ALTER TABLE psa.pncp_extraction_tasks ADD COLUMN IF NOT EXISTS drift_count INTEGER DEFAULT 0;
ALTER TABLE psa.pncp_extraction_tasks ADD COLUMN IF NOT EXISTS last_run_id VARCHAR;
-- Each landed data page's record keys (endpoints.record_keys), so counting distinct records never
-- re-parses bodies; rows from before this column get theirs from fill_record_keys.sql.
ALTER TABLE psa.pncp_raw_responses ADD COLUMN IF NOT EXISTS record_keys VARCHAR[];
