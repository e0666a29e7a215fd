-- writer: one batch of responses in one statement (parallel unnest of column lists), one commit.
INSERT INTO psa.pncp_raw_responses (
    task_id, endpoint_name, data_date, modalidade, page, request_url, request_params, status_code,
    response_class, body, headers, body_sha256, total_records, total_pages, page_records, record_keys, error,
    attempt, run_id, elapsed_ms, fetched_at)
SELECT
    unnest($task_id::VARCHAR[]), unnest($endpoint_name::VARCHAR[]), unnest($data_date::DATE[]),
    unnest($modalidade::INTEGER[]), unnest($page::INTEGER[]), unnest($request_url::VARCHAR[]),
    unnest($request_params::VARCHAR[])::JSON, unnest($status_code::INTEGER[]),
    unnest($response_class::VARCHAR[]), unnest($body::VARCHAR[]), unnest($headers::VARCHAR[])::JSON,
    unnest($body_sha256::VARCHAR[]), unnest($total_records::BIGINT[]), unnest($total_pages::INTEGER[]),
    unnest($page_records::INTEGER[]), unnest($record_keys::VARCHAR[][]), unnest($error::VARCHAR[]),
    unnest($attempt::INTEGER[]), unnest($run_id::VARCHAR[]), unnest($elapsed_ms::DOUBLE[]), unnest($fetched_at::TIMESTAMPTZ[]);
