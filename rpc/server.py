"""Run the RPC app under uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from .limits import HeaderLimitProtocol


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        "rpc.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="info",
        loop="uvloop",
        http=HeaderLimitProtocol,  # httptools, with a limit on the request head
    )
