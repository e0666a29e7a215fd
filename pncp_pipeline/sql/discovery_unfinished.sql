-- discover (gave up): page 1 kept failing in retryable ways. PARTIAL with no totals, never FAILED:
-- the API may recover, and the next run (or the retry sensor) discovers the task again.
UPDATE psa.pncp_extraction_tasks AS t
SET status = 'PARTIAL',
    missing_pages = '[1]',
    last_error = coalesce(
        (SELECT arg_max(coalesce(r.error, 'HTTP ' || r.status_code::VARCHAR), r.id)
         FROM psa.pncp_raw_responses r
         WHERE r.task_id = t.task_id AND r.page = 1 AND r.run_id = $run_id),
        'page 1 was not fetched'),
    updated_at = now()
WHERE t.status = 'DISCOVERING' AND t.task_id IN (SELECT unnest($task_ids::VARCHAR[]));
