"""`api.max_rows_per_request`: rows and log lines one operation may read, counted across all
its fields and aliases; over it, the whole operation is refused with BAD_USER_INPUT."""

from __future__ import annotations

import asyncio

import httpx

from fraisier.api.app import create_api_app
from tests.api.inprocess import seeded_world

BUDGET = 20


def _world(tmp_path):
    # 6 deployments of 3 log lines each.
    config, store = seeded_world(tmp_path, deployments=6, lines=3,
                                 api=f"api:\n  max_rows_per_request: {BUDGET}\n")
    return config, store, store.tokens.create("reader", "read")


def _ask(config, store, token, query: str) -> dict:
    async def post():
        transport = httpx.ASGITransport(app=create_api_app(config, store))
        async with httpx.AsyncClient(transport=transport, base_url="http://fraisier") as client:
            return await client.post("/graphql", json={"query": query},
                                     headers={"Authorization": f"Bearer {token}"})

    return asyncio.run(post()).json()


def _refused(body: dict) -> None:
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "api.max_rows_per_request" in error["message"] and str(BUDGET) in error["message"]


def test_rows_are_counted_across_aliases_up_to_the_budget(tmp_path):
    config, store, token = _world(tmp_path)
    try:
        # 6 + 6 + 6 + 2 = 20 rows: exactly the budget.
        within = _ask(config, store, token, "{ a: deploymentHistory(limit: 6) { id }"
                      " b: deploymentHistory(limit: 6) { id } c: deploymentHistory(limit: 6)"
                      " { id } d: deploymentHistory(limit: 2) { id } }")
        assert "errors" not in within
        assert [len(within["data"][k]) for k in "abcd"] == [6, 6, 6, 2]
        # One more row, in yet another alias: over.
        _refused(_ask(config, store, token, "{ a: deploymentHistory(limit: 6) { id }"
                      " b: deploymentHistory(limit: 6) { id } c: deploymentHistory(limit: 6)"
                      " { id } d: deploymentHistory(limit: 3) { id } }"))
    finally:
        store.close()


def test_log_lines_count_and_a_refused_request_stops_reading(tmp_path):
    config, store, token = _world(tmp_path)
    read = []
    for part, name in ((store.views, "history"), (store.ledger, "logs_for")):
        original = getattr(part, name)

        def counted(*args, _original=original, **kwargs):
            rows = _original(*args, **kwargs)
            read.append(sum(map(len, rows.values())) if isinstance(rows, dict) else len(rows))
            return rows

        setattr(part, name, counted)
    try:
        # 5 deployments and 15 lines fit; 6 deployments and 18 lines do not.
        fits = _ask(config, store, token,
                    "{ deploymentHistory(limit: 5) { id logs { line } } }")
        assert [len(d["logs"]) for d in fits["data"]["deploymentHistory"]] == [3] * 5
        read.clear()
        _refused(_ask(config, store, token, "{ a: deploymentHistory(limit: 6) { id logs"
                      " { line } } b: deploymentHistory(limit: 6) { id logs { line } } }"))
        # Never much past the budget: the read that crosses it is cut at one row past it,
        # and nothing is read after that.
        assert sum(read) == BUDGET + 1, read
    finally:
        store.close()


def test_log_lines_of_many_deployments_are_read_in_one_batch(tmp_path):
    config, store, token = _world(tmp_path)
    calls = []
    original = store.ledger.logs_for

    def counted(ids, **kwargs):
        calls.append(sorted(ids))
        return original(ids, **kwargs)

    store.ledger.logs_for = counted
    try:
        body = _ask(config, store, token,
                    "{ deploymentHistory(limit: 4) { id logs(limit: 2) { line } } }")
    finally:
        store.close()
    assert calls == [[3, 4, 5, 6]]
    assert [[line["line"] for line in d["logs"]] for d in body["data"]["deploymentHistory"]] \
        == [["line 0", "line 1"]] * 4
