-- rows of a table per partition month (source_month), for the given months.
SELECT source_month AS month, count(*) AS rows FROM {{table}}
WHERE source_month IN (SELECT unnest($months::DATE[]))
GROUP BY ALL ORDER BY ALL;
