-- status/metadata: tasks by endpoint, month and status, with pages and records landed vs expected.
SELECT endpoint_name, data_date, status,
       count(*) AS tasks,
       -- a task counts at least its page 1, even when that is the empty answer or never came
       sum(greatest(coalesce(total_pages, 1), 1)) AS pages_expected,
       sum(CASE WHEN total_pages IS NULL THEN 0
                ELSE greatest(total_pages, 1) - coalesce(json_array_length(missing_pages), 0) END) AS pages_landed,
       sum(coalesce(total_records, 0)) AS records_expected,
       sum(coalesce(records_landed, 0)) AS records_landed,
       sum(coalesce(records_distinct, 0)) AS records_distinct
FROM psa.pncp_extraction_tasks
WHERE endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND data_date BETWEEN $start AND $end
GROUP BY ALL
ORDER BY endpoint_name, data_date, status;
