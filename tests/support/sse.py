"""Reading a server-sent event stream (GET /events) in tests, as EventSource would."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Frame:
    id: str | None = None
    event: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    @property
    def alert(self) -> dict:
        return json.loads(self.data)


def frames(resp: httpx.Response):
    """The stream's frames as they come (a frame ends with a blank line)."""
    frame = Frame()
    for line in resp.iter_lines():
        if line == "":
            if frame.id is not None or frame.event is not None or frame.data or frame.comments:
                yield frame
            frame = Frame()
        elif line.startswith(":"):
            frame.comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                frame.id = value
            elif name == "event":
                frame.event = value
            elif name == "data":
                frame.data = frame.data + "\n" + value if frame.data else value


def alerts_until(source, done, timeout: float = 10.0) -> list[Frame]:
    """The alert frames read from `source` (a streamed response, or frames() of one to read
    from again) until done(frames so far) is true; fails after `timeout` (the server's
    keep-alives keep the reads from blocking longer than its interval)."""
    deadline = time.monotonic() + timeout
    got: list[Frame] = []
    for frame in frames(source) if isinstance(source, httpx.Response) else source:
        if frame.event == "alert":
            got.append(frame)
            if done(got):
                return got
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"stream did not deliver in {timeout}s; got {[(f.id, f.data[:80]) for f in got]}")
