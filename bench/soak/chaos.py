"""The chaos thread: at a steady interval, in turn, one of
- crash-restart Postgres (pg_ctl stop -m immediate, then start: crash recovery),
- stop Postgres for 10 s, then start it,
- SIGKILL the RPC server and start it again on the same port,
- fire 200 identical copies of one request at once (a bar order, then an ATM payment).
Each event keeps its start and end; recovery is measured afterwards from the effect log."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from kioskledger.ops.local_cluster import Cluster

BURST_COPIES = 200
OUTAGE_SECONDS = 10


@dataclass
class Event:
    kind: str
    started: float
    ended: float = 0.0
    note: str = ""
    statuses: dict = field(default_factory=dict)  # bursts: final status -> copies


class Chaos(threading.Thread):
    def __init__(self, cluster: Cluster, server, bursts: dict, stop: threading.Event, every: float, rng):
        super().__init__(name="chaos", daemon=True)
        self.cluster, self.server, self.bursts = cluster, server, bursts
        self.stop_event, self.every, self.rng = stop, every, rng
        self.events: list[Event] = []
        self.error: BaseException | None = None

    def plan(self):
        burst_kinds = list(self.bursts)
        n = 0
        while True:
            yield from ("pg_restart_immediate", f"burst_{burst_kinds[n % len(burst_kinds)]}", "rpc_sigkill")
            yield from ("pg_stop_10s", f"burst_{burst_kinds[(n + 1) % len(burst_kinds)]}")
            n += 2

    def run(self) -> None:
        try:
            for kind in self.plan():
                if self.stop_event.wait(self.every):
                    return
                event = Event(kind, time.monotonic())
                self.events.append(event)
                self.act(event)
                event.ended = time.monotonic()
        except BaseException as err:  # noqa: BLE001 - reported by the main thread after the run
            self.error = err

    def act(self, event: Event) -> None:
        if event.kind == "pg_restart_immediate":
            self.cluster.restart("immediate")
        elif event.kind == "pg_stop_10s":
            self.cluster.stop("fast")
            time.sleep(OUTAGE_SECONDS)
            self.cluster.start()
        elif event.kind == "rpc_sigkill":
            self.server.kill()
            self.server.start()
        else:
            target = event.kind.removeprefix("burst_")
            answers = self.bursts[target](self.rng, BURST_COPIES)
            event.statuses = dict(Counter(str(status) for status, _ in answers))
            claimed = {_claimed_id(answer) for status, answer in answers if status == 200}
            event.note = f"{len(claimed)} distinct result(s) among the 200s"


def _claimed_id(answer) -> str:
    if isinstance(answer, dict):
        return str(answer.get("order_id") or answer.get("job_id") or answer)
    return str(answer)
