"""kioskledger-edge - serve the self-checkout edge for one kiosk.

Settings come from the environment (see checkout_edge/config.py: EDGE_CENTRAL_URL,
EDGE_TOKEN, EDGE_DB, EDGE_PORT, ...); the options below override them.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .config import ConfigError, from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kioskledger-edge", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--central", dest="central_url", help="central RPC base URL (EDGE_CENTRAL_URL)")
    parser.add_argument("--token", help="kiosk bearer token (EDGE_TOKEN)")
    parser.add_argument("--kiosk-id", help="default: the token's kiosk_id claim (EDGE_KIOSK_ID)")
    parser.add_argument("--db", dest="db_path", help="SQLite file (EDGE_DB)")
    parser.add_argument("--host", help="listen address (EDGE_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (EDGE_PORT, default 8700)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = from_env(
            central_url=args.central_url,
            token=args.token,
            kiosk_id=args.kiosk_id,
            db_path=args.db_path,
            host=args.host,
            port=args.port,
        )
    except ConfigError as err:
        print(f"edge: {err}", file=sys.stderr)
        return 2

    import uvicorn

    from .app import create_app

    logging.getLogger("checkout_edge").info(
        "kiosk %s: edge on http://%s:%s, central %s, store %s",
        cfg.kiosk_id,
        cfg.host,
        cfg.port,
        cfg.central_url,
        cfg.db_path,
    )
    uvicorn.run(
        create_app(cfg), host=cfg.host, port=cfg.port, log_level=args.log_level.lower(), access_log=False, lifespan="on"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
