import pytest

from tests.engine.conftest import Harness
from tests.engine.sample import make_sample

FAST_LEASES = """\
worker:
  concurrency: 2
  lease_seconds: 1
  poll_interval: 0.1
  shutdown_grace_seconds: 5
"""


@pytest.fixture
def harness(tmp_path):
    workspace = make_sample(tmp_path)
    workspace.config_path.write_text(workspace.config_path.read_text() + FAST_LEASES)
    h = Harness(workspace)
    yield h
    h.ws.stop_app()
    h.store.close()
