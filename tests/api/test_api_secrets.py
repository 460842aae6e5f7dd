"""What a deployment's commands print of a secret comes back from the GraphQL API as `***`:
the log lines, the step errors and the deployment's error, read by a live server."""

from __future__ import annotations

from pathlib import Path

from fraisier.config import load_config
from fraisier.domain.model import Trigger
from fraisier.domain.redaction import REDACTOR
from fraisier.engine.service import request_deployment
from fraisier.worker.inline import deploy_now

SECRET = "graphql-visible-secret-81"


def test_logs_and_errors_answered_by_the_api_are_redacted(sqlite_api, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(SECRET + "\n")
    original = sqlite_api.config_path.read_text()
    text = original.replace(
        "    env:\n",
        f'    env:\n      DB_PASSWORD: "${{secret:file:{tmp_path}/secret}}"\n', 1,
    ).replace("    build: [", '    build: {shell: \'echo "using $DB_PASSWORD"; exit 4\'}\n'
              "    unused_build: [", 1)
    text = "\n".join(line for line in text.splitlines() if "unused_build" not in line) + "\n"
    variant = sqlite_api.config_path.with_name("secret-fraises.yaml")
    variant.write_text(text)
    config = load_config(variant)
    try:
        record = request_deployment(sqlite_api.store, config, "hello", "production",
                                    trigger=Trigger.CLI)
        final = deploy_now(sqlite_api.store, config, record.id)
    finally:
        REDACTOR.forget_all()
    assert final.status == "failed"
    data = sqlite_api.gql("""query($id: ID!) { deployment(id: $id) { status errorMessage
        logs(limit: 500) { line } steps { name error } } }""", {"id": record.id})
    answer = str(data)
    assert SECRET not in answer
    lines = [row["line"] for row in data["deployment"]["logs"]]
    assert "using ***" in lines
