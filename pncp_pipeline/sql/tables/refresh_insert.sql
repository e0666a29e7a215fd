-- refresh 9/9: one row per touched key: its winning version, typed. A key with no version left
-- anywhere (it vanished from every month) simply gets no row.
INSERT INTO {{table}} BY NAME
SELECT s.* EXCLUDE (version_at, ordinal), now() AS loaded_at
FROM _pncp_staged s
JOIN _pncp_winners w ON w.record_key = s.record_key AND w.raw_id = s.source_raw_id AND w.ordinal = s.ordinal
WHERE w.refreshed OR NOT w.current;
