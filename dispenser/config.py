"""The agent's configuration: the TOML file `kioskledger kiosk-provision` writes, plus
optional tuning tables. Unknown keys are errors (a typo must not silently fall back to a
default on a machine that pays out money).

    kiosk_id = "lobby_1"
    dsn = "postgresql://kiosk_lobby_1:...@db.example:5432/kioskledger"
    api_url = "..."              # used by the kiosk app, not by this agent
    token = "..."                # idem

    [hopper]
    device = "/dev/ttyUSB0"      # or "sim"
    address = 3

    [agent]                      # all optional
    journal = "/var/lib/kioskledger/dispenser-journal.sqlite3"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class HopperConfig:
    device: str = "sim"  # serial device, or "sim" for the built-in simulator
    address: int = 3
    host_address: int = 1
    baudrate: int = 9600
    echo: bool | str = "auto"  # single-wire bus echo: true, false or "auto"
    reply_timeout: float = 0.25  # seconds for one ccTalk reply
    retries: int = 3
    poll_interval: float = 0.1  # status polls while paying out
    stall_seconds: float = 10.0  # no coin for this long: emergency stop
    # device = "sim" only:
    sim_state_file: str = ""  # default: next to the journal
    sim_coins: int = 2000
    sim_coin_seconds: float = 0.15


@dataclass(frozen=True)
class AgentConfig:
    journal: str = ""  # default: $STATE_DIRECTORY or /var/lib/kioskledger
    fallback_claim_min: float = 5.0  # NOTIFY is a hint: claim anyway every 5-10 s
    fallback_claim_max: float = 10.0
    keepalive_seconds: float = 15.0  # SELECT 1 on the LISTEN connection
    expire_leases_seconds: float = 15.0
    heartbeat_seconds: float = 5.0  # dispense_progress while paying (lease: 30 s)
    reconnect_min: float = 1.0  # backoff 1 s doubling to 30 s, with jitter
    reconnect_max: float = 30.0
    hopper_retry_seconds: float = 2.0  # how often to retry a silent hopper
    hopper_wait_seconds: float = 10.0  # a claimed job waits this long for a silent hopper (lease: 30 s)
    connect_timeout: int = 5
    statement_timeout_ms: int = 10_000


@dataclass(frozen=True)
class Config:
    kiosk_id: str
    dsn: str
    api_url: str = ""
    token: str = ""
    hopper: HopperConfig = field(default_factory=HopperConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)

    def journal_path(self) -> Path:
        if self.agent.journal:
            return Path(self.agent.journal)
        base = os.environ.get("STATE_DIRECTORY", "/var/lib/kioskledger").split(":")[0]
        return Path(base) / f"dispenser-journal-{self.kiosk_id}.sqlite3"

    def sim_state_path(self) -> Path:
        if self.hopper.sim_state_file:
            return Path(self.hopper.sim_state_file)
        return self.journal_path().with_name(f"hopper-sim-{self.kiosk_id}.json")


def _section(cls, raw: dict, where: str):
    known = {f.name: f for f in fields(cls)}
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")
    values = {}
    for name, value in raw.items():
        default = known[name].default
        if isinstance(default, bool) or name == "echo":
            ok = isinstance(value, bool) or (name == "echo" and value == "auto")
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ConfigError(f"{where}.{name}: unexpected value {value!r}")
        values[name] = value
    return cls(**values)


def parse(raw: dict) -> Config:
    raw = dict(raw)
    hopper = _section(HopperConfig, raw.pop("hopper", {}), "[hopper]")
    agent = _section(AgentConfig, raw.pop("agent", {}), "[agent]")
    for key in ("kiosk_id", "dsn"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ConfigError(f"{key} is required")
    unknown = set(raw) - {"kiosk_id", "dsn", "api_url", "token"}
    if unknown:
        raise ConfigError(f"unknown key(s): {', '.join(sorted(unknown))}")
    if not 0 < agent.fallback_claim_min <= agent.fallback_claim_max:
        raise ConfigError("[agent] fallback_claim_min must be > 0 and <= fallback_claim_max")
    if not 0 < agent.reconnect_min <= agent.reconnect_max:
        raise ConfigError("[agent] reconnect_min must be > 0 and <= reconnect_max")
    return Config(hopper=hopper, agent=agent, **raw)


def load(
    path: str | Path, *, dsn: str | None = None, hopper_device: str | None = None, journal: str | None = None
) -> Config:
    """Read the file; command-line flags override it."""
    try:
        with open(path, "rb") as f:
            cfg = parse(tomllib.load(f))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: {err}") from err
    if dsn:
        cfg = replace(cfg, dsn=dsn)
    if hopper_device:
        cfg = replace(cfg, hopper=replace(cfg.hopper, device=hopper_device))
    if journal:
        cfg = replace(cfg, agent=replace(cfg.agent, journal=journal))
    return cfg
