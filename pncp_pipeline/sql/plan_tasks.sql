-- plan: one task per endpoint x month (x modality where the endpoint fans out); idempotent.
INSERT INTO psa.pncp_extraction_tasks (task_id, endpoint_name, data_date, modalidade, status, created_at, updated_at)
SELECT
    e.name || '_' || strftime(m.month, '%Y-%m-%d') || coalesce('_' || md.code::VARCHAR, ''),
    e.name, m.month, md.code, 'PENDING', now(), now()
FROM (
    SELECT unnest($names::VARCHAR[]) AS name,
           unnest($per_modality::BOOLEAN[]) AS per_modality,
           unnest($first_months::DATE[]) AS first_month
) e
CROSS JOIN (
    SELECT unnest(generate_series($start::DATE, $end::DATE, INTERVAL 1 MONTH))::DATE AS month
) m
LEFT JOIN (SELECT unnest($modalities::INTEGER[]) AS code) md ON e.per_modality
WHERE m.month >= e.first_month
ON CONFLICT DO NOTHING;
