-- refresh 4/9: the best version of each key per month and endpoint (repeats across pages and
-- modalities collapse here); the order is the table's everywhere: newest version_at, then the
-- latest landed page, then the later position in the page.
INSERT INTO pncp_meta.record_versions (table_name, record_key, month, endpoint, raw_id, page, ordinal, version_at)
SELECT $table, record_key, source_month, source_endpoint, source_raw_id, source_page, ordinal, version_at
FROM _pncp_staged
QUALIFY row_number() OVER (PARTITION BY record_key, source_month, source_endpoint
                           ORDER BY version_at DESC NULLS LAST, source_raw_id DESC, ordinal DESC) = 1;
