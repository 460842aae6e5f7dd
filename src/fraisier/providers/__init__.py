"""Webhook providers: who sent a request, whether it is authentic, what it says.

Pure functions over (headers, raw body bytes, secrets); no I/O, no web
framework. Every failure is a `WebhookError` subclass carrying the HTTP
status the caller should answer with.
"""

from __future__ import annotations

from fraisier.providers._common import (
    Delivery,
    Headers,
    MalformedPayload,
    Provider,
    Secrets,
    SignatureError,
    WebhookError,
    lower_headers,
    normalize_repository_url,
    repository_matches,
)
from fraisier.providers.bitbucket import provider as _bitbucket
from fraisier.providers.gitea import forgejo_provider as _forgejo
from fraisier.providers.gitea import gitea_provider as _gitea
from fraisier.providers.github import provider as _github
from fraisier.providers.gitlab import provider as _gitlab

PROVIDERS: dict[str, Provider] = {
    "github": _github,
    "gitlab": _gitlab,
    "gitea": _gitea,
    "forgejo": _forgejo,
    "bitbucket": _bitbucket,
}

# Gitea and Forgejo also send GitHub's headers, and Forgejo sends Gitea's:
# ask the most specific providers first and GitHub last.
_DETECTION_ORDER = ("forgejo", "gitea", "gitlab", "bitbucket", "github")


def detect_provider(headers: Headers) -> Provider | None:
    lowered = lower_headers(headers)
    for name in _DETECTION_ORDER:
        if PROVIDERS[name].detect(lowered):
            return PROVIDERS[name]
    return None


def get_provider(name: str) -> Provider:
    """The provider registered as `name`; KeyError when there is none."""
    return PROVIDERS[name]


__all__ = [
    "PROVIDERS",
    "Delivery",
    "Headers",
    "MalformedPayload",
    "Provider",
    "Secrets",
    "SignatureError",
    "WebhookError",
    "detect_provider",
    "get_provider",
    "lower_headers",
    "normalize_repository_url",
    "repository_matches",
]
