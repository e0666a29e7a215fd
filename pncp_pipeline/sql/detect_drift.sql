-- reconcile (first): a task whose pages report totals other than the ones it was discovered with,
-- or a page past the end (400), is looking at a changed result set. Its totals are dropped so it is
-- discovered again and every page is fetched from the new snapshot, never mixing two.
UPDATE psa.pncp_extraction_tasks AS t
SET status        = 'PARTIAL',
    last_error    = 'totals changed since discovery (' || t.total_records::VARCHAR || ' -> '
                    || coalesce(d.now_total::VARCHAR, 'fewer pages') || ' records); re-discovering',
    total_pages   = NULL,
    total_records = NULL,
    missing_pages = '[1]',
    drifted_at    = now(),
    drift_count   = coalesce(t.drift_count, 0) + 1,
    updated_at    = now()
FROM (
    SELECT r.task_id, arg_max(r.total_records, r.id) FILTER (WHERE r.response_class = 'data') AS now_total
    FROM psa.pncp_raw_responses r
    JOIN psa.pncp_extraction_tasks s ON s.task_id = r.task_id
    WHERE s.status IN ('FETCHING', 'PARTIAL') AND s.total_pages IS NOT NULL
      AND s.endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
      AND s.data_date BETWEEN $start AND $end
      AND r.fetched_at > coalesce(s.drifted_at, '-infinity'::TIMESTAMPTZ)
      AND ((r.response_class = 'data' AND (r.total_records <> s.total_records OR r.total_pages <> s.total_pages))
           OR (r.response_class = 'retryable' AND r.status_code = 400 AND r.page > 1))
    GROUP BY r.task_id
) AS d
WHERE t.task_id = d.task_id;
