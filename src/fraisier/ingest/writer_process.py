"""Webhook writes in a process of their own, fed from the event loop (`fraisier serve`).

Recording a webhook is database work, and the drivers (and hashlib, for large bodies) give up
the GIL around each call and must take it back afterwards. With a writer thread in the
process that runs the HTTP event loop, every take-back waits for the other thread to let go,
in both directions, and under load both threads spend much of their time waiting. Here the
writer is a child process with its own interpreter, and the server side has no thread at all:
the event loop writes batches of prepared records to the child's stdin and reads the answers
from its stdout. At most two batches are unanswered at a time, so the child always has the
next one ready and whatever arrives meanwhile forms the batch after it (group commit). A request is answered only when the child reports that the transaction
holding its rows has committed.

Messages both ways are length-prefixed pickles: a list of WebhookRecord, answered by a list
of (id, deployment ids, duplicate) or a StoreError per record. If the child dies, the
requests it had not confirmed fail with StoreUnavailable (the sender gets a 503 and retries)
and the next batch starts a new child.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import struct
import sys
from collections import deque
from collections.abc import Callable
from typing import Any

from fraisier.store import StoreError, StoreUnavailable
from fraisier.store.intake import WebhookRecord

log = logging.getLogger("fraisier.ingest")

MAX_BATCH = 256
IN_FLIGHT = 2  # batches sent and not yet answered: the child always has the next one ready
_HEADER = struct.Struct("!I")

Answer = Callable[[list], list]  # written receipts -> their results


class WriterProcess:
    """The server's side. Use from the event loop's thread only."""

    def __init__(self, url: str, duplicate_window: float, answer: Answer,
                 max_batch: int = MAX_BATCH):
        self.url = url
        self.duplicate_window = duplicate_window
        self.answer = answer
        self.max_batch = max_batch
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._in_flight: deque[list[tuple[Any, asyncio.Future]]] = deque()
        self._child: asyncio.subprocess.Process | None = None
        self._starting = False
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, receipt: Any) -> asyncio.Future:
        """The result of writing `receipt` (it has a `.record`), once committed."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((receipt, future))
        self._idle.clear()
        self._send()
        return future

    async def close(self) -> None:
        """Wait for everything submitted to be written, then stop the child."""
        await self._idle.wait()
        child, self._child = self._child, None
        if child is not None and child.returncode is None:
            assert child.stdin is not None
            child.stdin.close()  # end of input: the child finishes and exits
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()
                await child.wait()

    def _send(self) -> None:
        """Send what is pending, as batches, while fewer than IN_FLIGHT are unanswered."""
        while self._pending and len(self._in_flight) < IN_FLIGHT:
            child = self._child
            if child is None or child.returncode is not None:
                if not self._starting:
                    self._starting = True
                    asyncio.get_running_loop().create_task(self._start())
                return
            batch = self._pending[: self.max_batch]
            del self._pending[: len(batch)]
            self._in_flight.append(batch)
            message = pickle.dumps([receipt.record for receipt, _ in batch],
                                   protocol=pickle.HIGHEST_PROTOCOL)
            assert child.stdin is not None
            try:
                # Buffered by the transport: at most IN_FLIGHT batches are ever waiting.
                child.stdin.write(_HEADER.pack(len(message)) + message)
            except (OSError, RuntimeError) as exc:
                self._lost(child, exc)
                return
        if not self._pending and not self._in_flight:
            self._idle.set()

    async def _start(self) -> None:
        try:
            child = await _start_child(self.url, self.duplicate_window)
        except OSError as exc:
            log.error("cannot start the webhook writer process: %s", exc)
            pending, self._pending = self._pending, []
            _fail([future for _, future in pending], exc)
            self._idle.set()
            return
        finally:
            self._starting = False
        self._child = child
        asyncio.get_running_loop().create_task(self._read_answers(child))
        self._send()

    async def _read_answers(self, child: asyncio.subprocess.Process) -> None:
        assert child.stdout is not None
        try:
            while True:
                size, = _HEADER.unpack(await child.stdout.readexactly(_HEADER.size))
                replies = pickle.loads(await child.stdout.readexactly(size))
                self._settle(self._in_flight.popleft(), replies)
                self._send()
        except (OSError, EOFError, asyncio.IncompleteReadError, IndexError) as exc:
            self._lost(child, exc)

    def _settle(self, batch: list[tuple[Any, asyncio.Future]], replies: list) -> None:
        written, failed = [], []
        for (receipt, future), reply in zip(batch, replies, strict=True):
            if isinstance(reply, BaseException):
                failed.append((future, reply))
                continue
            receipt.record.id, receipt.record.deployment_ids, receipt.record.duplicate = reply
            written.append((receipt, future))
        results = self.answer([receipt for receipt, _ in written]) if written else []
        for (_, future), result in zip(written, results, strict=True):
            if not future.done():
                future.set_result(result)
        for future, error in failed:
            if not future.done():
                future.set_exception(error)

    def _lost(self, child: asyncio.subprocess.Process, exc: BaseException) -> None:
        """The child died or the pipe broke: nothing it did not confirm is known to be
        written. (A child already replaced or stopped on purpose is not reported.)"""
        if child is not self._child:
            return
        log.error("webhook writer process lost (%s); unconfirmed requests answer 503",
                  exc or type(exc).__name__)
        self._child = None
        if child.returncode is None:
            child.kill()
        lost = [future for batch in self._in_flight for _, future in batch]
        self._in_flight.clear()
        _fail(lost, StoreUnavailable("the webhook writer process stopped"))
        self._send()  # what is still pending goes to a new child


def _fail(futures: list[asyncio.Future], error: BaseException) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(error)


async def _start_child(url: str, duplicate_window: float) -> asyncio.subprocess.Process:
    # The URL travels in the environment, not argv: it may hold a password.
    import os

    env = dict(os.environ, FRAISIER_WRITER_URL=url,
               FRAISIER_WRITER_DUPLICATE_WINDOW=str(duplicate_window))
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fraisier.ingest.writer_process",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env)


# -- the child ---------------------------------------------------------------------------
def serve_writes(url: str, duplicate_window: float) -> None:
    """Read batches of records from stdin, write each in one transaction, answer on
    stdout; stop at the end of stdin."""
    from fraisier.store import open_store

    source, sink = sys.stdin.buffer, sys.stdout.buffer
    store = open_store(url, migrate=False)
    try:
        while True:
            header = source.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return  # the server closed our input (or is gone)
            size, = _HEADER.unpack(header)
            records = pickle.loads(source.read(size))
            replies = pickle.dumps(write_records(store, records, duplicate_window),
                                   protocol=pickle.HIGHEST_PROTOCOL)
            sink.write(_HEADER.pack(len(replies)) + replies)
            sink.flush()
    except BrokenPipeError:
        return
    finally:
        store.close()


def write_records(store, records: list[WebhookRecord], window: float) -> list:
    """(id, deployment ids, duplicate) per record, or the StoreError that record met. A failed
    transaction is retried one record at a time, so only the culprit fails."""
    try:
        store.webhooks.intake.record(records, duplicate_window=window)
    except Exception as exc:  # noqa: BLE001 - reported to the server per record
        if len(records) > 1 and not isinstance(exc, StoreUnavailable):
            return [reply for record in records
                    for reply in write_records(store, [record], window)]
        error = (StoreUnavailable(str(exc)) if isinstance(exc, StoreUnavailable)
                 else StoreError(f"{type(exc).__name__}: {exc}"))  # driver errors may not pickle
        return [error] * len(records)
    return [(r.id, r.deployment_ids, r.duplicate) for r in records]


if __name__ == "__main__":
    import os

    serve_writes(os.environ["FRAISIER_WRITER_URL"],
                 float(os.environ["FRAISIER_WRITER_DUPLICATE_WINDOW"]))
