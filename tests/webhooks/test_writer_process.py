"""The writer process `fraisier serve` records webhooks with: answers only after commit,
one bad record fails alone, a dead child fails what it had not confirmed and is replaced."""

import asyncio
import os
import signal
import sqlite3

import pytest

from fraisier.domain.model import utc_timestamp
from fraisier.ingest.handler import Receipt
from fraisier.ingest.writer_process import WriterProcess
from fraisier.store import StoreError, StoreUnavailable, open_store
from fraisier.store.intake import NewDeployment, WebhookRecord


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    open_store(url).close()  # migrated, as `fraisier serve` leaves it
    return url


def _receipt(n: int, **overrides) -> Receipt:
    fields = dict(received_at=utc_timestamp(), provider="github", event_type="push",
                  outcome="queued", delivery_id=f"d-{n}", repository="acme/web",
                  ref="refs/heads/main", branch="main", commit_sha=f"{n:040x}",
                  payload=b'{"n": %d}' % n,
                  deployments=[NewDeployment("web", "production", "main", f"{n:040x}")])
    fields.update(overrides)
    return Receipt(WebhookRecord(**fields))


def _answers(receipts):
    return [(r.record.id, r.record.deployment_ids, r.record.duplicate) for r in receipts]


def _count(url: str, sql: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute(sql).fetchone()[0]


def test_each_request_is_answered_after_its_rows_are_committed(url):
    seen = []

    def answer(receipts):
        # Runs when the child has reported the commit: the rows must already be visible.
        seen.append(_count(url, "SELECT COUNT(*) FROM tb_webhook_event"))
        return _answers(receipts)

    async def scenario():
        writer = WriterProcess(url, 60, answer)
        futures = [writer.submit(_receipt(n)) for n in range(40)]
        futures.append(writer.submit(_receipt(0)))  # the same delivery again
        results = await asyncio.gather(*futures)
        await writer.close()
        return results

    results = asyncio.run(scenario())
    assert len({event_id for event_id, _, _ in results}) == 41
    assert all(len(ids) == 1 and not duplicate for _, ids, duplicate in results[:40])
    assert results[40][1:] == ([], True)
    assert seen and all(count >= 1 for count in seen)
    assert _count(url, "SELECT COUNT(*) FROM tb_webhook_event") == 41
    # A burst to one environment leaves only the newest deployment queued.
    assert _count(url, "SELECT COUNT(*) FROM tb_deployment WHERE status = 'queued'") == 1
    assert _count(url, "SELECT COUNT(*) FROM tb_deployment") == 40


def test_a_bad_record_fails_alone(url):
    async def scenario():
        writer = WriterProcess(url, 60, _answers)
        futures = [writer.submit(_receipt(1)),
                   writer.submit(_receipt(2, provider=None)),  # NOT NULL violated
                   writer.submit(_receipt(3))]
        results = await asyncio.gather(*futures, return_exceptions=True)
        await writer.close()
        return results

    first, bad, third = asyncio.run(scenario())
    assert isinstance(bad, StoreError) and "NOT NULL" in str(bad)
    assert not isinstance(first, BaseException) and not isinstance(third, BaseException)
    assert _count(url, "SELECT COUNT(*) FROM tb_webhook_event") == 2


def test_a_killed_writer_fails_what_it_had_not_confirmed_and_is_replaced(url):
    path = url.removeprefix("sqlite:///")

    async def scenario():
        writer = WriterProcess(url, 60, _answers)
        await writer.submit(_receipt(1))  # the child is up
        child = writer._child
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the child will wait for the write lock
        stuck = writer.submit(_receipt(2))
        await asyncio.sleep(0.5)
        assert not stuck.done()
        os.kill(child.pid, signal.SIGKILL)
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(stuck, 30)
        blocker.execute("ROLLBACK")
        blocker.close()
        again = await asyncio.wait_for(writer.submit(_receipt(3)), 30)
        replaced = writer._child is not child
        await writer.close()
        return again, replaced, child

    again, replaced, child = asyncio.run(scenario())
    assert replaced and len(again[1]) == 1
    assert child.returncode == -signal.SIGKILL
    # Delivery 2 never committed; 1 and 3 did.
    assert _count(url, "SELECT COUNT(*) FROM tb_webhook_event") == 2


def test_close_waits_for_pending_writes_and_stops_the_child(url):
    async def scenario():
        writer = WriterProcess(url, 60, _answers)
        futures = [writer.submit(_receipt(n)) for n in range(10)]
        await writer.close()
        return futures, writer

    futures, writer = asyncio.run(scenario())
    assert all(f.done() and f.exception() is None for f in futures)
    assert writer._child is None
    assert _count(url, "SELECT COUNT(*) FROM tb_webhook_event") == 10
