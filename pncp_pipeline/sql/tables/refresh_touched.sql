-- refresh 2/9: keys whose winner may change: every key the refreshed months held before (it may
-- have vanished from them) and every key they hold now.
CREATE OR REPLACE TEMP TABLE _pncp_touched AS
SELECT record_key FROM pncp_meta.record_versions
WHERE table_name = $table AND month IN (SELECT unnest($months::DATE[]))
UNION
SELECT record_key FROM _pncp_staged;
