-- writer: one batch of responses in one statement (parallel unnest of column lists), one commit.
-- Bodies arrive as UTF-8 bytes: DuckDB decodes and hashes them, outside Python's GIL.
INSERT INTO psa.pncp_raw_responses (
    task_id, endpoint_name, data_date, modalidade, page, request_url, request_params, status_code,
    response_class, body, headers, body_sha256, total_records, total_pages, page_records, record_keys, error,
    attempt, run_id, elapsed_ms, fetched_at)
SELECT task_id, endpoint_name, data_date, modalidade, page, request_url, request_params::JSON, status_code,
       response_class, decode(body) AS body, headers::JSON, sha256(body), total_records, total_pages, page_records,
       record_keys, error, attempt, run_id, elapsed_ms, fetched_at
FROM (SELECT
    unnest($task_id::VARCHAR[]) AS task_id, unnest($endpoint_name::VARCHAR[]) AS endpoint_name,
    unnest($data_date::DATE[]) AS data_date, unnest($modalidade::INTEGER[]) AS modalidade,
    unnest($page::INTEGER[]) AS page, unnest($request_url::VARCHAR[]) AS request_url,
    unnest($request_params::VARCHAR[]) AS request_params, unnest($status_code::INTEGER[]) AS status_code,
    unnest($response_class::VARCHAR[]) AS response_class, unnest($body::BLOB[]) AS body,
    unnest($headers::VARCHAR[]) AS headers, unnest($total_records::BIGINT[]) AS total_records,
    unnest($total_pages::INTEGER[]) AS total_pages, unnest($page_records::INTEGER[]) AS page_records,
    unnest($record_keys::VARCHAR[][]) AS record_keys, unnest($error::VARCHAR[]) AS error,
    unnest($attempt::INTEGER[]) AS attempt, unnest($run_id::VARCHAR[]) AS run_id,
    unnest($elapsed_ms::DOUBLE[]) AS elapsed_ms, unnest($fetched_at::TIMESTAMPTZ[]) AS fetched_at);
