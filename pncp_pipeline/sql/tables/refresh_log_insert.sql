-- refresh bookkeeping: when each refreshed month was rebuilt and how many versions it held.
INSERT INTO pncp_meta.table_refreshes (table_name, month, versions, refreshed_at, refresh_id)
SELECT $table, m.month, count(v.record_key), now(), $refresh_id
FROM (SELECT unnest($months::DATE[]) AS month) AS m
LEFT JOIN pncp_meta.record_versions v ON v.table_name = $table AND v.month = m.month
GROUP BY m.month;
