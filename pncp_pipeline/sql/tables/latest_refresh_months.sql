-- the months a table's latest refresh() rebuilt (what a check run on its own looks at).
SELECT month FROM pncp_meta.table_refreshes
WHERE table_name = $table
  AND refresh_id = (SELECT arg_max(refresh_id, refreshed_at) FROM pncp_meta.table_refreshes WHERE table_name = $table)
ORDER BY month;
