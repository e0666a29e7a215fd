-- `pncp-pipeline export` / the parquet_export asset: one table as Parquet files partitioned by month
-- (hive layout, month=YYYY-MM, from source_month), written by DuckDB itself into $path.
-- $start/$end (first days of months, inclusive) may be NULL: no bound.
COPY (
    SELECT *, strftime(source_month, '%Y-%m') AS month
    FROM {{table}}
    WHERE ($start::DATE IS NULL OR source_month >= $start::DATE)
      AND ($end::DATE IS NULL OR source_month <= $end::DATE)
    ORDER BY source_month, record_key
) TO $path (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (month));
