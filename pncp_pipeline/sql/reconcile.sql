-- reconcile: one set-based pass. For every FETCHING/PARTIAL task in scope, expected pages 1..N
-- (page 1 included, so it can never be lost) minus the pages that landed in the task's current
-- snapshot become missing_pages; none missing -> COMPLETE, otherwise PARTIAL with the newest error.
WITH scoped AS (
    SELECT task_id, total_pages, drifted_at FROM psa.pncp_extraction_tasks
    WHERE status IN ('FETCHING', 'PARTIAL') AND total_pages IS NOT NULL
      AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
      AND data_date BETWEEN $start AND $end
),
landed AS (
    SELECT r.task_id, r.page, arg_max(r.page_records, r.id) AS page_records
    FROM psa.pncp_raw_responses r JOIN scoped s ON s.task_id = r.task_id
    WHERE r.response_class IN ('data', 'empty') AND r.fetched_at > coalesce(s.drifted_at, '-infinity'::TIMESTAMPTZ)
    GROUP BY ALL
),
missing AS (
    SELECT e.task_id, list(e.page ORDER BY e.page) AS pages
    FROM (SELECT task_id, unnest(range(1, total_pages + 1))::INTEGER AS page FROM scoped) AS e
    ANTI JOIN landed l ON l.task_id = e.task_id AND l.page = e.page
    GROUP BY e.task_id
),
errors AS (
    SELECT r.task_id, arg_max(coalesce(r.error, 'HTTP ' || r.status_code::VARCHAR), r.id) AS last_error
    FROM psa.pncp_raw_responses r JOIN missing m ON m.task_id = r.task_id
    WHERE r.response_class IN ('retryable', 'fatal')
    GROUP BY r.task_id
),
records AS (
    SELECT task_id, sum(coalesce(page_records, 0)) AS records FROM landed GROUP BY task_id
)
UPDATE psa.pncp_extraction_tasks AS t
SET missing_pages  = to_json(coalesce(m.pages, [])),
    status         = CASE WHEN m.pages IS NULL THEN 'COMPLETE' ELSE 'PARTIAL' END,
    records_landed = coalesce(rec.records, 0),
    last_error     = CASE WHEN m.pages IS NULL THEN NULL
                          ELSE len(m.pages)::VARCHAR || ' page(s) missing; last error: ' || coalesce(er.last_error, 'none recorded') END,
    updated_at     = now()
FROM scoped s
LEFT JOIN missing m ON m.task_id = s.task_id
LEFT JOIN errors er ON er.task_id = s.task_id
LEFT JOIN records rec ON rec.task_id = s.task_id
WHERE t.task_id = s.task_id;
