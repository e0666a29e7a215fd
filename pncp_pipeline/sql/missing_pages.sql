-- fetch: every missing page of every FETCHING/PARTIAL task in scope, read in keyset-ordered chunks
-- so memory stays flat. Pages that already landed (in the task's current snapshot) are skipped even
-- if missing_pages is stale (a run killed before reconcile): nothing that landed is asked again.
WITH wanted AS (
    SELECT t.task_id, t.endpoint_name, t.data_date, t.modalidade, t.page_size, t.drifted_at,
           unnest(from_json(t.missing_pages, '["INTEGER"]')) AS page
    FROM psa.pncp_extraction_tasks t
    WHERE t.status IN ('FETCHING', 'PARTIAL') AND t.total_pages IS NOT NULL
      AND t.endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
      AND t.data_date BETWEEN $start AND $end
)
SELECT w.task_id, w.endpoint_name, w.data_date, w.modalidade, w.page, w.page_size
FROM wanted w
WHERE (w.task_id > $after_task OR (w.task_id = $after_task AND w.page > $after_page))
  AND NOT EXISTS (
      SELECT 1 FROM psa.pncp_raw_responses r
      WHERE r.task_id = w.task_id AND r.page = w.page AND r.response_class IN ('data', 'empty')
        AND r.fetched_at > coalesce(w.drifted_at, '-infinity'::TIMESTAMPTZ))
ORDER BY w.task_id, w.page
LIMIT $limit;
