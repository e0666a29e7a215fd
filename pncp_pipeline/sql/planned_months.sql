-- How many (endpoint, month) pairs of the scope already have tasks: all of them means nothing to plan.
SELECT count(DISTINCT (endpoint_name, data_date))
FROM psa.pncp_extraction_tasks
WHERE endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND data_date BETWEEN $start AND $end;
