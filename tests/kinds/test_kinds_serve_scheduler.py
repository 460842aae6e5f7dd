"""`fraisier serve` runs the builtin scheduler next to its worker, and stops both cleanly."""

import threading

from fastapi.testclient import TestClient

from fraisier.demo import make_workspace
from fraisier.engine.service import open_state
from fraisier.kinds.scheduler import Scheduler
from fraisier.server import create_app


def _scheduler_threads():
    return [t for t in threading.enumerate() if t.name == "scheduler" and t.is_alive()]


def test_serve_starts_and_stops_the_builtin_scheduler(tmp_path):
    from fraisier.config import load_config

    workspace = make_workspace(tmp_path / "ws")
    config = load_config(workspace.config_path)
    store = open_state(config)
    try:
        before = len(_scheduler_threads())
        app = create_app(config, store, worker=True)
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            assert isinstance(app.state.scheduler, Scheduler)
            assert len(_scheduler_threads()) == before + 1
        for thread in _scheduler_threads()[before:]:
            thread.join(timeout=15)
        assert len(_scheduler_threads()) == before

        without_worker = create_app(config, store, worker=False)
        with TestClient(without_worker):
            assert without_worker.state.scheduler is None
    finally:
        store.close()
