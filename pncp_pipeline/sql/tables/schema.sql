-- typed tables (additive only, like sql/schema.sql): the `pncp_data` schema people query, and the
-- bookkeeping an incremental refresh needs in `pncp_meta`. Nothing here ever drops or rewrites.
CREATE SCHEMA IF NOT EXISTS pncp_data;
CREATE SCHEMA IF NOT EXISTS pncp_meta;

-- One row per record key × month × endpoint: the best version of the record in that endpoint-month's
-- raw pages (current snapshot only). Refreshing months M replaces exactly their rows here; the
-- winner of a key is then chosen over every month's row, so a record seen in a month that is not
-- being refreshed is never forgotten nor duplicated.
CREATE TABLE IF NOT EXISTS pncp_meta.record_versions (
    table_name  VARCHAR NOT NULL,
    record_key  VARCHAR NOT NULL,
    month       DATE NOT NULL,
    endpoint    VARCHAR NOT NULL,
    raw_id      BIGINT NOT NULL,
    page        INTEGER NOT NULL,
    ordinal     BIGINT NOT NULL,
    version_at  TIMESTAMP
);

-- When each table × month was last rebuilt, and what it held then.
CREATE TABLE IF NOT EXISTS pncp_meta.table_refreshes (
    table_name   VARCHAR NOT NULL,
    month        DATE NOT NULL,
    versions     BIGINT NOT NULL,   -- distinct records × endpoint found in the month's raw pages
    refreshed_at TIMESTAMPTZ NOT NULL,
    refresh_id   VARCHAR NOT NULL   -- one per refresh() call, however many passes it took
);
