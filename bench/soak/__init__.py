"""Soak: minutes of mixed HTTP traffic on a durable throwaway cluster while Postgres and the
RPC server are crashed and restarted, then every acknowledged effect is reconciled against
the database. Run on demand: `python -m bench.soak [--seconds 180]` (see README)."""
