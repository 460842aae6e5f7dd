"""Pull-request deliveries of Gitea, Forgejo and Bitbucket (Cloud and Server) through the
webhook ingest, signed as each provider signs: the preview's deployment is queued and the
webhook log says so; a fork and a bad signature are recorded with their reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fraisier.config import load_config
from fraisier.ingest import WebhookRequest
from fraisier.ingest.handler import Ingest
from fraisier.store import open_store
from tests.providers._support import (
    SECRET,
    bitbucket_cloud_headers,
    bitbucket_server_headers,
    fixture_bytes,
    forgejo_headers,
    gitea_headers,
)

CONFIG = """\
state:
  url: sqlite:///{root}/state.db
git:
  gitea: {{webhook_secret: "{secret}"}}
  bitbucket: {{webhook_secret: "{secret}"}}
fraises:
  gt:
    repository: https://gitea.example.com/acme/web.git
    environments:
      staging: {{branch: main, app_path: {root}/srv/gt}}
    previews: {{app_path: "{root}/srv/gt-pr-{{number}}", ports: 9100-9199}}
  bbc:
    repository: git@bitbucket.org:acme/web.git
    environments:
      staging: {{branch: main, app_path: {root}/srv/bbc}}
    previews: {{app_path: "{root}/srv/bbc-pr-{{number}}", ports: 9200-9299}}
  bbs:
    repository: https://bitbucket.example.com/scm/acme/web.git
    environments:
      staging: {{branch: main, app_path: {root}/srv/bbs}}
    previews: {{app_path: "{root}/srv/bbs-pr-{{number}}", ports: 9300-9399}}
"""

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def ingest(tmp_path: Path):
    (tmp_path / "fraises.yaml").write_text(CONFIG.format(root=tmp_path, secret=SECRET))
    config = load_config(tmp_path / "fraises.yaml")
    store = open_store(config.state.url)
    handler = Ingest(config, store)
    yield handler
    handler.close()
    store.close()


def _another_delivery(headers: dict[str, str]) -> dict[str, str]:
    """The same headers with a new delivery id: another delivery, not a duplicate."""
    return {key: "another-delivery" if key.lower().endswith(("delivery", "request-uuid",
                                                            "request-id")) else value
            for key, value in headers.items()}


def _send(ingest: Ingest, headers: dict[str, str], body: bytes) -> Any:
    return ingest.handle(WebhookRequest({k.lower(): v for k, v in headers.items()}, body))


@pytest.mark.parametrize(("fixture", "event", "sign", "fraise", "number", "fork_path"), [
    (("gitea", "pull_request.json"), "pull_request", gitea_headers, "gt", 3,
     ("pull_request", "head", "repo", "full_name")),
    (("gitea", "pull_request.json"), "pull_request", forgejo_headers, "gt", 3,
     ("pull_request", "head", "repo", "full_name")),
    (("bitbucket", "cloud_pullrequest_created.json"), "pullrequest:created",
     bitbucket_cloud_headers, "bbc", 4, ("pullrequest", "source", "repository", "full_name")),
    (("bitbucket", "server_pr_opened.json"), "pr:opened", bitbucket_server_headers, "bbs", 5,
     ("pullRequest", "fromRef", "repository", "slug")),
])
def test_opened_queues_the_preview_and_a_fork_is_ignored(
        ingest: Ingest, fixture: tuple[str, str], event: str, sign: Headers, fraise: str,
        number: int, fork_path: tuple[str, ...]) -> None:
    body = fixture_bytes(*fixture)
    answer = _send(ingest, sign(event, body), body)
    assert answer.status_code == 202, answer.body
    [deployment_id] = answer.body["deployments"]
    deployment = ingest.store.queue.get(deployment_id)
    assert (deployment.fraise, deployment.environment, deployment.trigger) == (
        fraise, f"pr-{number}", "webhook")
    [logged] = ingest.store.webhooks.list(limit=1)
    assert logged["outcome"] == "queued" and logged["deployment_ids"] == [deployment_id]
    assert ingest.store.previews.get(fraise, number).status == "active"

    payload = json.loads(body)
    node = payload
    for key in fork_path[:-1]:
        node = node[key]
    node[fork_path[-1]] = "someone-else/web" if fork_path[-1] == "full_name" else "web-fork"
    pull = payload[fork_path[0]]
    pull["number" if "number" in pull else "id"] = number + 10
    forked = json.dumps(payload).encode()
    ignored = _send(ingest, _another_delivery(sign(event, forked)), forked)
    assert ignored.status_code == 200 and "comes from a fork" in ignored.body["reason"]

    refused = _send(ingest, sign(event, body, secret="not it"), body)
    assert refused.status_code == 401
    assert ingest.store.webhooks.list(limit=1)[0]["outcome"] == "rejected"
