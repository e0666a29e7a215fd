-- reconcile (first): record keys for one endpoint's data pages that landed before raw rows carried
-- them (files written by older versions). Once per row: afterwards no row in scope matches. Keys
-- are built as endpoints.record_keys builds them: parts joined with '|', none when a part is missing.
-- $paths: the key's JSON paths; with $items_path (PCA), $plan_path is read on the plan and $paths
-- on each of its items.
UPDATE psa.pncp_raw_responses AS r
SET record_keys = CASE
    WHEN $items_path::VARCHAR IS NULL THEN
        list_transform(CAST(json_extract(r.body, '$.data') AS JSON[]), lambda rec:
            CASE WHEN list_count(json_extract_string(rec, $paths::VARCHAR[])) = len($paths::VARCHAR[])
                 THEN array_to_string(json_extract_string(rec, $paths::VARCHAR[]), '|') END)
    ELSE flatten(list_transform(CAST(json_extract(r.body, '$.data') AS JSON[]), lambda plan:
        -- items that are not a list count as none, as in Python (a cast would abort the reconcile)
        list_transform(CASE WHEN json_type(plan, $items_path::VARCHAR) = 'ARRAY'
                            THEN CAST(json_extract(plan, $items_path::VARCHAR) AS JSON[]) ELSE [] END, lambda item:
            CASE WHEN json_extract_string(plan, $plan_path::VARCHAR) IS NOT NULL
                  AND list_count(json_extract_string(item, $paths::VARCHAR[])) = len($paths::VARCHAR[])
                 THEN json_extract_string(plan, $plan_path::VARCHAR) || '|'
                      || array_to_string(json_extract_string(item, $paths::VARCHAR[]), '|') END)))
    END
WHERE r.endpoint_name = $endpoint AND r.response_class = 'data' AND r.record_keys IS NULL
  AND r.data_date BETWEEN $start AND $end;
