"""An exception nobody planned for still ends the deployment: `failed`, with the reason,
and the environment free for the next one."""

from pathlib import Path

from fraisier.domain.model import Trigger
from fraisier.engine.service import request_deployment
from fraisier.worker.inline import deploy_now


def test_an_unexpected_exception_fails_the_deployment_and_frees_the_environment(harness):
    environment = harness.config.fraises["hello"].environments["production"]
    good_path = environment.app_path
    # Validation refuses this value; set after it, it stands for any bug outside the steps:
    # the runner's first look at the release layout raises ValueError.
    environment.app_path = Path(f"{good_path}\x00oops")
    record = harness.deploy()
    assert record.status == "failed"
    assert "embedded null byte" in (record.error or "")
    assert record.lease_owner is None
    assert harness.store.queue.get(record.id).completed_at is not None

    environment.app_path = good_path
    again = request_deployment(harness.store, harness.config, "hello", "production",
                               trigger=Trigger.CLI)
    assert again.id != record.id
    assert deploy_now(harness.store, harness.config, again.id).status == "succeeded"
