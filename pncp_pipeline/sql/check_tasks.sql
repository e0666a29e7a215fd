-- asset checks: per month of one endpoint, tasks not COMPLETE, COMPLETE tasks whose landed records
-- differ from total_records, and pages that landed more than once as data.
SELECT t.data_date,
       count(*) FILTER (WHERE t.status <> 'COMPLETE') AS not_complete,
       count(*) FILTER (WHERE t.status = 'COMPLETE' AND coalesce(t.records_landed, 0) <> coalesce(t.total_records, 0)) AS records_mismatch,
       coalesce(sum(d.duplicate_pages), 0) AS duplicate_pages
FROM psa.pncp_extraction_tasks t
LEFT JOIN (
    SELECT task_id, count(*) AS duplicate_pages FROM (
        -- pages of an old snapshot (before the task's totals drifted) are superseded, not duplicates
        SELECT r.task_id, r.page FROM psa.pncp_raw_responses r
        JOIN psa.pncp_extraction_tasks s ON s.task_id = r.task_id
        WHERE r.endpoint_name = $endpoint AND r.response_class = 'data'
          AND r.fetched_at > coalesce(s.drifted_at, '-infinity'::TIMESTAMPTZ)
        GROUP BY ALL HAVING count(*) > 1)
    GROUP BY task_id
) d USING (task_id)
WHERE t.endpoint_name = $endpoint
GROUP BY t.data_date
ORDER BY t.data_date;
