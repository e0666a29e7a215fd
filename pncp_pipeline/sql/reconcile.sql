-- reconcile: one set-based pass. For every FETCHING/PARTIAL task in scope, expected pages 1..N
-- (page 1 included, so it can never be lost) minus the pages that landed become missing_pages;
-- none missing -> COMPLETE, otherwise PARTIAL with the newest error seen for a missing page.
UPDATE psa.pncp_extraction_tasks AS t
SET missing_pages  = to_json(coalesce(m.pages, [])),
    status         = CASE WHEN m.pages IS NULL THEN 'COMPLETE' ELSE 'PARTIAL' END,
    records_landed = coalesce(rec.records, 0),
    last_error     = CASE WHEN m.pages IS NULL THEN NULL
                          ELSE len(m.pages)::VARCHAR || ' page(s) missing; last error: ' || coalesce(m.last_error, 'none recorded') END,
    updated_at     = now()
FROM (
    SELECT task_id FROM psa.pncp_extraction_tasks
    WHERE status IN ('FETCHING', 'PARTIAL') AND total_pages IS NOT NULL
      AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
      AND data_date BETWEEN $start AND $end
) AS s
LEFT JOIN (
    SELECT e.task_id, list(e.page ORDER BY e.page) AS pages,
           (SELECT arg_max(coalesce(r.error, 'HTTP ' || r.status_code::VARCHAR), r.id)
            FROM psa.pncp_raw_responses r
            WHERE r.task_id = e.task_id AND r.response_class IN ('retryable', 'fatal')) AS last_error
    FROM (
        SELECT task_id, unnest(range(1, total_pages + 1))::INTEGER AS page
        FROM psa.pncp_extraction_tasks
        WHERE status IN ('FETCHING', 'PARTIAL') AND total_pages IS NOT NULL
          AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
          AND data_date BETWEEN $start AND $end
    ) AS e
    ANTI JOIN (
        SELECT DISTINCT task_id, page FROM psa.pncp_raw_responses WHERE response_class IN ('data', 'empty')
    ) AS l ON l.task_id = e.task_id AND l.page = e.page
    GROUP BY e.task_id
) AS m ON m.task_id = s.task_id
LEFT JOIN (
    SELECT task_id, sum(page_records) AS records
    FROM (
        SELECT task_id, page, arg_max(page_records, id) AS page_records
        FROM psa.pncp_raw_responses WHERE response_class = 'data'
        GROUP BY task_id, page
    )
    GROUP BY task_id
) AS rec ON rec.task_id = s.task_id
WHERE t.task_id = s.task_id;
