"""kioskledger-dispenser run --config /etc/kioskledger/dispenser.toml [--dsn ...] [--hopper /dev/ttyUSB0|sim]

Other commands: `simulate` (a stand-alone simulated hopper on a pty), `hopper-status`
(identify the hopper and read its counters), `journal` (the local journal's open and
unresolved entries, with their evidence - for the technician).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading

from . import config as configmod

log = logging.getLogger("dispenser")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _load(args) -> configmod.Config:
    try:
        return configmod.load(
            args.config,
            dsn=getattr(args, "dsn", None),
            hopper_device=getattr(args, "hopper", None),
            journal=getattr(args, "journal", None),
        )
    except configmod.ConfigError as err:
        raise SystemExit(f"dispenser: {err}") from None


def _open_hopper(cfg: configmod.Config):
    """The hopper driver, and the simulator behind it when device = "sim"."""
    from .hopper import CcTalkHopper

    h = cfg.hopper
    sim = None
    device = h.device
    if device == "sim":
        from .simulator import HopperSimulator

        sim = HopperSimulator(
            state_file=cfg.sim_state_path(), coins=h.sim_coins, coin_seconds=h.sim_coin_seconds, address=h.address
        )
        device = sim.start()
        log.warning("SIMULATED hopper on %s (state %s): no real coins are paid", device, cfg.sim_state_path())
    try:
        hopper = CcTalkHopper.open(
            device,
            baudrate=h.baudrate,
            address=h.address,
            host_address=h.host_address,
            echo=h.echo,
            reply_timeout=h.reply_timeout,
            retries=h.retries,
            poll_interval=h.poll_interval,
            stall_seconds=h.stall_seconds,
        )
    except Exception:
        if sim:
            sim.close()
        raise
    return hopper, sim


def cmd_run(args) -> int:
    from .agent import Agent
    from .hopper import HopperError
    from .journal import Journal, JournalLocked

    cfg = _load(args)
    try:
        journal = Journal(cfg.journal_path())
    except JournalLocked as err:
        log.error("%s", err)
        return 1
    try:
        hopper, sim = _open_hopper(cfg)
    except Exception as err:  # noqa: BLE001 - a missing device: exit, systemd restarts us
        log.error("cannot open hopper %s: %s", cfg.hopper.device, err)
        journal.close()
        return 1
    try:
        try:
            ident = hopper.identify()
            log.info("hopper: %s %s, serial %s", ident.category, ident.product, ident.serial_number)
        except HopperError as err:
            log.warning("hopper does not identify yet (%s); will keep trying", err)
        agent = Agent.from_config(cfg, hopper, journal)
        signal.signal(signal.SIGTERM, lambda *_: agent.stop())
        signal.signal(signal.SIGINT, lambda *_: agent.stop())
        agent.run()
    finally:
        hopper.close()
        if sim:
            sim.close()
        journal.close()
    return 0


def cmd_simulate(args) -> int:
    from .simulator import HopperSimulator

    sim = HopperSimulator(state_file=args.state, coins=args.coins, coin_seconds=args.coin_seconds, echo=args.echo)
    path = sim.start()
    print(path, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    sim.close()
    return 0


def cmd_hopper_status(args) -> int:
    cfg = _load(args)
    hopper, sim = _open_hopper(cfg)
    try:
        ident = hopper.identify()
        print(
            json.dumps(
                {
                    "identity": dataclasses.asdict(ident),
                    "status": hopper.status().as_dict(),
                    "register": hopper.test().hex(),
                }
            )
        )
    finally:
        hopper.close()
        if sim:
            sim.close()
    return 0


def cmd_journal(args) -> int:
    from .journal import Journal

    cfg = _load(args)
    journal = Journal(cfg.journal_path())
    try:
        states = (
            ("in_flight", "result", "unknown", "rejected")
            if not args.all
            else ("in_flight", "result", "unknown", "rejected", "delivered")
        )
        for a in journal.in_state(*states):
            print(json.dumps(dataclasses.asdict(a), sort_keys=True))
    finally:
        journal.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="kioskledger-dispenser", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the agent")
    p.add_argument("--config", required=True, help="the TOML file written by `kioskledger kiosk-provision`")
    p.add_argument("--dsn", help="override the config's Postgres connection (the kiosk's own login)")
    p.add_argument("--hopper", help="override [hopper] device: a serial device, or `sim`")
    p.add_argument("--journal", help="override [agent] journal path")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("simulate", help="a simulated ccTalk hopper on a pty; prints its device path")
    p.add_argument("--state", help="state file (counters survive restarts)")
    p.add_argument("--coins", type=int, default=2000)
    p.add_argument("--coin-seconds", type=float, default=0.15)
    p.add_argument("--echo", action="store_true", help="echo the host's bytes (single-wire bus)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("hopper-status", help="identify the hopper and print its counters")
    p.add_argument("--config", required=True)
    p.add_argument("--hopper")
    p.set_defaults(func=cmd_hopper_status)

    p = sub.add_parser("journal", help="print the journal's open and unresolved entries")
    p.add_argument("--config", required=True)
    p.add_argument("--journal")
    p.add_argument("--all", action="store_true", help="delivered entries too")
    p.set_defaults(func=cmd_journal)

    args = parser.parse_args(argv)
    _setup_logging(args.log_level)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
