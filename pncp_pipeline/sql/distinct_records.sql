-- reconcile (last): distinct records landed per task, by the keys stored with each page, for the
-- tasks that changed since they were last counted. Unstable server ordering repeats and skips
-- records at page boundaries; distinct vs declared totals is how a user sees it.
WITH tasks AS MATERIALIZED (
    -- tid: a small integer per task, so the grouping of every key hashes an integer, not the task id
    SELECT task_id, drifted_at, row_number() OVER (ORDER BY task_id) AS tid FROM psa.pncp_extraction_tasks
    WHERE status IN ('COMPLETE', 'PARTIAL')
      AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
      AND data_date BETWEEN $start AND $end
      AND (records_distinct IS NULL OR updated_at >= $since)
),
counted AS (
    SELECT tid, count(DISTINCT key) AS n FROM (
        SELECT s.tid, unnest(r.record_keys) AS key
        FROM psa.pncp_raw_responses r JOIN tasks s ON s.task_id = r.task_id
        WHERE r.response_class = 'data' AND r.fetched_at > coalesce(s.drifted_at, '-infinity'::TIMESTAMPTZ))
    GROUP BY tid
)
UPDATE psa.pncp_extraction_tasks AS t
SET records_distinct = coalesce(c.n, 0)
FROM tasks s LEFT JOIN counted c ON c.tid = s.tid
WHERE t.task_id = s.task_id;
