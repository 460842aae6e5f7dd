"""Webhook ingest in a process of its own, fed from the event loop (`fraisier serve`).

Verifying, parsing and recording a webhook are CPU and database work. In the process that
runs the HTTP event loop they compete with it for the one GIL, and the database drivers (and
hashlib, for large bodies) give the GIL up around each call and must wait to take it back:
with a writer thread beside the event loop, both threads spent much of their time waiting.
Here the event loop only speaks HTTP and enforces its bounds (rate per source, body size);
it writes batches of requests to a child process's stdin and reads the answers from its
stdout. The child runs `Ingest` (prepare, then one transaction per batch, see
group_commit.commit_batch) and answers each request once the transaction holding its rows
has committed. At most two batches are unanswered at a time, so the child always has the
next one ready and whatever arrives meanwhile forms the batch after it (group commit).

Messages both ways are length-prefixed pickles: first the configuration, then lists of
WebhookRequest (or of ready Receipts, for requests the server refused itself), answered by a
list of IngestResult or StoreError per request. If the child dies, the requests it had not
answered fail with StoreUnavailable (the sender gets a 503 and retries) and the next batch
starts a new child.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from fraisier.store import StoreError, StoreUnavailable

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig

log = logging.getLogger("fraisier.ingest")

MAX_BATCH = 256
IN_FLIGHT = 2  # batches sent and not yet answered: the child always has the next one ready
_HEADER = struct.Struct("!I")


class IngestProcess:
    """The server's side. Use from the event loop's thread only."""

    def __init__(self, config: FraisierConfig, url: str,
                 on_queued: Callable[[], None] | None = None, max_batch: int = MAX_BATCH):
        self.config = config
        self.url = url
        # Called (on the event loop) when an answered batch queued deployments: the child's
        # commit woke nobody in this process, where the worker may be waiting.
        self.on_queued = on_queued
        self.max_batch = max_batch
        self._pending: list[tuple[Any, asyncio.Future[Any]]] = []
        self._in_flight: deque[list[tuple[Any, asyncio.Future[Any]]]] = deque()
        self._child: _Child | None = None
        self._starting = False
        self._replace = False  # reconfigure(): start a new child once this one is answered
        self._idle = asyncio.Event()
        self._idle.set()

    def warm_up(self) -> None:
        """Start the child now rather than on the first request: its start (a Python with
        the configuration's modules) would otherwise be the first webhook's wait."""
        if self._child is None and not self._starting:
            self._starting = True
            asyncio.get_running_loop().create_task(self._start())

    def reconfigure(self, config: FraisierConfig) -> None:
        """A reloaded configuration: the child in use answers what it was sent, then a new
        one, given `config`, takes the next batch."""
        self.config = config
        self._replace = True
        self._send()

    def submit(self, item: Any) -> asyncio.Future[Any]:
        """The IngestResult for `item` (a WebhookRequest, or a Receipt the server made
        itself), once its rows are committed; StoreError if they could not be."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
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
        if self._replace and not self._in_flight:
            self._retire()
        while self._pending and len(self._in_flight) < IN_FLIGHT and not self._replace:
            child = self._child
            if child is not None and child.returncode is not None:
                # Exited before its reader noticed: fail its batches before a new child's
                # answers could be taken for theirs.
                self._lost(child, RuntimeError(f"it exited with status {child.returncode}"))
                child = None
            if child is None:
                self.warm_up()
                return
            batch = self._pending[: self.max_batch]
            del self._pending[: len(batch)]
            self._in_flight.append(batch)
            message = pickle.dumps([item for item, _ in batch],
                                   protocol=pickle.HIGHEST_PROTOCOL)
            assert child.stdin is not None
            try:
                # Buffered by the transport: at most IN_FLIGHT batches are ever waiting.
                child.stdin.write(_HEADER.pack(len(message)) + message)
            except (OSError, RuntimeError) as exc:
                self._lost(child, exc)
                continue  # the next round starts a new child
        if not self._pending and not self._in_flight:
            self._idle.set()

    def _retire(self) -> None:
        """Let the child go (nothing is in flight): it sees the end of its input and exits;
        the next batch starts a child with the current configuration."""
        self._replace = False
        child, self._child = self._child, None
        if child is not None and child.returncode is None and child.stdin is not None:
            child.stdin.close()
        self.warm_up()  # the next child, with the current configuration, starts now

    async def _start(self) -> None:
        try:
            child = await _start_child(self.config, self.url)
        except OSError as exc:
            log.error("cannot start the webhook ingest process: %s", exc)
            pending, self._pending = self._pending, []
            _fail([future for _, future in pending],
                  StoreUnavailable(f"cannot start the webhook ingest process: {exc}"))
            self._idle.set()
            return
        finally:
            self._starting = False
        self._child = child
        asyncio.get_running_loop().create_task(self._read_answers(child))
        self._send()

    async def _read_answers(self, child: _Child) -> None:
        assert child.stdout is not None
        try:
            while True:
                size, = _HEADER.unpack(await child.stdout.readexactly(_HEADER.size))
                replies = pickle.loads(await child.stdout.readexactly(size))
                self._settle(self._in_flight.popleft(), replies)
                self._send()
        except (OSError, EOFError, asyncio.IncompleteReadError, IndexError) as exc:
            self._lost(child, exc)
            self._send()  # what is still pending goes to a new child

    def _settle(self, batch: list[tuple[Any, asyncio.Future[Any]]], replies: list[Any]) -> None:
        queued = False
        for (_, future), reply in zip(batch, replies, strict=True):
            queued = queued or getattr(reply, "status_code", None) == 202
            if future.done():
                continue
            if isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)
        if queued and self.on_queued is not None:
            self.on_queued()

    def _lost(self, child: _Child, exc: BaseException) -> None:
        """The child died or its socket broke: nothing it did not confirm is known to be
        written. (A child already replaced or stopped on purpose is not reported.)"""
        if child is not self._child:
            return
        log.error("webhook ingest process lost (%s); unanswered requests get a 503",
                  exc or type(exc).__name__)
        self._child = None
        if child.returncode is None:
            child.kill()
        if child.stdin is not None:
            child.stdin.close()  # the transport closes once the child is reaped
        lost = [future for batch in self._in_flight for _, future in batch]
        self._in_flight.clear()
        _fail(lost, StoreUnavailable("the webhook ingest process stopped"))


def _fail(futures: list[asyncio.Future[Any]], error: BaseException) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(error)


class _Child:
    """The child process and its end of the socket pair, as asyncio streams.

    Started with `subprocess.Popen` on a thread, not with the event loop's own
    `create_subprocess_exec`: uvloop forks and runs Python's at-fork handlers in the child
    before it execs, and in a process whose other threads (the worker's) hold locks at that
    moment the child can hang there, and the loop with it, waiting for the exec."""

    def __init__(self, popen: subprocess.Popen[bytes], stdin: asyncio.StreamWriter,
                 stdout: asyncio.StreamReader):
        self.popen, self.stdin, self.stdout = popen, stdin, stdout

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()

    async def wait(self) -> int:
        return await asyncio.get_running_loop().run_in_executor(None, self.popen.wait)


def _spawn(end: socket.socket) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "fraisier.ingest.ingest_process"],
                            stdin=end.fileno(), stdout=end.fileno())


BUFFER_BYTES = 1 << 20


def _widen(end: socket.socket) -> None:
    """Let the socket hold BUFFER_BYTES each way (the kernel caps it at
    net.core.wmem_max / rmem_max). A batch of pushes is a few hundred KiB: through a 64 KiB
    buffer (a pipe's default) it crossed in several rounds of filling the buffer, waking
    the reader and waiting for it. Under load the child then waited for its input a quarter of
    the time, and `benchmarks/webhook_load --mode same-commit` answered 3,500-3,700
    requests a second instead of 4,900."""
    for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
        try:
            end.setsockopt(socket.SOL_SOCKET, option, BUFFER_BYTES)
        except OSError:
            pass  # slower, not wrong


async def _start_child(config: FraisierConfig, url: str) -> _Child:
    # One socket pair is the child's stdin and stdout. Not pipes: uvloop lets libuv close a
    # pipe's descriptor and then closes the file object it was given as well, so the same
    # number was closed twice, and a file another thread opened in between (the worker's
    # lock on a git mirror) lost its descriptor. A socket it detaches instead, and the
    # standard loop closes it once.
    parent, end = socket.socketpair()
    for side in (parent, end):
        _widen(side)
    loop = asyncio.get_running_loop()
    try:
        popen = await loop.run_in_executor(None, _spawn, end)
    except BaseException:
        parent.close()
        raise
    finally:
        end.close()  # the child has its copies
    stdout, stdin = await asyncio.open_connection(sock=parent, limit=2**26)
    child = _Child(popen, stdin, stdout)
    # The configuration (secrets included) and the state URL (maybe with a password) go
    # through the socket, never argv or the environment.
    from fraisier.logformat import current_format

    _send_message(child.stdin, (config, url, logging.getLogger().getEffectiveLevel(),
                                current_format()))
    return child


def _send_message(stream: asyncio.StreamWriter | BinaryIO, value: Any) -> None:
    message = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(message)) + message)


# -- the child ---------------------------------------------------------------------------
def serve_ingest(source: BinaryIO, sink: BinaryIO) -> None:
    """Read the configuration, then batches of requests; answer each batch in order; stop
    at the end of the input."""
    from fraisier.ingest.group_commit import commit_batch
    from fraisier.ingest.handler import Ingest, Receipt
    from fraisier.ingest.result import IngestResult
    from fraisier.store import open_store
    from fraisier.store.checkpoints import BackgroundCheckpoints

    def read() -> Any:
        header = source.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise EOFError
        size, = _HEADER.unpack(header)
        return pickle.loads(source.read(size))

    try:
        config, url, log_level, log_format = read()
    except EOFError:
        return
    # Its log lines go to the server's stderr, looking like the server's own.
    from fraisier.logformat import configure_logging

    configure_logging(log_format, log_level)
    try:
        store = open_store(url, migrate=False)
    except (StoreError, OSError) as exc:
        log.error("webhook ingest process cannot open the state database: %s", exc)
        return  # the server answers 503 and starts another with the next batch
    ingest = Ingest(config, store)
    store.db.write_in_batches()
    # This process commits all the time: copying its log into the database on a thread
    # keeps the copies (and their fsyncs) out of the batches' way (store/checkpoints.py).
    checkpoints = BackgroundCheckpoints(store.db) if store.db.backend == "sqlite" else None
    try:
        while True:
            try:
                items = read()
            except EOFError:
                return  # the server closed our input (or is gone)
            answers: list[Any] = [None] * len(items)
            receipts, places = [], []
            for place, item in enumerate(items):
                try:
                    receipts.append(item if isinstance(item, Receipt) else ingest.prepare(item))
                    places.append(place)
                except Exception:  # a bug must not take the batch down
                    log.exception("webhook could not be handled")
                    answers[place] = IngestResult.rejected(500, "internal error")
            if checkpoints is not None and receipts:
                checkpoints.before_write()
            outcomes = commit_batch(store.db, ingest.write, receipts) if receipts else []
            for place, (result, error) in zip(places, outcomes, strict=True):
                answers[place] = _portable(error) if error is not None else result
            _send_message(sink, answers)
            sink.flush()
            if checkpoints is not None:
                checkpoints.after_commit()
    except BrokenPipeError:
        return
    finally:
        if checkpoints is not None:
            checkpoints.close()
        store.close()


def _portable(error: Exception) -> StoreError:
    """The error as it crosses the socket (driver errors do not always pickle)."""
    if isinstance(error, StoreUnavailable):
        return StoreUnavailable(str(error))
    if isinstance(error, StoreError):
        return StoreError(str(error))
    return StoreError(f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    serve_ingest(sys.stdin.buffer, sys.stdout.buffer)
