-- reconcile (last, 2 of 2): distinct records landed per task of one chunk (distinct_records_tasks),
-- by the keys stored with each page. Unstable server ordering repeats and skips records at page
-- boundaries; distinct vs declared totals is how a user sees it.
WITH tasks AS MATERIALIZED (
    SELECT task_id, drifted_at, tid FROM pncp_distinct_tasks WHERE chunk = $chunk
),
counted AS (
    -- keys are counted by their 64-bit hash: half the memory of the strings and a quarter faster;
    -- two keys of one task would have to collide (for a task of 1M records, odds of 3 in 10^8).
    -- hash(NULL) is a value: records without a key are left out as count(DISTINCT key) leaves them.
    SELECT tid, count(DISTINCT hash(key)) FILTER (WHERE key IS NOT NULL) AS n FROM (
        SELECT s.tid, unnest(r.record_keys) AS key
        FROM psa.pncp_raw_responses r JOIN tasks s ON s.task_id = r.task_id
        WHERE r.response_class = 'data' AND r.fetched_at > coalesce(s.drifted_at, '-infinity'::TIMESTAMPTZ))
    GROUP BY tid
)
UPDATE psa.pncp_extraction_tasks AS t
SET records_distinct = coalesce(c.n, 0)
FROM tasks s LEFT JOIN counted c ON c.tid = s.tid
WHERE t.task_id = s.task_id;
