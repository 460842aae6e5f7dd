import pytest

from fraisier.config import load_config
from fraisier.domain.model import Trigger
from fraisier.engine.service import open_state, request_deployment, request_rollback
from fraisier.worker.inline import deploy_now

from .sample import make_sample


class Harness:
    """A sample workspace plus the calls a test needs: deploy, rollback, read the state."""

    def __init__(self, workspace):
        self.ws = workspace
        self.config = load_config(workspace.config_path)
        self.store = open_state(self.config)

    def reload_config(self):
        """After the test edited fraises.yaml."""
        self.config = load_config(self.ws.config_path)

    def deploy(self, commit=None, force=False):
        record = request_deployment(self.store, self.config, "hello", "production",
                                    trigger=Trigger.CLI, commit=commit, force=force)
        return deploy_now(self.store, self.config, record.id)

    def rollback(self, to=None, migrate_down=False):
        record = request_rollback(self.store, self.config, "hello", "production", to=to,
                                  migrate_down=migrate_down)
        return deploy_now(self.store, self.config, record.id)

    @property
    def current(self):
        link = self.ws.app_path / "current"
        return link.resolve().name if link.is_symlink() else None

    def release_dirs(self):
        releases = self.ws.app_path / "releases"
        return sorted(p.name for p in releases.iterdir()) if releases.exists() else []

    def serving(self):
        import httpx

        return httpx.get(f"http://127.0.0.1:{self.ws.port}/", timeout=2).text.strip()

    def db_revisions(self):
        db = self.ws.app_path / "db.txt"
        return db.read_text().split() if db.exists() else []

    def steps(self, record):
        return {s.name: s.status for s in record.steps}


@pytest.fixture
def harness(tmp_path):
    h = Harness(make_sample(tmp_path))
    yield h
    h.ws.stop_app()
    h.store.close()
