-- discover (fatal): page 1 was refused as a wrong request (400/422): retrying cannot fix it.
UPDATE psa.pncp_extraction_tasks AS t
SET status = 'FAILED', last_error = f.error, updated_at = now()
FROM (
    SELECT task_id, arg_max(coalesce(error, 'HTTP ' || status_code::VARCHAR), id) AS error
    FROM psa.pncp_raw_responses
    WHERE page = 1 AND response_class = 'fatal' AND run_id = $run_id
    GROUP BY task_id
) AS f
WHERE t.task_id = f.task_id AND t.status = 'DISCOVERING';
