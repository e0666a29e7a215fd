-- reconcile (last): distinct records landed per task, by the record's own key, for one endpoint's
-- tasks that changed since they were last counted. Unstable server ordering repeats and skips
-- records at page boundaries; distinct vs declared totals is how a user sees it.
-- $paths: the key's JSON paths; with $items_path (PCA), $plan_path is read on the plan and
-- $paths on each nested item. (unnest in the select list, not a lateral FROM: the lateral form
-- made DuckDB hold gigabytes for tens of megabytes of pages.)
WITH tasks AS (
    SELECT task_id, drifted_at FROM psa.pncp_extraction_tasks
    WHERE endpoint_name = $endpoint AND status IN ('COMPLETE', 'PARTIAL')
      AND data_date BETWEEN $start AND $end
      AND (records_distinct IS NULL OR updated_at >= $since)
),
recs AS (
    SELECT r.task_id, unnest(json_extract(r.body, '$.data[*]')) AS rec
    FROM psa.pncp_raw_responses r JOIN tasks s ON s.task_id = r.task_id
    WHERE r.response_class = 'data' AND r.fetched_at > coalesce(s.drifted_at, '-infinity'::TIMESTAMPTZ)
),
items AS (
    SELECT task_id, json_extract_string(rec, $plan_path::VARCHAR) AS plan_key,
           unnest(CAST(json_extract(rec, $items_path::VARCHAR) AS JSON[])) AS item
    FROM recs WHERE $items_path::VARCHAR IS NOT NULL
),
keys AS (
    SELECT task_id, json_extract_string(rec, $paths::VARCHAR[])::VARCHAR AS key
    FROM recs WHERE $items_path::VARCHAR IS NULL
    UNION ALL
    SELECT task_id, plan_key || '|' || json_extract_string(item, $paths::VARCHAR[])::VARCHAR FROM items
)
UPDATE psa.pncp_extraction_tasks AS t
SET records_distinct = coalesce(d.n, 0)
FROM (
    SELECT s.task_id, count(DISTINCT k.key) AS n
    FROM tasks s LEFT JOIN keys k ON k.task_id = s.task_id
    GROUP BY s.task_id
) AS d
WHERE t.task_id = d.task_id;
