-- refresh 8/9: drop the rows of touched keys, except a winner the table already holds from a month
-- outside the refresh (left as it is).
DELETE FROM {{table}} AS f
WHERE f.record_key IN (SELECT record_key FROM _pncp_touched)
  AND NOT EXISTS (SELECT 1 FROM _pncp_winners w
                  WHERE w.record_key = f.record_key AND w.raw_id = f.source_raw_id AND NOT w.refreshed AND w.current);
