COMMENT ON COLUMN pncp_data.{{table}}.source_endpoint IS 'Lineage: endpoint whose page held the winning version.';
COMMENT ON COLUMN pncp_data.{{table}}.source_month IS 'Lineage and partition: the month (first day) the winning version was extracted for (the raw row''s data_date).';
COMMENT ON COLUMN pncp_data.{{table}}.source_page IS 'Lineage: page number of the winning version.';
COMMENT ON COLUMN pncp_data.{{table}}.source_raw_id IS 'Lineage: psa.pncp_raw_responses.id of the page holding the winning version.';
COMMENT ON COLUMN pncp_data.{{table}}.loaded_at IS 'When this row was (re)built.';