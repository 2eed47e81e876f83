"""kioskledger RPC: a thin HTTP layer over the api.* functions in PostgreSQL."""
