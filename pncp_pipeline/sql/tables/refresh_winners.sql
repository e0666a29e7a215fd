-- refresh 5/9: the winner of every touched key over all months (not only the refreshed ones);
-- `refreshed`: it comes from a month being rebuilt; `current`: the table already holds that very version.
CREATE OR REPLACE TEMP TABLE _pncp_winners AS
SELECT w.record_key, w.month, w.raw_id, w.ordinal,
       w.month IN (SELECT unnest($months::DATE[])) AS refreshed,
       EXISTS (SELECT 1 FROM {{table}} f WHERE f.record_key = w.record_key AND f.source_raw_id = w.raw_id) AS current
FROM (
    SELECT v.record_key, v.month, v.raw_id, v.ordinal
    FROM pncp_meta.record_versions v
    WHERE v.table_name = $table AND v.record_key IN (SELECT record_key FROM _pncp_touched)
    QUALIFY row_number() OVER (PARTITION BY v.record_key
                               ORDER BY v.version_at DESC NULLS LAST, v.raw_id DESC, v.ordinal DESC) = 1
) AS w;
