-- reconcile: one set-based pass. For every FETCHING/PARTIAL task in scope, expected pages 1..N
-- (page 1 included, so it can never be lost) minus the pages that landed in the task's current
-- snapshot become missing_pages; none missing -> COMPLETE, otherwise PARTIAL with the newest error.
WITH scoped AS MATERIALIZED (
    -- tid: a small integer per task, so the million-row grouping and anti join below hash integers
    SELECT task_id, total_pages, drifted_at, row_number() OVER (ORDER BY task_id) AS tid
    FROM psa.pncp_extraction_tasks
    WHERE status IN ('FETCHING', 'PARTIAL') AND total_pages IS NOT NULL
      AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
      AND data_date BETWEEN $start AND $end
),
landed AS (
    SELECT s.tid, r.page, any_value(s.total_pages) AS total_pages, arg_max(r.page_records, r.id) AS page_records
    FROM psa.pncp_raw_responses r JOIN scoped s ON s.task_id = r.task_id
    WHERE r.response_class IN ('data', 'empty') AND r.fetched_at > coalesce(s.drifted_at, '-infinity'::TIMESTAMPTZ)
    GROUP BY s.tid, r.page
),
records AS (
    SELECT tid, sum(coalesce(page_records, 0)) AS records,
           count(*) FILTER (WHERE page BETWEEN 1 AND total_pages) AS pages
    FROM landed GROUP BY tid
),
short AS (
    -- tasks with fewer pages landed than expected: only they need the list of their missing pages
    SELECT s.tid, s.task_id, s.total_pages FROM scoped s LEFT JOIN records rec ON rec.tid = s.tid
    WHERE coalesce(rec.pages, 0) < s.total_pages
),
missing AS (
    SELECT e.tid, list(e.page ORDER BY e.page) AS pages
    FROM (SELECT tid, unnest(range(1, total_pages + 1))::INTEGER AS page FROM short) AS e
    ANTI JOIN landed l ON l.tid = e.tid AND l.page = e.page
    GROUP BY e.tid
),
errors AS (
    SELECT m.tid, arg_max(coalesce(r.error, 'HTTP ' || r.status_code::VARCHAR), r.id) AS last_error
    FROM psa.pncp_raw_responses r JOIN short m ON m.task_id = r.task_id
    WHERE r.response_class IN ('retryable', 'fatal')
    GROUP BY m.tid
)
UPDATE psa.pncp_extraction_tasks AS t
SET missing_pages  = to_json(coalesce(m.pages, [])),
    status         = CASE WHEN m.pages IS NULL THEN 'COMPLETE' ELSE 'PARTIAL' END,
    records_landed = coalesce(rec.records, 0),
    last_error     = CASE WHEN m.pages IS NULL THEN NULL
                          ELSE len(m.pages)::VARCHAR || ' page(s) missing; last error: ' || coalesce(er.last_error, 'none recorded') END,
    updated_at     = now()
FROM scoped s
LEFT JOIN missing m ON m.tid = s.tid
LEFT JOIN errors er ON er.tid = s.tid
LEFT JOIN records rec ON rec.tid = s.tid
WHERE t.task_id = s.task_id;
