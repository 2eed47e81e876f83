"""One JSON object per log line, in the parent and in every uvicorn worker.

uvicorn configures logging again in each worker process from `log_config`, so the format
is handed over as that dictionary (CONFIG): a `logging.basicConfig` in the parent alone
would leave the workers with uvicorn's plain-text defaults.
"""

from __future__ import annotations

import logging
import time

import orjson

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


# The formatted second, reused for every line in that second (an access-log line per
# request would otherwise format the same date each time). One tuple, replaced whole, so a
# thread never pairs one second with another's text.
_second: tuple[int, str] = (-1, "")


def timestamp(created: float) -> str:
    """`created` (seconds since the epoch) as the lines' UTC time, to the millisecond."""
    global _second
    second = int(created)
    cached = _second
    if cached[0] != second:
        cached = _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


CONFIG: dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "rpc.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        # uvicorn's own loggers carry handlers of their own by default: send them to root.
        "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
        "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}
