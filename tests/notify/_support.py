"""What the notification tests share: a local HTTP server standing in for a provider's API
(or any webhook receiver) and a tiny git repository with a fraise that deploys in a
second."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fraisier.demo.workspace import free_port


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    hang: bool = False  # keep the connection open without answering (until the server stops)


class StandIn:
    """A local HTTP server standing in for a provider API (GitHub, GitLab, Gitea, Bitbucket)
    or a chat webhook: it records every request and answers by (method, path pattern)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.routes: list[tuple[str, re.Pattern[str], Callable[[Request], Reply]]] = []
        self.released = threading.Event()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                request = Request(self.command, self.path, {k.lower(): v for k, v in
                                                            self.headers.items()}, body)
                stand_in.requests.append(request)
                reply = stand_in.reply_for(request)
                if reply.hang:
                    stand_in.released.wait(120)
                    return
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = _serve  # noqa: N815 - http.server names them

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, pattern: str,
              reply: Reply | Callable[[Request], Reply]) -> None:
        answer = reply if callable(reply) else (lambda _r, fixed=reply: fixed)
        self.routes.insert(0, (method, re.compile(pattern), answer))

    def reply_for(self, request: Request) -> Reply:
        for method, pattern, answer in self.routes:
            if method == request.method and pattern.fullmatch(request.path.split("?")[0]):
                return answer(request)
        return Reply(200, {})

    def matching(self, method: str, pattern: str) -> list[Request]:
        compiled = re.compile(pattern)
        return [r for r in list(self.requests)
                if r.method == method and compiled.fullmatch(r.path.split("?")[0])]

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada Lovelace", "GIT_COMMITTER_EMAIL": "ada@example.com",
           "HOME": str(repo), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def make_repository(root: Path) -> Path:
    """A git repository whose build fails while a file named FAIL is committed."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.txt").write_text("v1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "First version")
    return repo


def commit(repo: Path, message: str, *, fail: bool) -> str:
    marker = repo / "FAIL"
    if fail:
        marker.write_text("fail\n")
    elif marker.exists():
        marker.unlink()
    (repo / "app.txt").write_text(message + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


FRAISE = """\
fraises:
  web:
    repository: {repo}
    build: [{py}, -c, "import pathlib, sys; sys.exit(3 if pathlib.Path('FAIL').exists() else 0)"]
    environments:
      production:
        branch: main
        app_path: {app}
"""


def write_config(root: Path, repo: Path, extra: str, *, state_url: str | None = None) -> Path:
    """fraises.yaml with the `web` fraise and `extra` (notifications, git, notifier, ...)."""
    state = state_url or f"sqlite:///{root}/state.db"
    text = f"state:\n  url: {state}\n" + extra + FRAISE.format(
        repo=repo, py=sys.executable, app=root / "app")
    path = root / "fraises.yaml"
    path.write_text(text)
    return path
