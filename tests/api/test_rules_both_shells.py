"""One table of cases for cancel, retry and rollback, run through both shells: the CLI and
the GraphQL API call the same rules (engine/service.py), so they allow and refuse alike."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from fraisier.domain.model import Trigger
from fraisier.engine.service import request_deployment
from fraisier.worker.inline import deploy_now
from tests.cli._cli_support import invoke


@dataclass
class Case:
    verb: str
    deployment: str | None  # which deployment of the scene it acts on
    code: str | None        # the API's error code; None: allowed
    says: str               # part of the refusal both shells give


# In order: the cases on the queued deployment come before anything queues another (which
# would supersede it).
CASES = [
    Case("retry", "queued", "CONFLICT", "is still queued"),
    Case("cancel", "queued", None, ""),
    Case("cancel", "queued", "CONFLICT", "is already cancelled"),
    Case("retry", "failed", None, ""),
    Case("retry", "succeeded", "CONFLICT", "succeeded: there is nothing to retry"),
    Case("retry", "rollback", "BAD_USER_INPUT", "is a rollback"),
    Case("retry", "missing", "NOT_FOUND", "no deployment 999999"),
    Case("cancel", "succeeded", "CONFLICT", "is already succeeded"),
    Case("cancel", "missing", "NOT_FOUND", "no deployment 999999"),
    Case("rollback-to", "unknown", "NOT_FOUND", "no good release of hello/production"),
    Case("rollback-to", "commit", None, ""),
]


@pytest.fixture
def scene(sqlite_api):
    """v1 and v2 succeeded, v3 failed, a rollback to v1 succeeded, one more queued."""
    store, config = sqlite_api.store, sqlite_api.config

    def deployed():
        return deploy_now(store, config, request_deployment(
            store, config, "hello", "production", trigger=Trigger.CLI).id)

    succeeded = deployed()
    sqlite_api.workspace.commit("v2", {"VERSION": "v2\n"})
    v2 = deployed()
    sqlite_api.workspace.commit("break the build", {"FAIL_BUILD": "1"})
    failed = deployed()
    assert succeeded.status == "succeeded" and failed.status == "rolled_back", failed.error
    rollback = invoke(sqlite_api.config_path, "rollback", "hello", "production", "--json")
    assert rollback.exit_code == 0, rollback.stderr
    queued = request_deployment(store, config, "hello", "production", trigger=Trigger.CLI)
    return {"succeeded": succeeded.id, "failed": failed.id, "queued": queued.id,
            "rollback": rollback.json()["id"], "missing": 999999,
            "unknown": "20000101T000000000000Z-0000000", "commit": v2.commit_sha[:8]}


def _through_api(api, case: Case, subject) -> tuple[str | None, str]:
    mutation = {
        "retry": "mutation($s: ID!) { retryDeployment(id: $s) { id } }",
        "cancel": "mutation($s: ID!) { cancelDeployment(id: $s) { id } }",
        "rollback-to": 'mutation($s: String!) { rollback(fraiseId: "hello", '
                       'environment: "production", toRelease: $s) { id } }',
    }[case.verb]
    answer = api.post(mutation, {"s": subject}, token="deploy").json()
    errors = answer.get("errors") or []
    if not errors:
        return None, ""
    return errors[0]["extensions"]["code"], errors[0]["message"]


def _through_cli(api, case: Case, subject) -> tuple[int, str]:
    args = {
        "retry": ["retry", str(subject), "--json"],
        "cancel": ["cancel", str(subject), "--no-wait", "--json"],
        "rollback-to": ["rollback", "hello", "production", "--to", str(subject), "--json"],
    }[case.verb]
    outcome = invoke(api.config_path, *args)
    return outcome.exit_code, outcome.stderr


@pytest.mark.parametrize("shell", ["api", "cli"])
def test_one_table_of_rules_for_both_shells(scene, sqlite_api, shell):
    for case in CASES:
        subject = scene[case.deployment]
        if shell == "api":
            code, message = _through_api(sqlite_api, case, subject)
            assert code == case.code, (case, message)
            assert case.says in message, (case, message)
        else:
            exit_code, stderr = _through_cli(sqlite_api, case, subject)
            if case.code is None:
                # Allowed: the CLI runs what it queued (no worker is alive here), so a retry
                # of the failed build fails again, and that is its own exit status.
                assert not any(line.startswith("Error:") for line in stderr.splitlines()), \
                    (case, stderr)
            else:
                assert exit_code == 1 and case.says in stderr, (case, stderr)
