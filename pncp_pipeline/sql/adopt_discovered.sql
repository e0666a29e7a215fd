-- discover (success): a task whose page 1 landed takes its totals from that raw row, the server's
-- own totalRegistros/totalPaginas, and the page size it was asked with. Derived from the raw table,
-- so a run killed between landing page 1 and this statement is finished without asking again.
-- After totals drifted, only a page 1 fetched since then counts (a new snapshot).
UPDATE psa.pncp_extraction_tasks AS t
SET total_records  = p1.total_records,
    total_pages    = p1.total_pages,
    page_size      = p1.page_size,
    records_landed = p1.page_records,
    missing_pages  = to_json(CASE WHEN p1.total_pages > 1 THEN range(2, p1.total_pages + 1) ELSE [] END),
    status         = CASE WHEN p1.total_pages > 1 THEN 'FETCHING' ELSE 'COMPLETE' END,
    last_error     = NULL,
    updated_at     = now()
FROM (
    SELECT r.task_id,
           arg_max(coalesce(r.total_records, 0), r.id) AS total_records,
           arg_max(coalesce(r.total_pages, 0), r.id) AS total_pages,
           arg_max(coalesce(r.page_records, 0), r.id) AS page_records,
           arg_max((r.request_params->>'tamanhoPagina')::INTEGER, r.id) AS page_size
    FROM psa.pncp_raw_responses r
    JOIN psa.pncp_extraction_tasks s ON s.task_id = r.task_id
    WHERE r.page = 1 AND r.response_class IN ('data', 'empty')
      AND r.fetched_at > coalesce(s.drifted_at, '-infinity'::TIMESTAMPTZ)
    GROUP BY r.task_id
) AS p1
WHERE t.task_id = p1.task_id
  AND (t.status IN ('PENDING', 'DISCOVERING') OR (t.status = 'PARTIAL' AND t.total_pages IS NULL))
  AND t.endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND t.data_date BETWEEN $start AND $end;
