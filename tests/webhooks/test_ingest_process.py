"""The ingest process `fraisier serve` verifies and records webhooks with: answers only after
commit, the same answers as in-process ingest, one bad item fails alone, a dead child fails
what it had not answered and is replaced."""

import asyncio
import fcntl
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fraisier.config import load_config
from fraisier.ingest import WebhookRequest
from fraisier.ingest.handler import Ingest
from fraisier.ingest.ingest_process import BUFFER_BYTES, IngestProcess
from fraisier.server import create_app
from fraisier.store import StoreError, StoreUnavailable, open_store
from tests.providers._support import fixture_bytes, github_headers
from tests.support.services import require_binary
from tests.support.waiting import wait_for_async
from tests.webhooks._support import write_config

ROOT = Path(__file__).resolve().parents[2]
PUSH = fixture_bytes("github", "push_with-new-branch.payload.json")  # master of Hello-World


@pytest.fixture
def config(tmp_path):
    config = load_config(write_config(tmp_path))
    open_store(config.state.url).close()  # migrated, as `fraisier serve` leaves it
    return config


def _push(n: int, *, secret: str | None = None) -> WebhookRequest:
    body = json.dumps({**json.loads(PUSH), "after": f"{n + 1:040x}"}).encode()  # never 0
    extra = {"secret": secret} if secret else {}
    headers = {k.lower(): v for k, v in github_headers("push", body, **extra).items()}
    headers["x-github-delivery"] = f"delivery-{n}"
    return WebhookRequest(headers, body, "127.0.0.1")


def _count(config, sql: str) -> int:
    with sqlite3.connect(config.state.url.removeprefix("sqlite:///")) as db:
        return db.execute(sql).fetchone()[0]


def test_answers_match_in_process_ingest_and_come_after_the_commit(config):
    async def scenario():
        process = IngestProcess(config, config.state.url)
        futures = [process.submit(_push(n)) for n in range(30)]
        futures.append(process.submit(_push(0)))  # the same delivery again
        futures.append(process.submit(_push(99, secret="wrong")))
        first = await futures[0]
        committed_then = _count(config, "SELECT COUNT(*) FROM tb_webhook_event")
        results = await asyncio.gather(*futures)
        await process.close()
        return first, committed_then, results

    first, committed_then, results = asyncio.run(scenario())
    assert first.status_code == 202 and committed_then >= 1
    assert all(r.status_code == 202 for r in results[:30])
    assert results[30].body == {"status": "duplicate"}
    assert results[31].status_code == 401
    ids = [i for r in results[:30] for i in r.body["deployments"]]
    assert len(ids) == len(set(ids)) == 60  # gh/production, and gh/mapped by branch_mapping
    assert _count(config, "SELECT COUNT(*) FROM tb_webhook_event") == 32
    # A burst to an environment leaves only its newest deployment queued.
    assert _count(config, "SELECT COUNT(*) FROM tb_deployment WHERE status = 'queued'") == 2
    # In-process ingest answers the same request the same way.
    store = open_store(config.state.url)
    ingest = Ingest(config, store)
    try:
        again = ingest.handle(_push(5))
        fresh = ingest.handle(_push(200))
    finally:
        ingest.close()
        store.close()
    assert again.body == {"status": "duplicate"}
    assert fresh.status_code == 202


def test_a_request_the_database_refuses_fails_alone(config):
    path = config.state.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:  # push 2's deployments cannot be inserted
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON tb_deployment"
                   " WHEN NEW.requested_commit = printf('%040x', 3)"  # push 2
                   " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")

    async def scenario():
        process = IngestProcess(config, config.state.url)
        futures = [process.submit(_push(n)) for n in (1, 2, 3)]
        results = await asyncio.gather(*futures, return_exceptions=True)
        await process.close()
        return results

    first, bad, third = asyncio.run(scenario())
    assert isinstance(bad, StoreError) and "refused by the test" in str(bad)
    assert first.status_code == 202 and third.status_code == 202
    assert _count(config, "SELECT COUNT(*) FROM tb_webhook_event") == 2


async def _until_read_by_the_child(child, timeout: float = 30) -> None:
    """Until the request sent to the child has left the socket (the child took it, and will
    wait for the write lock the test holds)."""
    sock = child.stdin.transport.get_extra_info("socket")

    def read() -> bool:
        # On a Unix socket, TIOCOUTQ (SIOCOUTQ) counts what was sent and not yet read.
        unread = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
        return unread == 0 and child.stdin.transport.get_write_buffer_size() == 0

    await wait_for_async(read, timeout, "the child to read the request", interval=0.01)


def test_a_killed_child_fails_what_it_had_not_answered_and_is_replaced(config):
    path = config.state.url.removeprefix("sqlite:///")

    async def scenario():
        process = IngestProcess(config, config.state.url)
        assert (await process.submit(_push(1))).status_code == 202  # the child is up
        child = process._child
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the child will wait for the write lock
        stuck = asyncio.ensure_future(process.submit(_push(2)))
        await _until_read_by_the_child(child)
        assert not stuck.done()
        os.kill(child.pid, signal.SIGKILL)
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(stuck, 30)
        blocker.execute("ROLLBACK")
        blocker.close()
        again = await asyncio.wait_for(process.submit(_push(3)), 30)
        replaced = process._child is not child
        await process.close()
        return again, replaced, child

    again, replaced, child = asyncio.run(scenario())
    assert replaced and again.status_code == 202
    assert child.returncode is not None  # the killed child is gone
    # Delivery 2 never committed; 1 and 3 did.
    assert _count(config, "SELECT COUNT(*) FROM tb_webhook_event") == 2


def test_the_socket_to_and_from_the_child_holds_a_batch(config):
    # A batch is a few hundred KiB; through a 64 KiB buffer it crossed in rounds, and the
    # child waited for its input a quarter of the time under load. The kernel caps what
    # may be asked (net.core.wmem_max, rmem_max) and reports twice what it grants.
    def limit(name: str) -> int:
        with open(f"/proc/sys/net/core/{name}") as value:
            return min(BUFFER_BYTES, int(value.read())) * 2

    async def scenario():
        process = IngestProcess(config, config.state.url)
        assert (await process.submit(_push(1))).status_code == 202  # the child is up
        sock = process._child.stdin.transport.get_extra_info("socket")
        sizes = [sock.getsockopt(socket.SOL_SOCKET, option)
                 for option in (socket.SO_SNDBUF, socket.SO_RCVBUF)]
        await process.close()
        return sizes

    assert asyncio.run(scenario()) == [limit("wmem_max"), limit("rmem_max")]


def test_close_waits_for_pending_requests_and_stops_the_child(config):
    async def scenario():
        process = IngestProcess(config, config.state.url)
        futures = [process.submit(_push(n)) for n in range(10)]
        await process.close()
        return futures, process

    futures, process = asyncio.run(scenario())
    assert all(f.done() and f.result().status_code == 202 for f in futures)
    assert process._child is None
    assert _count(config, "SELECT COUNT(*) FROM tb_webhook_event") == 10


def test_queued_deployments_wake_this_process(config):
    # The child's commit notifies nobody here, where the worker of `fraisier serve` waits.
    woken: list[str] = []

    async def scenario():
        process = IngestProcess(config, config.state.url, on_queued=lambda: woken.append("x"))
        refused = await process.submit(_push(1, secret="wrong"))
        after_refusal = len(woken)
        accepted = await process.submit(_push(2))
        await process.close()
        return refused, after_refusal, accepted

    refused, after_refusal, accepted = asyncio.run(scenario())
    assert refused.status_code == 401 and after_refusal == 0
    assert accepted.status_code == 202 and woken == ["x"]


def test_the_server_wires_the_wake_up_to_its_worker(config):
    store = open_store(config.state.url)
    woken: list[str] = []
    store.events.listeners.append(lambda: woken.append("x"))
    app = create_app(config, store, worker=False, ingest_process=True)
    request = _push(7)
    try:
        with TestClient(app) as client:
            response = client.post("/webhook", headers=request.headers, content=request.body)
            assert response.status_code == 202
            assert woken == ["x"]
    finally:
        store.close()
    assert _count(config, "SELECT COUNT(*) FROM tb_webhook_event") == 1


def test_a_request_that_breaks_ingest_gets_a_500_alone(config):
    async def scenario():
        process = IngestProcess(config, config.state.url)
        # Not a request at all: prepare fails on it, as it would on a bug.
        futures = [process.submit(_push(1)), process.submit("not a request"),
                   process.submit(_push(2))]
        results = await asyncio.gather(*futures)
        await process.close()
        return results

    first, broken, third = asyncio.run(scenario())
    assert broken.status_code == 500
    assert first.status_code == 202 and third.status_code == 202


def test_a_state_database_that_cannot_be_opened_answers_503(config, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")

    async def scenario():
        process = IngestProcess(config, f"sqlite:///{blocked}/state.db")
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(process.submit(_push(1)), 30)
        await process.close()

    asyncio.run(scenario())


def test_the_ingest_process_records_on_postgresql(tmp_path, postgres_url):
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace(f"sqlite:///{tmp_path}/state.db", postgres_url))
    config = load_config(path)
    store = open_store(config.state.url)

    async def scenario():
        process = IngestProcess(config, config.state.url)
        futures = [process.submit(_push(n)) for n in range(5)] + [process.submit(_push(0))]
        results = await asyncio.gather(*futures)
        await process.close()
        return results

    try:
        results = asyncio.run(scenario())
        assert [r.status_code for r in results] == [202] * 5 + [200]
        assert results[5].body == {"status": "duplicate"}
        assert store.db.scalar("SELECT COUNT(*) FROM tb_webhook_event") == 6
        assert store.db.scalar(
            "SELECT COUNT(*) FROM tb_deployment WHERE status = 'queued'") == 2
    finally:
        store.close()


# Under uvloop (what `fraisier serve` runs on): start the child, replace it (a reload),
# stop the second one. Each step ends a child and its transport.
_RESTARTS = """
import asyncio, sys
import uvloop
from fraisier.config import load_config
from fraisier.ingest.ingest_process import IngestProcess
from tests.webhooks.test_ingest_process import _push

async def main():
    config = load_config(sys.argv[1])
    process = IngestProcess(config, config.state.url)
    assert (await process.submit(_push(1))).status_code == 202
    process.reconfigure(config)
    assert (await process.submit(_push(2))).status_code == 202
    await process.close()
    print("pid", __import__("os").getpid())

uvloop.run(main())
"""


def test_the_server_closes_each_descriptor_of_a_child_once(config, tmp_path):
    # uvloop closed a pipe's descriptor through libuv and then the file object it was
    # given, so the same number was closed twice: a file another thread had opened in
    # between (the worker's lock on a git mirror) lost its descriptor and the deployment
    # failed with EBADF. A second close of a number nobody reused fails with EBADF, which
    # strace shows; the server process must have none.
    strace = require_binary("strace")
    trace = tmp_path / "trace"
    done = subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=close", "-o", str(trace), sys.executable, "-c",
         _RESTARTS, str(tmp_path / "fraises.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    server = done.stdout.split()[-1]
    twice = [line for line in trace.read_text().splitlines()
             if line.startswith(f"{server} ") and "EBADF" in line]
    assert twice == []
