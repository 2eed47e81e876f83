"""The access log's batches: whole lines, at most PIPE_BUF bytes per write, nothing kept."""

from __future__ import annotations

import asyncio
import io

import orjson

from rpc import access_log


class _Stderr(io.TextIOWrapper):
    """A text stream like sys.stderr whose binary writes are recorded one by one."""

    def __init__(self):
        self.writes: list[bytes] = []
        raw = io.BytesIO()
        raw.write = self.writes.append  # type: ignore[method-assign]
        super().__init__(raw)


def _lines(writes: list[bytes]) -> list[dict]:
    return [orjson.loads(line) for chunk in writes for line in chunk.splitlines()]


def test_lines_outside_an_event_loop_are_written_at_once(monkeypatch):
    stderr = _Stderr()
    monkeypatch.setattr("sys.stderr", stderr)
    log = access_log.AccessLog()
    log.write({"request_id": "a", "status": 200})
    (line,) = _lines(stderr.writes)
    assert line["request_id"] == "a" and line["status"] == 200
    assert line["logger"] == "rpc.access" and line["level"] == "INFO" and line["msg"] == "request"


def test_lines_in_the_loop_are_batched_in_whole_lines_of_at_most_pipe_buf(monkeypatch):
    stderr = _Stderr()
    monkeypatch.setattr("sys.stderr", stderr)
    log = access_log.AccessLog()

    async def requests():
        for i in range(100):
            log.write({"request_id": f"r-{i}", "path": "x" * 100})
        written_at_once = list(stderr.writes)
        await asyncio.sleep(access_log.FLUSH_S * 3)
        return written_at_once

    written_at_once = asyncio.run(requests())
    # Fewer writes than lines, each a run of whole lines no longer than PIPE_BUF...
    assert 1 <= len(written_at_once) < 100
    assert all(len(chunk) <= access_log.PIPE_BUF and chunk.endswith(b"\n") for chunk in stderr.writes)
    # ... and after FLUSH_S every line is out, once, in order.
    assert [line["request_id"] for line in _lines(stderr.writes)] == [f"r-{i}" for i in range(100)]
