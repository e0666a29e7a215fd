"""The engine: plan -> discover -> fetch -> reconcile, plain Python that knows nothing of Dagster.

Each phase takes a connection factory (it holds the DuckDB file for the phase only) and settings,
and is safe to run again at any time: the control table and the raw table say what is left.
"""
