"""`fraises { environments { lastDeployment } }` asks the database a fixed number of times,
however many fraises there are."""

from __future__ import annotations

import asyncio

from fraisier.api.context import ApiContext
from fraisier.api.schema import build_schema
from fraisier.config import load_config
from fraisier.engine.service import open_state
from fraisier.store.tokens import Tokens

QUERY = """{ fraises { id environments { name status currentRelease
    lastDeployment { id status steps { name } } } } }"""


def _world(tmp_path, count: int):
    environments = "".join(
        f"      {env}:\n        branch: {env}\n        app_path: srv/FRAISE/{env}\n"
        for env in ("staging", "production"))
    fraises = "".join(
        f"  app{i}:\n    repository: repo\n    environments:\n"
        + environments.replace("FRAISE", f"app{i}") for i in range(count))
    path = tmp_path / f"n{count}" / "fraises.yaml"
    path.parent.mkdir()
    path.write_text(f"state:\n  url: sqlite:///{path.parent}/state.db\nfraises:\n{fraises}")
    config = load_config(path)
    store = open_state(config)
    for i in range(count):
        for env in ("staging", "production"):
            record = store.queue.enqueue(f"app{i}", env, trigger="cli")
            store.ledger.plan(record.id, ["fetch", "release"])
            store.queue.claim(record.id, "test", 60)
            store.queue.finish(record.id, "succeeded")
    return config, store


def _count_statements(config, store) -> tuple[int, dict]:
    token = Tokens(store.db).create("reader", "read")
    calls = []
    original = store.db.execute

    def counting(sql, params=()):
        calls.append(sql)
        return original(sql, params)

    store.db.execute = counting
    try:
        context = {"api": ApiContext(config, store, authorization=f"Bearer {token}")}
        result = asyncio.run(build_schema(config).execute(QUERY, context_value=context))
    finally:
        store.db.execute = original
    assert result.errors is None, result.errors
    return len(calls), result.data


def test_statement_count_does_not_grow_with_the_number_of_fraises(tmp_path):
    config_few, store_few = _world(tmp_path, 5)
    config_many, store_many = _world(tmp_path, 50)
    try:
        few, _ = _count_statements(config_few, store_few)
        many, data = _count_statements(config_many, store_many)
    finally:
        store_few.close()
        store_many.close()
    assert len(data["fraises"]) == 50
    last = data["fraises"][49]["environments"][1]["lastDeployment"]
    assert last["status"] == "SUCCEEDED" and [s["name"] for s in last["steps"]] == [
        "fetch", "release"]
    # token check and its use stamp + status view + deployments + steps, whatever the
    # number of fraises
    assert many == few <= 5
