-- `pncp-pipeline status`: tasks by endpoint and status over the whole control table.
SELECT endpoint_name, status, count(*) AS tasks,
       sum(greatest(coalesce(total_pages, 1), 1)) AS pages_expected,
       sum(CASE WHEN total_pages IS NULL THEN 0
                ELSE greatest(total_pages, 1) - coalesce(json_array_length(missing_pages), 0) END) AS pages_landed,
       sum(coalesce(total_records, 0)) AS records_expected,
       sum(coalesce(records_landed, 0)) AS records_landed,
       sum(coalesce(records_distinct, 0)) AS records_distinct
FROM psa.pncp_extraction_tasks
GROUP BY ALL
ORDER BY ALL;
