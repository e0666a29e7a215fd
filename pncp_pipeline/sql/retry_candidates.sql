-- retry sensor: endpoint-months holding FAILED or PARTIAL tasks, with what a retry would be.
-- due: under the attempt cap and past the backoff (base * 2^(attempts-1), capped) since the last change.
SELECT endpoint_name, data_date,
       max(coalesce(attempts, 0)) AS attempts,
       count(*) FILTER (WHERE status = 'FAILED') AS failed,
       count(*) FILTER (WHERE status = 'PARTIAL') AS partial,
       bool_and(coalesce(attempts, 0) >= $max_attempts) AS exhausted,
       bool_or(coalesce(attempts, 0) < $max_attempts AND updated_at <= now() - to_seconds(
           least($cap_s, $base_s * pow(2, greatest(coalesce(attempts, 0) - 1, 0)))::DOUBLE)) AS due,
       arg_max(last_error, updated_at) AS last_error
FROM psa.pncp_extraction_tasks
WHERE status IN ('FAILED', 'PARTIAL')
GROUP BY ALL
ORDER BY endpoint_name, data_date;
