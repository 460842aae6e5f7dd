"""Resolvers read the store on the API's database threads: while one request waits inside a
store call, the event loop goes on answering others (/healthz here)."""

from __future__ import annotations

import asyncio
import threading

import httpx

from fraisier.api.router import graphql_router
from fraisier.server import create_app
from tests.api.inprocess import seeded_world

# How long the held store call waits for the test to let it go. Reached only when the call
# blocks the event loop (the test then fails); otherwise the test releases it at once.
DEADLINE = 10.0


def test_healthz_answers_while_a_query_is_held_inside_the_store(tmp_path):
    config, store = seeded_world(tmp_path, deployments=3, lines=0)
    token = store.tokens.create("reader", "read")
    app = create_app(config, store, worker=False,
                     routers=[graphql_router(config, store, path="/graphql")])
    entered, release = threading.Event(), threading.Event()
    ran_on: list[str] = []
    original = store.views.history

    def held_history(**kwargs):
        ran_on.append(threading.current_thread().name)
        entered.set()
        release.wait(DEADLINE)
        return original(**kwargs)

    store.views.history = held_history

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fraisier") as client:
            query = asyncio.create_task(client.post(
                "/graphql", json={"query": "{ deploymentHistory { id } }"},
                headers={"Authorization": f"Bearer {token}"}))
            assert await asyncio.to_thread(entered.wait, DEADLINE), "the query never started"
            health = await client.get("/healthz")
            held = not query.done() and not release.is_set()
            release.set()
            return health, held, await query

    try:
        health, held, answer = asyncio.run(scenario())
    finally:
        release.set()
        app.state.ingest.close()
        store.close()
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert held, "/healthz waited for the query: the store call ran on the event loop"
    assert ran_on and ran_on[0] != threading.main_thread().name
    assert ran_on[0].startswith("api-db")
    assert [d["id"] for d in answer.json()["data"]["deploymentHistory"]] == ["3", "2", "1"]


def test_dataloader_batches_run_off_the_event_loop(tmp_path):
    config, store = seeded_world(tmp_path, deployments=1, lines=0)
    token = store.tokens.create("reader", "read")
    app = create_app(config, store, worker=False,
                     routers=[graphql_router(config, store, path="/graphql")])
    threads: set[str] = set()
    for part, name in ((store.views, "status_of"), (store.queue, "get_many"),
                       (store.ledger, "steps_for")):
        original = getattr(part, name)

        def recorded(*args, _original=original, **kwargs):
            threads.add(threading.current_thread().name)
            return _original(*args, **kwargs)

        setattr(part, name, recorded)

    async def ask():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fraisier") as client:
            return await client.post("/graphql", headers={"Authorization": f"Bearer {token}"},
                                     json={"query": "{ fraises { environments { status"
                                           " lastDeployment { id steps { name } } } } }"})

    try:
        answer = asyncio.run(ask())
    finally:
        app.state.ingest.close()
        store.close()
    environment = answer.json()["data"]["fraises"][0]["environments"][0]
    assert environment["status"] == "SUCCEEDED"
    assert [s["name"] for s in environment["lastDeployment"]["steps"]] == ["fetch", "release"]
    assert threads and all(name.startswith("api-db") for name in threads), threads


def test_every_query_and_mutation_resolver_is_async():
    """A synchronous resolver would run its store calls on the event loop, and its
    `_require` (a coroutine) would never be awaited: no token check at all."""
    import inspect

    from fraisier.api.schema import Mutation, Query

    for root in (Query, Mutation):
        for field in root.__strawberry_definition__.fields:
            resolver = field.base_resolver.wrapped_func
            assert inspect.iscoroutinefunction(resolver), f"{root.__name__}.{field.name}"
