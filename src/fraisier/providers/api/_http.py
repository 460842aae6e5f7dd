"""The one HTTP call every provider client makes: JSON in, JSON out, a timeout, and errors
that name the method and path but never the token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "fraisier"


class ApiError(Exception):
    """A provider API call failed. `status` is the HTTP status when the server answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Response:
    status: int
    body: Any  # the decoded JSON answer, or None

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None


class HttpClient:
    """httpx with the provider's base URL, authentication headers and a timeout."""

    def __init__(self, base_url: str, headers: dict[str, str], *,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        self.timeout = timeout
        self.last_status: int | None = None

    def request(self, method: str, path: str, json: Any = None,
                params: dict[str, str] | None = None) -> Response:
        import httpx

        url = self.base_url + path
        try:
            answer = httpx.request(method, url, json=json, params=params, headers=self.headers,
                                   timeout=httpx.Timeout(self.timeout), follow_redirects=False)
        except httpx.TimeoutException:
            raise ApiError(f"{method} {path}: no answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            # httpx's message names the URL at most, never the headers.
            raise ApiError(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        self.last_status = answer.status_code
        try:
            body = answer.json() if answer.content else None
        except ValueError:
            body = None
        if answer.status_code >= 400:
            raise ApiError(f"{method} {path}: HTTP {answer.status_code}{_reason(body)}",
                           answer.status_code)
        return Response(answer.status_code, body)


def _reason(body: Any) -> str:
    """The provider's own short explanation, when it gave one."""
    if isinstance(body, dict):
        for key in ("message", "error", "errors"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return f" ({value[:200]})"
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return f" ({value['message'][:200]})"
    return ""
