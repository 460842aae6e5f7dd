"""The API in this process, spoken to over ASGI (httpx.ASGITransport): for tests that must
reach inside the store while a request is in flight. One fraise, `hello/production`, with
`deployments` finished deployments of `lines` log lines each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fraisier.config import load_config
from fraisier.engine.service import open_state


def seeded_world(tmp_path: Path, *, deployments: int, lines: int, api: str = "") -> tuple[Any, Any]:
    path = tmp_path / "fraises.yaml"
    path.write_text(
        f"state:\n  url: sqlite:///{tmp_path}/state.db\n{api}"
        "fraises:\n  hello:\n    repository: repo\n    environments:\n"
        "      production:\n        branch: main\n        app_path: srv/hello\n")
    config = load_config(path)
    store = open_state(config)
    for _ in range(deployments):
        record = store.queue.enqueue("hello", "production", trigger="cli")
        store.ledger.plan(record.id, ["fetch", "release"])
        store.queue.claim(record.id, "test", 60)
        for n in range(lines):
            store.ledger.log(record.id, f"line {n}")
        store.queue.finish(record.id, "succeeded")
    return config, store
