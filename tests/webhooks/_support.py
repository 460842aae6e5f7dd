"""A configuration whose fraises are the repositories of the provider fixtures."""

from __future__ import annotations

import time
from pathlib import Path

from fraisier.config import load_config
from fraisier.ingest import WebhookRequest
from fraisier.ingest.handler import Ingest
from fraisier.store import open_store
from tests.providers._support import (
    GITLAB_SIGNING_TOKEN,
    GITLAB_TOKEN,
    SECRET,
    bitbucket_cloud_headers,
    bitbucket_server_headers,
    fixture_bytes,
    forgejo_headers,
    gitea_headers,
    github_headers,
    gitlab_headers,
)

FORGEJO_SECRET = "forgejo-only-secret"

CONFIG = """\
state:
  url: sqlite:///{root}/state.db
git:
{git}
branch_mapping:
  master:
    - fraise: gh
      environment: mapped
fraises:
  gh:
    repository: git@github.com:Codertocat/Hello-World.git
    environments:
      production: {{branch: master, app_path: {root}/srv/gh-production}}
      mapped: {{branch: never-pushed, app_path: {root}/srv/gh-mapped}}
      features: {{branch: "feature/*", app_path: {root}/srv/gh-features}}
  gl:
    repository: https://gitlab.example.com/acme/web.git
    environments:
      production: {{branch: main, paths: ["app/*"], app_path: {root}/srv/gl-production}}
      docs: {{branch: main, paths: ["docs/*"], app_path: {root}/srv/gl-docs}}
      release: {{branch: never-pushed, tags: "v*", app_path: {root}/srv/gl-release}}
  gt:
    repository: https://gitea.example.com/acme/web
    environments:
      production: {{branch: main, app_path: {root}/srv/gt-production}}
  fj:
    repository: git@codeberg.example.org:acme/web.git
    git:
      forgejo: {{webhook_secret: {forgejo_secret}}}
    environments:
      production: {{branch: release, app_path: {root}/srv/fj-production}}
  bb:
    repository: git@bitbucket.org:acme/web.git
    environments:
      production: {{branch: main, app_path: {root}/srv/bb-production}}
      tagged: {{branch: never-pushed, tags: "v*", app_path: {root}/srv/bb-tagged}}
  bbs:
    repository: https://bitbucket.example.com/scm/acme/web.git
    environments:
      production: {{branch: main, app_path: {root}/srv/bbs-production}}
"""

ALL_SECRETS = f"""\
  github: {{webhook_secret: "{SECRET}"}}
  gitlab: {{secret_token: "{GITLAB_TOKEN}", signing_token: "{GITLAB_SIGNING_TOKEN}"}}
  gitea: {{webhook_secret: "{SECRET}"}}
  bitbucket: {{webhook_secret: "{SECRET}"}}
"""


def write_config(root: Path, git: str = ALL_SECRETS, extra: str = "") -> Path:
    path = root / "fraises.yaml"
    path.write_text(CONFIG.format(root=root, git=git or "  {}", forgejo_secret=FORGEJO_SECRET)
                    + extra)
    return path


class Receiver:
    """Config + store + Ingest, and a way to send a request through it."""

    def __init__(self, root: Path, git: str = ALL_SECRETS, extra: str = ""):
        self.config = load_config(write_config(root, git, extra))
        self.store = open_store(self.config.state.url)
        self.ingest = Ingest(self.config, self.store)

    def send(self, headers: dict, body: bytes, provider: str | None = None):
        lowered = {k.lower(): v for k, v in headers.items()}
        return self.ingest.handle(WebhookRequest(lowered, body, "127.0.0.1", provider))

    def deployments(self):
        return sorted(self.store.views.history(limit=1000, with_steps=False),
                      key=lambda r: r.id)

    def rows(self, sql: str, params=()):
        return self.store.db.fetchall(sql, params)

    def close(self):
        self.ingest.close()
        self.store.close()


def signed(provider: str, name: str, event: str | None = None):
    """(headers, body) of a fixture, signed as that provider signs it."""
    body = fixture_bytes(provider if provider != "bitbucket-server" else "bitbucket", name)
    if provider == "github":
        return github_headers(event or "push", body), body
    if provider == "gitlab":
        return gitlab_headers(event or "Push Hook", body, signed_at=int(time.time())), body
    if provider == "gitea":
        return gitea_headers("push", body), body
    if provider == "forgejo":
        return forgejo_headers("push", body, FORGEJO_SECRET), body
    if provider == "bitbucket":
        return bitbucket_cloud_headers(event or "repo:push", body), body
    if provider == "bitbucket-server":
        return bitbucket_server_headers(event or "repo:refs_changed", body), body
    raise ValueError(provider)
