-- reconcile (first): the endpoints in scope with data pages that have no record keys yet (rows
-- written by versions before the column); none, once fill_record_keys.sql has run for them.
SELECT DISTINCT endpoint_name FROM psa.pncp_raw_responses
WHERE response_class = 'data' AND record_keys IS NULL
  AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND data_date BETWEEN $start AND $end;
