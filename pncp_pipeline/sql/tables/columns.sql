-- a typed table's columns with their types and comments (the Dagster UI's column schema).
SELECT column_name, data_type, comment FROM duckdb_columns()
WHERE schema_name = 'pncp_data' AND table_name = $table
ORDER BY column_index;
