"""An ATM agent's TOML config with its timers turned down: the same code paths as
production, faster. Used by the agent tests and the soak."""

from __future__ import annotations

from pathlib import Path

FAST_AGENT = {
    "fallback_claim_min": 0.5,
    "fallback_claim_max": 1.0,
    "keepalive_seconds": 2.0,
    "expire_leases_seconds": 1.0,
    "heartbeat_seconds": 0.5,
    "reconnect_min": 0.2,
    "reconnect_max": 1.0,
    "hopper_retry_seconds": 0.2,
    "connect_timeout": 3,
}
FAST_HOPPER = {"reply_timeout": 0.2, "retries": 3, "poll_interval": 0.01, "stall_seconds": 3.0}


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_toml(path: Path, data: dict) -> Path:
    lines = [f"{k} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]"] + [f"{kk} = {toml_value(vv)}" for kk, vv in v.items()]
    path.write_text("\n".join(lines) + "\n")
    return path
