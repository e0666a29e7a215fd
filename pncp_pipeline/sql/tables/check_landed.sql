-- asset checks: per endpoint and month of the table's sources, the records of the landed *data*
-- pages (current snapshot), keyed by the registry's record_key paths exactly as distinct_records.sql
-- reads them; how many of those keys the table lacks; and the control table's figures beside them.
-- `occurrences - distinct_records` are records the API served twice (unstable ordering moves a record
-- across a page boundary, so it repeats and another is skipped): they explain declared - distinct.
-- A page that landed twice counts once (its latest copy), as reconcile.sql counts records_landed.
WITH pages AS (
    SELECT r.endpoint_name, r.data_date, r.body
    FROM psa.pncp_raw_responses r
    JOIN psa.pncp_extraction_tasks t ON t.task_id = r.task_id
    WHERE r.response_class = 'data'
      AND r.endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
      AND r.data_date IN (SELECT unnest($months::DATE[]))
      AND r.fetched_at > coalesce(t.drifted_at, '-infinity'::TIMESTAMPTZ)
    QUALIFY row_number() OVER (PARTITION BY r.task_id, r.page ORDER BY r.id DESC) = 1
),
recs AS (
    SELECT endpoint_name, data_date, unnest(CAST(json_extract(body, '$.data') AS JSON[])) AS rec FROM pages
),
parts AS (
    SELECT endpoint_name, data_date, json_extract_string(rec, $paths::VARCHAR[]) AS parts
    FROM recs WHERE $items_path::VARCHAR IS NULL
    UNION ALL
    SELECT endpoint_name, data_date,
           list_prepend(json_extract_string(rec, $plan_path::VARCHAR), json_extract_string(i.item, $paths::VARCHAR[]))
    FROM recs, unnest(CASE WHEN json_type(rec, $items_path::VARCHAR) = 'ARRAY'
                           THEN CAST(json_extract(rec, $items_path::VARCHAR) AS JSON[]) ELSE [] END) AS i(item)
    WHERE $items_path::VARCHAR IS NOT NULL
),
keys AS (
    SELECT endpoint_name, data_date,
           CASE WHEN list_count(parts) = len(parts) THEN array_to_string(parts, '|') END AS record_key
    FROM parts
),
landed AS (
    SELECT k.endpoint_name, k.data_date,
           count(*) AS occurrences,
           count(DISTINCT k.record_key) AS distinct_records,
           count(*) FILTER (WHERE k.record_key IS NULL) AS unkeyed,
           count(DISTINCT k.record_key) FILTER (WHERE f.record_key IS NULL) AS missing
    FROM keys k
    LEFT JOIN (SELECT DISTINCT record_key FROM {{table}}) AS f ON f.record_key = k.record_key
    GROUP BY ALL
),
control AS (
    SELECT endpoint_name, data_date, count(*) AS tasks,
           count(*) FILTER (WHERE status = 'COMPLETE') AS complete,
           sum(total_records) AS declared
    FROM psa.pncp_extraction_tasks
    WHERE endpoint_name IN (SELECT unnest($endpoints::VARCHAR[]))
      AND data_date IN (SELECT unnest($months::DATE[]))
    GROUP BY ALL
)
SELECT coalesce(c.endpoint_name, l.endpoint_name) AS endpoint, coalesce(c.data_date, l.data_date) AS month,
       coalesce(c.tasks, 0) AS tasks, coalesce(c.complete, 0) AS complete, coalesce(c.declared, 0) AS declared,
       coalesce(l.occurrences, 0) AS occurrences, coalesce(l.distinct_records, 0) AS distinct_records,
       coalesce(l.unkeyed, 0) AS unkeyed, coalesce(l.missing, 0) AS missing
FROM control c
FULL OUTER JOIN landed l ON l.endpoint_name = c.endpoint_name AND l.data_date = c.data_date
ORDER BY endpoint, month;
