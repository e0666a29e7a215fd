-- discover (start): PENDING tasks, tasks a dead process left DISCOVERING, PARTIAL tasks whose page 1
-- never landed, and FAILED tasks still under the attempt cap (the API also answers 422 transiently
-- when overloaded) become DISCOVERING; the rows returned are the page-1 requests to make.
UPDATE psa.pncp_extraction_tasks
SET status = 'DISCOVERING', attempts = coalesce(attempts, 0) + 1, updated_at = now()
WHERE (status IN ('PENDING', 'DISCOVERING')
       OR (status = 'PARTIAL' AND total_pages IS NULL)
       OR (status = 'FAILED' AND coalesce(attempts, 0) < $max_attempts))
  AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND data_date BETWEEN $start AND $end
RETURNING task_id, endpoint_name, data_date, modalidade;
