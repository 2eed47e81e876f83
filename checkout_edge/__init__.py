"""The self-checkout edge: a kiosk's local, offline-durable order store and its sync to
the central ledger.

  app.py      the local HTTP API for the kiosk UI (Starlette)
  store.py    SQLite (WAL, synchronous=FULL): orders, their sync state, the cached catalog
  central.py  the central's /rpc calls over HTTP with the kiosk's token
  syncer.py   background sync, heartbeat, catalog refresh, backoff, the observed link state
  config.py   settings from the environment / command line

Run it with `kioskledger-edge` (or `python -m checkout_edge`).
"""

__version__ = "0.1.0"
APP_VERSION = f"checkout-edge/{__version__}"
