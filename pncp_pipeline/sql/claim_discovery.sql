-- discover (start): PENDING tasks, tasks a dead process left DISCOVERING, PARTIAL tasks whose page 1
-- never landed, and FAILED tasks still under the attempt cap (the API also answers 422 transiently
-- when overloaded) become DISCOVERING; the rows returned are the page-1 requests to make.
-- attempts counts runs, not phases: a run that discovers and then fetches a task counts once.
UPDATE psa.pncp_extraction_tasks
SET status = 'DISCOVERING',
    attempts = coalesce(attempts, 0) + CASE WHEN last_run_id IS DISTINCT FROM $run_id THEN 1 ELSE 0 END,
    last_run_id = $run_id,
    updated_at = now()
WHERE (status IN ('PENDING', 'DISCOVERING')
       OR (status = 'PARTIAL' AND total_pages IS NULL)
       OR (status = 'FAILED' AND coalesce(attempts, 0) < $max_attempts))
  AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND data_date BETWEEN $start AND $end
RETURNING task_id, endpoint_name, data_date, modalidade;
