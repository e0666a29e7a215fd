-- refresh bookkeeping: the refreshed months' previous entries.
DELETE FROM pncp_meta.table_refreshes WHERE table_name = $table AND month IN (SELECT unnest($months::DATE[]));
