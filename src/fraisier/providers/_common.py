"""Types and helpers shared by every provider module.

Everything here is a pure function over headers, raw body bytes and secrets.
The one promise the package makes to its caller: whatever bytes and headers
arrive, the answer is a result or a `WebhookError` subclass, never another
exception. The helpers below are written so that provider modules keep that
promise without sprinkling try/except everywhere.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import orjson

from fraisier.domain import PushEvent
from fraisier.domain.previews import PullRequestEvent

ZERO_SHA = "0" * 40

# Git object names: SHA-1 (40) or SHA-256 (64) hex. Checking the shape here
# means a value from an untrusted body can never reach a git command line
# as an option ("--upload-pack=...") or a revision range.
# `\Z`, not `$`: `$` also matches before a final newline, which would let "<sha>\n" through.
_SHA_PATTERN = re.compile(r"(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})\Z")
# Characters git refuses in a ref (git check-ref-format), plus anything a shell would treat
# specially: control characters, space, ~ ^ : ? * [ \ and DEL.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
# Loose refs are files under .git/refs: one component longer than a file name can be
# (NAME_MAX, 255 bytes) cannot be created by git at all, and GitHub, GitLab and Bitbucket
# refuse branch names past 255 bytes. The whole ref is capped so that a hostile body cannot
# make every later command line too long ("Argument list too long").
MAX_REF_COMPONENT_BYTES = 255
MAX_REF_BYTES = 1024

Headers = Mapping[str, str]


# --------------------------------------------------------------------------- errors


class WebhookError(Exception):
    """Base of every error a provider raises; carries the HTTP status to answer with."""

    status_code = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignatureError(WebhookError):
    """Missing or wrong signature/token, nothing configured to check against, or a stale timestamp."""

    status_code = 401


class MalformedPayload(WebhookError):
    """The body is not what the provider documents: not JSON, wrong shapes, fields missing."""

    status_code = 400


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Secrets:
    """What the caller knows for verification; each provider uses the ones it needs."""

    webhook_secret: str | None = None  # HMAC key: GitHub, Gitea/Forgejo, Bitbucket
    secret_token: str | None = None  # GitLab X-Gitlab-Token, compared verbatim
    signing_token: str | None = None  # GitLab Standard Webhooks key, "whsec_<base64>"


@dataclass(frozen=True)
class Delivery:
    """One webhook request, understood: what kind it is and the pushes it carries."""

    provider: str
    event_type: str
    delivery_id: str | None
    kind: Literal["push", "ping", "pull_request", "other"]
    pushes: tuple[PushEvent, ...]
    repository: str
    pull_requests: tuple[PullRequestEvent, ...] = ()


def pull_request_delivery(provider: str, event_type: str, delivery_id: str | None,
                          pull: PullRequestEvent | None, repository: str) -> Delivery:
    """A pull-request event's delivery; an action that asks nothing of a preview (a label,
    a review request) is an "other" delivery."""
    if pull is None:
        return Delivery(provider, event_type, delivery_id, "other", (), repository)
    return Delivery(provider, event_type, delivery_id, "pull_request", (), pull.repository,
                    (pull,))


class Provider(Protocol):
    name: str

    def detect(self, headers: Headers) -> bool: ...

    def verify(
        self, headers: Headers, body: bytes, secrets: Secrets, now: float | None = None
    ) -> None: ...

    def parse(self, headers: Headers, body: bytes) -> Delivery: ...


# --------------------------------------------------------------------------- headers


class LoweredHeaders(dict[str, Any]):
    """What `lower_headers` returns: names stripped and lower-cased, values stripped text.
    Handing one back to `lower_headers` costs nothing, so a caller that normalizes once can
    pass the result through detection, parsing and verification."""

    __slots__ = ()


def lower_headers(headers: Headers | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names are case-insensitive; normalize once so lookups are plain dict gets."""
    if type(headers) is LoweredHeaders:
        return headers
    items = headers.items() if isinstance(headers, Mapping) else headers
    result = LoweredHeaders()
    for key, value in items:
        if not isinstance(key, str):
            continue
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        elif not isinstance(value, str):
            value = str(value)
        result[key.strip().lower()] = value.strip()
    return result


def media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


# --------------------------------------------------------------------------- signatures


def _ascii_bytes(text: str) -> bytes:
    # compare_digest refuses non-ASCII str; bytes never raise. A replaced
    # character cannot match a hex or base64 digest anyway.
    return text.encode("utf-8", "replace")


def constant_time_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(_ascii_bytes(given), _ascii_bytes(expected))


def hmac_hex(secret: str, body: bytes, algorithm: str = "sha256") -> str:
    digestmod = hashlib.sha1 if algorithm == "sha1" else hashlib.sha256
    return hmac.new(secret.encode("utf-8"), body, digestmod).hexdigest()


def require_secret(secret: str | None, provider: str) -> str:
    """Fail closed: a webhook endpoint with nothing to check against accepts nothing."""
    if not secret:
        raise SignatureError(f"no webhook secret configured for {provider}")
    return secret


def check_hex_signature(
    given: str | None, secret: str, body: bytes, algorithm: str = "sha256"
) -> None:
    """`given` is a bare hex digest; hex is case-insensitive, so compare lower-cased."""
    if not given:
        raise SignatureError("missing signature")
    if not constant_time_equal(given.strip().lower(), hmac_hex(secret, body, algorithm)):
        raise SignatureError("signature does not match")


def check_prefixed_signature(
    given: str | None, secret: str, body: bytes, algorithms: tuple[str, ...] = ("sha256",)
) -> None:
    """`given` is "<algorithm>=<hex>", as GitHub and Bitbucket send it."""
    if not given:
        raise SignatureError("missing signature")
    algorithm, sep, digest = given.partition("=")
    algorithm = algorithm.strip().lower()
    if not sep or algorithm not in algorithms:
        raise SignatureError("unsupported signature format")
    check_hex_signature(digest, secret, body, algorithm)


# --------------------------------------------------------------------------- bodies


def load_json_object(body: bytes | str) -> dict[str, Any]:
    """Decode a JSON object; anything else (including absurd nesting) is MalformedPayload."""
    try:
        # orjson: parsing the body is the largest single cost of a webhook request, and this
        # is a few times faster than the standard library. It is also stricter (UTF-8 only,
        # no NaN, integers within 64 bits), which no provider's payload needs.
        value = orjson.loads(body)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise MalformedPayload("body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise MalformedPayload("JSON body is not an object")
    return value


def as_mapping(value: Any) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one: optional sub-objects."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """The value if it is a JSON array, else an empty one: optional lists."""
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str:
    """The value if it is a string, else "": optional string fields."""
    return value if isinstance(value, str) else ""


def valid_sha(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SHA_PATTERN.match(value):
        raise MalformedPayload(f"{what} is not a commit id")
    return value.lower()


def optional_sha(value: Any, what: str) -> str:
    """Like valid_sha, but a missing or null value means "no commit" (all zeros)."""
    if value is None or value == "":
        return ZERO_SHA
    return valid_sha(value, what)


def valid_ref(value: Any) -> str:
    """A full ref (`refs/heads/main`) that git would accept; MalformedPayload says why not."""
    if not isinstance(value, str) or not value:
        raise MalformedPayload("missing ref")
    reason = ref_problem(value)
    if reason:
        raise MalformedPayload(f"ref is not a valid git ref: {reason}")
    return value


def ref_problem(ref: str) -> str | None:
    """Why `ref` is not a full ref git would accept (git check-ref-format), or None."""
    size = len(ref.encode("utf-8", "surrogatepass"))
    if size > MAX_REF_BYTES:
        return f"{size} bytes long; at most {MAX_REF_BYTES}"
    if not ref.startswith("refs/"):
        return "it does not start with refs/"
    found = _REF_FORBIDDEN.search(ref)
    if found:
        return f"it contains {found.group()!r} at offset {found.start()}"
    parts = ref.split("/")
    if len(parts) < 3 or not parts[-1]:
        return "the branch or tag name is empty"
    if any(not part for part in parts):
        return "it contains an empty component (//)"
    if ".." in ref or "@{" in ref:
        return "it contains '..' or '@{'"
    for part in parts:
        if part.startswith(".") or part.endswith(".lock"):
            return f"component {part[:40]!r} starts with '.' or ends with '.lock'"
        if len(part.encode("utf-8", "surrogatepass")) > MAX_REF_COMPONENT_BYTES:
            return f"a component is longer than {MAX_REF_COMPONENT_BYTES} bytes"
    if ref.endswith("."):
        return "it ends with '.'"
    return None


def is_zero_sha(sha: str) -> bool:
    return set(sha) == {"0"}


def unique_urls(*candidates: Any) -> tuple[str, ...]:
    """Every non-empty string among `candidates`, first occurrence kept, order kept."""
    seen: dict[str, None] = {}
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            seen.setdefault(candidate.strip(), None)
    return tuple(seen)


def changed_paths(commits: Any) -> tuple[str, ...] | None:
    """Sorted union of added/modified/removed, or None when the payload does not say.

    None (not an empty tuple) when there are no commits or none of them carries
    the lists: "nothing changed" and "we were not told" must stay distinct, or
    path filters downstream would skip deployments they should run.
    """
    if not isinstance(commits, list) or not commits:
        return None
    paths: set[str] = set()
    listed = False
    for commit in commits:
        commit = as_mapping(commit)
        for key in ("added", "modified", "removed"):
            entries = commit.get(key)
            if isinstance(entries, list):
                listed = True
                paths.update(entry for entry in entries if isinstance(entry, str))
    return tuple(sorted(paths)) if listed else None


def head_commit(commits: Any, after: str) -> dict[str, Any]:
    """The pushed commit whose id is `after`, else the last one listed (payloads list oldest first)."""
    candidates = [as_mapping(commit) for commit in as_list(commits)]
    for commit in candidates:
        if as_text(commit.get("id")).lower() == after:
            return commit
    return candidates[-1] if candidates else {}


# --------------------------------------------------------------------------- repository URLs

_SCHEME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
# scp-like syntax git understands: [user@]host:path (not host://...).
_SCP_PATTERN = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?!//)(?P<path>.+)$")


def _strip_git_suffix(path: str) -> str:
    path = path.strip().rstrip("/")
    if path.lower().endswith(".git"):
        path = path[:-4]
    return path.rstrip("/")


@functools.lru_cache(maxsize=1024)  # pure, and every push compares a few configured URLs
def _split_remote(url: str) -> tuple[str, str] | None:
    """(host, path) for a remote URL, lower-cased; None for local paths and bare names."""
    url = url.strip()
    if _SCHEME_PATTERN.match(url) and not url.lower().startswith("file://"):
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            return None
        path = parts.path
    else:
        match = _SCP_PATTERN.match(url)
        if not match or url.startswith(("/", ".", "~")):
            return None
        host, path = match.group("host"), match.group("path")
    path = _strip_git_suffix(path).strip("/")
    if not host or not path:
        return None
    return host.lower(), path.lower()


def _is_local_path(url: str) -> bool:
    return url.lower().startswith("file://") or url.startswith(("/", "~", "./", "../"))


def normalize_repository_url(url_or_path: str) -> str:
    """Reduce the many spellings of one repository to a comparable string.

    * Remote URLs (https://, http://, ssh://, git://, scp-like git@host:owner/repo)
      become "host/owner/repo", lower-cased, without user, port, ".git" or
      trailing slashes. The port is dropped on purpose: Bitbucket Server serves
      ssh on 7999 and https on 443 for the same repository.
    * Local paths (absolute, ~, ./, ../ or file://) become an absolute path
      without trailing slash or ".git", case kept (file systems are
      case-sensitive). The path is not resolved against the file system:
      normalizing must not touch the disk.
    * Anything else (e.g. a bare "owner/repo") is stripped and lower-cased.
    """
    url = url_or_path.strip()
    if _is_local_path(url):
        path = url[len("file://") :] if url.lower().startswith("file://") else url
        path = os.path.abspath(os.path.expanduser(path or "/"))
        stripped = _strip_git_suffix(path)
        return stripped or "/"
    return _normalize_remote(url)


@functools.lru_cache(maxsize=1024)
def _normalize_remote(url: str) -> str:
    # Kept: every push names the same few URLs (the configured repositories, and each
    # payload's clone, ssh and html URLs), and matching a push normalizes about ten of them.
    # Only remote spellings are kept: a local path depends on the working directory.
    remote = _split_remote(url)
    if remote:
        return f"{remote[0]}/{remote[1]}"
    return _strip_git_suffix(url).strip("/").lower()


def repository_matches(configured: str, event: PushEvent) -> bool:
    """Does the repository a deployment is configured for match the pushed one?

    True when the normalized configured URL equals one of the event's clone
    URLs; when it is a bare "owner/repo" equal to event.repository; or when it
    is a remote URL on a host the event names whose path ends with
    "/<event.repository>" (covers e.g. an ssh remote for a Bitbucket Cloud
    push, whose payload only names the https page). Case-insensitive.
    """
    configured = configured.strip()
    if not configured:
        return False
    wanted = normalize_repository_url(configured)
    event_urls = {normalize_repository_url(url) for url in event.clone_urls}
    if wanted in event_urls:
        return True
    repository = event.repository.strip("/").lower()
    remote = _split_remote(configured)
    if remote is None:
        return not _is_local_path(configured) and bool(repository) and wanted == repository
    host, path = remote
    if not repository or not (path == repository or path.endswith("/" + repository)):
        return False
    event_hosts = {parts[0] for url in event.clone_urls if (parts := _split_remote(url))}
    return host in event_hosts
