source_endpoint                 VARCHAR NOT NULL,
source_month                    DATE NOT NULL,
source_page                     INTEGER NOT NULL,
source_raw_id                   BIGINT NOT NULL,
loaded_at                       TIMESTAMPTZ NOT NULL