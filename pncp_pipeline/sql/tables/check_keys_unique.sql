-- asset check: one row per record key across the whole table.
SELECT count(*) AS rows, count(DISTINCT record_key) AS keys,
       count(*) - count(DISTINCT record_key) AS duplicate_rows
FROM {{table}};
