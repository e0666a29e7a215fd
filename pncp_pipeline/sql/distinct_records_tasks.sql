-- reconcile (last, 1 of 2): the tasks whose distinct records need counting (those that changed
-- since they were last counted), each with the chunk it is counted in: consecutive tasks starting
-- within the same $chunk_records landed records. Counting chunk by chunk keeps the count's hash
-- table bounded (by the chunk plus its last task) however many records the scope holds.
CREATE OR REPLACE TEMP TABLE pncp_distinct_tasks AS
SELECT task_id, drifted_at,
       -- tid: a small integer per task, so the grouping of every key hashes an integer, not the task id
       row_number() OVER (ORDER BY task_id) AS tid,
       coalesce(sum(coalesce(records_landed, 0)) OVER (ORDER BY task_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                0) // $chunk_records AS chunk
FROM psa.pncp_extraction_tasks
WHERE status IN ('COMPLETE', 'PARTIAL')
  AND endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
  AND data_date BETWEEN $start AND $end
  AND (records_distinct IS NULL OR updated_at >= $since);
