-- refresh: the pass's own temp tables (connection-scoped scratch, never a user's table).
DROP TABLE IF EXISTS temp._pncp_staged;
DROP TABLE IF EXISTS temp._pncp_touched;
DROP TABLE IF EXISTS temp._pncp_winners;
