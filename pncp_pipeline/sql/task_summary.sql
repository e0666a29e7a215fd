-- status/metadata: tasks by endpoint, month and status, with pages and records landed vs expected.
SELECT endpoint_name, data_date, status,
       count(*) AS tasks,
       sum(coalesce(total_pages, 0)) AS pages_expected,
       sum(CASE WHEN total_pages IS NULL THEN 0
                ELSE total_pages - coalesce(json_array_length(missing_pages), 0) END) AS pages_landed,
       sum(coalesce(total_records, 0)) AS records_expected,
       sum(coalesce(records_landed, 0)) AS records_landed
FROM psa.pncp_extraction_tasks
WHERE endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND data_date BETWEEN $start AND $end
GROUP BY ALL
ORDER BY endpoint_name, data_date, status;
