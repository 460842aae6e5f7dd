"""What to fix when a webhook request was refused or ignored: a hint derived from the reason
Fraisier recorded, naming the configuration key involved. Pure: a reason in, a hint out."""

from __future__ import annotations

import re

_SECRET_KEY = {"github": "git.github.webhook_secret", "gitea": "git.gitea.webhook_secret",
               "forgejo": "git.gitea.webhook_secret", "bitbucket": "git.bitbucket.webhook_secret",
               "gitlab": "git.gitlab.secret_token (or signing_token)"}


def webhook_hint(provider: str, reason: str) -> str | None:
    """A sentence saying what to check, or None when the reason needs no fixing."""
    key = _SECRET_KEY.get(provider, f"git.{provider}.webhook_secret" if provider else
                          "the webhook secret of the provider")
    text = reason.lower()
    if "no webhook secret configured" in text or "configured" in text and "secret" in text:
        return (f"Fraisier refuses every request until a secret is set: set {key} in "
                "fraises.yaml and the same secret in the provider's webhook settings.")
    if "does not match" in text or "signature mismatch" in text:
        return (f"signature mismatch: check {key} — the secret in fraises.yaml and in the "
                "provider's webhook settings must be the same.")
    if "missing" in text and ("signature" in text or "token" in text):
        return (f"the request carried no signature: set a secret in the provider's webhook "
                f"settings, the same as {key}.")
    if "timestamp" in text:
        return "the request is too old or its clock is off: check the server's clock (NTP)."
    if "not the repository of any" in text:
        return ("no fraise names this repository: check each fraise's `repository` in "
                "fraises.yaml against the repository the provider sends.")
    if "events do not deploy" in text:
        return "only push events deploy: untick the other events in the provider's settings."
    if re.search(r"no environment|not mapped|no branch", text):
        return ("no environment follows this branch: add it as an environment's `branch` or "
                "in `branch_mapping`.")
    if text.startswith("413") or "too large" in text or "body over" in text:
        return "the body is over webhook.max_body_bytes: raise it or send fewer events."
    if text.startswith("429") or "rate" in text:
        return "too many requests from this source: see webhook.rate_limit_per_minute."
    if text.startswith("400") or "malformed" in text or "not json" in text:
        return "the body could not be read: the webhook's content type must be application/json."
    return None
