"""pncp-pipeline: a complete, resumable local mirror of the PNCP consultation API in DuckDB."""
