-- refresh 3/9: the refreshed months' versions are replaced, never merged.
DELETE FROM pncp_meta.record_versions
WHERE table_name = $table AND month IN (SELECT unnest($months::DATE[]));
