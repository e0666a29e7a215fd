-- discover (success): a task whose page 1 landed takes its totals from that raw row, the server's
-- own totalRegistros/totalPaginas. Derived from the raw table, so a run killed between landing page 1
-- and this statement is finished by the next run without asking for page 1 again.
UPDATE psa.pncp_extraction_tasks AS t
SET total_records  = p1.total_records,
    total_pages    = p1.total_pages,
    records_landed = p1.page_records,
    missing_pages  = to_json(CASE WHEN p1.total_pages > 1 THEN range(2, p1.total_pages + 1) ELSE [] END),
    status         = CASE WHEN p1.total_pages > 1 THEN 'FETCHING' ELSE 'COMPLETE' END,
    last_error     = NULL,
    updated_at     = now()
FROM (
    SELECT task_id,
           arg_max(coalesce(total_records, 0), id) AS total_records,
           arg_max(coalesce(total_pages, 0), id) AS total_pages,
           arg_max(coalesce(page_records, 0), id) AS page_records
    FROM psa.pncp_raw_responses
    WHERE page = 1 AND response_class IN ('data', 'empty')
    GROUP BY task_id
) AS p1
WHERE t.task_id = p1.task_id
  AND (t.status IN ('PENDING', 'DISCOVERING') OR (t.status = 'PARTIAL' AND t.total_pages IS NULL))
  AND t.endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND t.data_date BETWEEN $start AND $end;
