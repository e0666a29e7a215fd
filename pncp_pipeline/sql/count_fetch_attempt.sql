-- fetch (start): every task with pages still to fetch counts this run as an attempt (once: not again
-- if this run also discovered it), so the retry sensor's cap covers fetch passes as well.
UPDATE psa.pncp_extraction_tasks
SET attempts = coalesce(attempts, 0) + 1, last_run_id = $run_id, updated_at = now()
WHERE status IN ('FETCHING', 'PARTIAL') AND total_pages IS NOT NULL
  AND json_array_length(missing_pages) > 0
  AND last_run_id IS DISTINCT FROM $run_id
  AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND data_date BETWEEN $start AND $end;
