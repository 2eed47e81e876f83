"""The self-checkout edge: a kiosk's local, offline-durable order store and its sync to
the central ledger (issue 6).

  app.py      the local HTTP API for the kiosk UI (Starlette)
  store.py    SQLite (WAL, synchronous=FULL): orders, their sync state, the cached catalog
  central.py  the central's /rpc calls over HTTP with the kiosk's token
  syncer.py   background sync, heartbeat, catalog refresh, backoff, the observed link state
  config.py   settings from the environment / command line
  testing.py  run an edge as a process and cut its link (tests, benchmarks)

Run it with `python -m dispenser.edge`.
"""

__version__ = "0.1.0"
APP_VERSION = f"checkout-edge/{__version__}"
