"""A local replica of the PNCP consultation API: a real HTTP server with the API's contract and faults.

Tests, benchmarks and the offline demo run against it; the real API is never called from here.
"""
