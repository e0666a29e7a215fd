-- fetch (start): every task with pages still to fetch counts one more attempt, so the retry sensor's
-- cap covers fetch passes as well as discoveries.
UPDATE psa.pncp_extraction_tasks
SET attempts = coalesce(attempts, 0) + 1, updated_at = now()
WHERE status IN ('FETCHING', 'PARTIAL') AND total_pages IS NOT NULL
  AND json_array_length(missing_pages) > 0
  AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND data_date BETWEEN $start AND $end;
