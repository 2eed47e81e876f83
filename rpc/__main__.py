"""python -m rpc [--host --port --workers]: serve the HTTP API (settings from the environment,
see rpc/config.py). `kioskledger serve` does the same after loading the local set-up."""

from __future__ import annotations

import argparse
import os
import sys

from .server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rpc", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("RPC_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("RPC_PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("RPC_WORKERS", "1")))
    args = parser.parse_args(argv)
    serve(host=args.host, port=args.port, workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
