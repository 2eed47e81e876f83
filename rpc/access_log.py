"""The access log's writer: one JSON line per HTTP request, written to stderr in batches.

A line has the shape of every other log line (rpc.logs: ts, level, logger, pid, msg, then
the request's fields) but skips the logging module's record and handler: a LogRecord and
one write system call per line were 9 % of the server's profile samples per /rpc call. Lines wait
in memory at most FLUSH_S, like nginx's `access_log ... buffer= flush=`: a server killed
outright loses at most that much of its access log (never an answer: the database holds
what was done); a server that stops writes the rest (`flush`, at the app's shutdown and
at exit).

One write holds at most PIPE_BUF bytes of whole lines: with several workers on one pipe,
the kernel keeps a write that small in one piece, so lines never interleave.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import select
import sys
import time

import orjson

from .logs import timestamp

LOGGER = logging.getLogger("rpc.access")
FLUSH_S = 0.05
PIPE_BUF = select.PIPE_BUF


class AccessLog:
    def __init__(self) -> None:
        self._lines: list[bytes] = []
        self._size = 0
        self._flush_at: asyncio.TimerHandle | None = None

    def enabled(self) -> bool:
        return LOGGER.isEnabledFor(logging.INFO)

    def write(self, fields: dict) -> None:
        line = (
            orjson.dumps(
                {
                    "ts": timestamp(time.time()),
                    "level": "INFO",
                    "logger": LOGGER.name,
                    "pid": _pid,
                    "msg": "request",
                    **fields,
                },
                default=str,
            )
            + b"\n"
        )
        if self._size + len(line) > PIPE_BUF:
            self.flush()
        self._lines.append(line)
        self._size += len(line)
        if self._flush_at is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not in the server's loop: no timer to flush it later
                self.flush()
                return
            self._flush_at = loop.call_later(FLUSH_S, self.flush)

    def flush(self) -> None:
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        if not self._lines:
            return
        data = b"".join(self._lines)
        self._lines.clear()
        self._size = 0
        stream = sys.stderr
        stream.flush()  # what the logging module wrote before goes first
        raw = getattr(stream, "buffer", None)
        if raw is None:
            stream.write(data.decode())
            stream.flush()
        else:
            raw.write(data)
            raw.flush()


_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()
    ACCESS_LOG.__init__()  # the parent's unwritten lines are the parent's to write


ACCESS_LOG = AccessLog()
os.register_at_fork(after_in_child=_forked)
atexit.register(ACCESS_LOG.flush)
