"""kioskledger dex-import: bulk-ingest DEX audit files through api.dex_ingest.

    kioskledger dex-import --machine SERIAL FILE...
    kioskledger dex-import --map mapping.csv DIR

mapping.csv has a header row `file,case_serial`; `file` is a name inside DIR or a glob
pattern (`ams_*.txt`). Files of one machine are ingested in the CSV's order, a pattern's
matches in name order, and files given with --machine in the order given (a shell glob
lists them in name order), so name files to sort by time (sales are deltas between reads).

All parsing happens in SQL (api.dex_ingest), exactly as over HTTP: this module only reads
files, calls the function once per file in its own transaction, and reports. A bad file
(unreadable, unknown machine, rejected content) is reported and the rest go on. The
request_id is derived from the machine and the file's hash, so re-running an import
replays the stored answers instead of ingesting twice.

Acts as `admin` by default, or as an operator of one company (--role operator --company X),
over the owner connection (DATABASE_URL) with the same role and claims settings the RPC uses.
Exit status: 0 when every file was ok, a warning or a duplicate; 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kioskledger.protocol import SET_REQUEST, claims_json, refusal

# One round trip per file, as the RPC sends a request (rpc/database.py): the request
# settings and the call in one query string, bound client-side, run by the server as one
# implicit transaction on an autocommit connection (an error rolls back both). Five round
# trips (BEGIN, settings, call, reset, COMMIT) left the server idle a fifth of the time.
INGEST = SET_REQUEST + "; SELECT api.dex_ingest(%s, %s, %s, %s), current_setting('response.replayed', true)"

CATEGORIES = ("ok", "warnings", "duplicate", "rejected", "error")


@dataclass
class Outcome:
    path: Path
    case_serial: str | None
    category: str
    detail: str = ""
    capture_id: int | None = None
    warnings: list[str] = field(default_factory=list)


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Arguments of the dex-import subcommand (registered in kioskledger/ops/cli.py)."""
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--machine", metavar="SERIAL", help="case serial that all FILEs belong to")
    target.add_argument("--map", metavar="CSV", type=Path, help="mapping file,case_serial for the files in DIR")
    p.add_argument(
        "paths", nargs="+", metavar="FILE|DIR", type=Path, help="files (with --machine) or one directory (with --map)"
    )
    p.add_argument("--role", choices=["admin", "operator"], default="admin")
    p.add_argument("--company", help="company_id claim (required with --role operator)")
    p.add_argument("--source", default="dex-import", help="recorded as the captures' source")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="N connections at once (a machine's files stay on one, in order)",
    )
    p.set_defaults(func=main)


def plan_jobs(args) -> tuple[list[tuple[Path, str]], list[Outcome]]:
    """(path, case_serial) pairs to ingest, and the problems found before any ingest."""
    if args.machine:
        return [(p, args.machine) for p in args.paths], []
    if len(args.paths) != 1 or not args.paths[0].is_dir():
        raise SystemExit("--map takes exactly one directory")
    directory = args.paths[0]
    jobs: list[tuple[Path, str]] = []
    problems: list[Outcome] = []
    with args.map.open(newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"file", "case_serial"} <= set(reader.fieldnames):
            raise SystemExit(f"{args.map}: the header must name the columns file and case_serial")
        for row in reader:
            pattern, serial = (row["file"] or "").strip(), (row["case_serial"] or "").strip()
            if not pattern or not serial:
                continue
            matches = sorted(p for p in directory.glob(pattern) if p.is_file())
            if not matches:
                problems.append(Outcome(directory / pattern, serial, "error", "no file matches this mapping row"))
            jobs += [(p, serial) for p in matches]
    mapped = {p.resolve() for p, _ in jobs}
    problems += [
        Outcome(p, None, "error", "not in the mapping file: skipped")
        for p in sorted(directory.iterdir())
        if p.is_file() and p.resolve() not in mapped and p.resolve() != args.map.resolve()
    ]
    return jobs, problems


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data:
        raise ValueError("contains NUL bytes: not a DEX text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # DEX is ASCII; a stray 8-bit byte is kept (and will likely show as a CRC mismatch).
        return data.decode("latin-1")


def _classify(result: dict) -> tuple[str, str]:
    status = result.get("status")
    if status == "accepted":
        return ("warnings", result["warnings"][0]) if result.get("warnings") else ("ok", "")
    if status == "duplicate":
        return "duplicate", f"same file as capture {result.get('capture_id')}"
    return "rejected", result.get("reject_reason") or "rejected"


def ingest_one(conn, path: Path, serial: str, role: str, claims: dict, source: str) -> Outcome:
    """Ingest one file on `conn`, an autocommit connection."""
    import psycopg

    try:
        raw = _read_text(path)
    except (OSError, ValueError) as err:
        return Outcome(path, serial, "error", str(err))
    request_id = f"dex-import:{serial}:{hashlib.sha256(raw.encode()).hexdigest()}"
    try:
        with psycopg.ClientCursor(conn) as cur:
            cur.execute(INGEST, (role, claims_json(role, claims), serial, raw, source, request_id))
            cur.nextset()
            result, replayed = cur.fetchone()
    except psycopg.Error as err:
        # Show the api's refusal ("CODE: message"), not a traceback.
        return Outcome(path, serial, "error", str(refusal(err) or err).strip())
    if replayed == "true":
        # Imported before (same machine, same bytes): the stored answer came back.
        return Outcome(
            path,
            serial,
            "duplicate",
            f"already imported as capture {result.get('capture_id')}",
            result.get("capture_id"),
        )
    category, detail = _classify(result)
    return Outcome(path, serial, category, detail, result.get("capture_id"), result.get("warnings") or [])


def _progress(done: int, total: int, name: str) -> None:
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name[:40]:<40}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def report(outcomes: list[Outcome], out=sys.stdout) -> None:
    counts = {c: sum(1 for o in outcomes if o.category == c) for c in CATEGORIES}
    print(f"\n{'result':<10} {'files':>6}", file=out)
    for c in CATEGORIES:
        print(f"{c:<10} {counts[c]:>6}", file=out)
    print(f"{'total':<10} {len(outcomes):>6}", file=out)
    notable = [o for o in outcomes if o.category != "ok"]
    if notable:
        print(f"\n{'result':<10} {'capture':>8}  {'machine':<20} {'file':<32} detail", file=out)
        for o in notable:
            print(
                f"{o.category:<10} {o.capture_id or '':>8}  {o.case_serial or '-':<20} {o.path.name:<32} {o.detail}",
                file=out,
            )


def ingest_all(url: str, jobs: list[tuple[Path, str]], n: int, role: str, claims: dict, source: str) -> list[Outcome]:
    """Ingest every (file, serial) on n connections, outcomes in the order of `jobs`. A
    machine's files all go to one connection, in the given order: its reads are booked in
    sequence (ingesting them side by side would make the later ones wait on the machine's
    lock anyway, and could book a newer read before an older one)."""
    import threading

    import psycopg

    lanes: list[list[int]] = [[] for _ in range(max(1, min(n, len(jobs))))]
    lane_of: dict[str, int] = {}
    for i, (_path, serial) in enumerate(jobs):
        lane = lane_of.setdefault(serial, min(range(len(lanes)), key=lambda k: len(lanes[k])))
        lanes[lane].append(i)
    results: list[Outcome | None] = [None] * len(jobs)
    done = itertools.count(1)
    lock = threading.Lock()

    def work(indexes: list[int]) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for i in indexes:
                path, serial = jobs[i]
                results[i] = ingest_one(conn, path, serial, role, claims, source)
                with lock:
                    _progress(next(done), len(jobs), path.name)

    threads = [threading.Thread(target=work, args=(lane,)) for lane in lanes if lane]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [
        o if o is not None else Outcome(jobs[i][0], jobs[i][1], "error", "not ingested") for i, o in enumerate(results)
    ]


def main(args) -> int:
    from .env import apply_local_defaults

    if args.role == "operator" and not args.company:
        raise SystemExit("--role operator needs --company (the operator's company_id claim)")
    claims = {"sub": "dex-import", "role": args.role}
    if args.company:
        claims["company_id"] = args.company
    jobs, outcomes = plan_jobs(args)
    apply_local_defaults()
    if args.jobs < 1:
        raise SystemExit("--jobs must be at least 1")
    outcomes += ingest_all(os.environ["DATABASE_URL"], jobs, args.jobs, args.role, claims, args.source)
    report(outcomes)
    return 0 if all(o.category in ("ok", "warnings", "duplicate") for o in outcomes) else 1
