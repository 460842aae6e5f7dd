"""A STAND-IN for HashiCorp Vault / OpenBao (neither can be installed here): a local HTTP
server that answers the three endpoints Fraisier's vault backend uses, as Vault documents
them, so the real hvac client can be driven against it:

    GET  /v1/{mount}/data/{path}         KV version 2 read (X-Vault-Token)
    GET  /v1/auth/token/lookup-self      token lookup
    POST /v1/auth/{approle}/login        AppRole login: {"role_id", "secret_id"} -> auth.client_token
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fraisier.demo.workspace import free_port


@dataclass
class VaultState:
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)  # "mount/path" -> data
    tokens: dict[str, set[str]] = field(default_factory=dict)  # token -> readable "mount/path"
    roles: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (role, secret id)
    requests: list[str] = field(default_factory=list)


class VaultStandIn:
    def __init__(self, state: VaultState):
        self.state = state
        self.port = free_port()
        handler = type("Handler", (_Handler,), {"state": state})
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> VaultStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    state: VaultState

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.state.requests.append(f"GET {self.path}")
        token = self.headers.get("X-Vault-Token", "")
        allowed = self.state.tokens.get(token)
        if self.path == "/v1/auth/token/lookup-self":
            if allowed is None:
                return self._answer(403, {"errors": ["permission denied"]})
            return self._answer(200, {"data": {"id": token, "policies": ["default"], "ttl": 3600}})
        parts = self.path.removeprefix("/v1/").split("/data/", 1)
        if len(parts) != 2:
            return self._answer(404, {"errors": []})
        key = f"{parts[0]}/{parts[1]}"
        if allowed is None or key not in allowed:
            return self._answer(403, {"errors": ["permission denied"]})
        if key not in self.state.secrets:
            return self._answer(404, {"errors": []})
        return self._answer(200, {
            "request_id": str(uuid.uuid4()), "lease_id": "", "renewable": False,
            "lease_duration": 0, "wrap_info": None, "warnings": None, "auth": None,
            "data": {"data": self.state.secrets[key],
                     "metadata": {"created_time": "2026-11-29T00:00:00Z",
                                  "deletion_time": "", "destroyed": False, "version": 1}},
        })

    def do_POST(self) -> None:
        self.state.requests.append(f"POST {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not (self.path.startswith("/v1/auth/") and self.path.endswith("/login")):
            return self._answer(404, {"errors": []})
        paths = self.state.roles.get((body.get("role_id"), body.get("secret_id")))
        if paths is None:
            return self._answer(400, {"errors": ["invalid role or secret ID"]})
        token = "hvs." + uuid.uuid4().hex
        self.state.tokens[token] = paths
        return self._answer(200, {"auth": {"client_token": token, "accessor": uuid.uuid4().hex,
                                           "policies": ["default"], "lease_duration": 3600,
                                           "renewable": True}})
