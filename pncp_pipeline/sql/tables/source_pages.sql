-- included in the pages slot of every tables/<name>.sql: the landed *data* pages a table is built from.
-- $months selects whole endpoint-months (a refresh), and there only the current snapshot counts: a page
-- fetched before its task's drifted_at belongs to a result set that changed under the download and
-- was superseded. $raw_ids selects single pages that pncp_meta.record_versions names as the winner of
-- a key from a month outside the refresh (refresh_reparse.sql): that month is taken as of its own last
-- refresh, so the page is read whatever happened to its task since.
SELECT r.id AS source_raw_id, r.endpoint_name AS source_endpoint, r.data_date AS source_month,
       r.page AS source_page, r.body
FROM psa.pncp_raw_responses r
JOIN psa.pncp_extraction_tasks t ON t.task_id = r.task_id
WHERE r.response_class = 'data'
  AND r.endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND ((r.data_date IN (SELECT unnest($months::DATE[]))
        AND r.fetched_at > coalesce(t.drifted_at, '-infinity'::TIMESTAMPTZ))
       OR r.id IN (SELECT unnest($raw_ids::BIGINT[])))
