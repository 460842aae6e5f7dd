"""Pure decisions: which secrets verify a request, and which environments a push deploys.

No I/O here: the handler feeds in the configured targets and a parsed delivery, and gets back
plain answers it can record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from pydantic import SecretStr

from fraisier.domain import PushEvent
from fraisier.providers import Headers, Provider, Secrets, SignatureError, repository_matches

if TYPE_CHECKING:
    from fraisier.config import Target
    from fraisier.config.model import MappingTarget, ProviderSecrets

BranchMapping = Mapping[str, Sequence["MappingTarget"]]


@dataclass(frozen=True)
class Route:
    fraise: str
    environment: str
    push: PushEvent


def secrets_for(target: Target, provider_name: str) -> Secrets:
    """The secrets that apply to one target for one provider (per-environment and per-fraise
    overrides are already folded into `target.secrets`). Forgejo falls back to the `gitea`
    section: Forgejo is a Gitea fork and many set-ups configure it there."""
    section = target.secrets.provider(provider_name)
    if provider_name == "forgejo" and not _any_set(section):
        section = target.secrets.provider("gitea")
    return Secrets(webhook_secret=_value(section.webhook_secret),
                   secret_token=_value(section.secret_token),
                   signing_token=_value(section.signing_token))


def _value(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def _any_set(section: ProviderSecrets) -> bool:
    return any(getattr(section, key) is not None for key in type(section).model_fields)


def repository_candidates(targets: Iterable[Target], pushes: Sequence[PushEvent]
                          ) -> list[Target]:
    """Targets whose configured repository is the pushed one: the only ones a push may touch."""
    return [t for t in targets if any(repository_matches(t.repository, p) for p in pushes)]


def verified_targets(provider: Provider, headers: Headers, body: bytes,
                     targets: Sequence[Target], now: float | None = None) -> list[Target]:
    """The targets whose secrets verify this request; SignatureError when none do.

    Each distinct set of secrets is tried once. Fail closed: targets with nothing configured
    for this provider can never be triggered.
    """
    by_secrets: dict[Secrets, list[Target]] = {}
    for target in targets:
        secrets = secrets_for(target, provider.name)
        if any((secrets.webhook_secret, secrets.secret_token, secrets.signing_token)):
            by_secrets.setdefault(secrets, []).append(target)
    if not by_secrets:
        section = "gitea" if provider.name == "forgejo" else provider.name
        raise SignatureError(
            f"no webhook secret configured for {provider.name} (set git.{section}."
            f"{'secret_token or signing_token' if provider.name == 'gitlab' else 'webhook_secret'}"
            " at the top level, per fraise or per environment)")
    verified: list[Target] = []
    last_error: SignatureError | None = None
    for secrets, group in by_secrets.items():
        try:
            provider.verify(headers, body, secrets, now=now)
        except SignatureError as exc:
            last_error = exc
            continue
        verified.extend(group)
    if not verified:
        assert last_error is not None
        raise last_error
    return verified


def paths_match(patterns: Sequence[str] | None, changed: Sequence[str] | None) -> bool:
    """No `paths` configured, or a push that does not list its files: deploy. Otherwise only
    when a changed file matches one of the globs."""
    if patterns is None or changed is None:
        return True
    return any(fnmatchcase(path, pattern) for path in changed for pattern in patterns)


def route(push: PushEvent, targets: Sequence[Target], branch_mapping: BranchMapping
          ) -> tuple[list[Route], str]:
    """The environments one push deploys, or ([], why not)."""
    if push.deleted:
        return [], f"{push.ref} was deleted"
    branch, tag = push.branch, push.tag
    if branch is None and tag is None:
        return [], f"{push.ref} is neither a branch nor a tag"
    eligible = [t for t in targets if repository_matches(t.repository, push)]
    chosen: dict[tuple[str, str], Target] = {}
    for target in eligible:
        if _ref_matches(target, branch, tag):
            chosen[(target.fraise, target.environment)] = target
    if branch is not None:
        by_name = {(t.fraise, t.environment): t for t in eligible}
        for pattern, mapped in branch_mapping.items():
            if fnmatchcase(branch, pattern):
                for entry in mapped:
                    key = (entry.fraise, entry.environment)
                    if key in by_name:
                        chosen[key] = by_name[key]
    if not chosen:
        what = f"branch {branch!r}" if branch is not None else f"tag {tag!r}"
        return [], f"{what} is not mapped to any environment"
    routes = [Route(t.fraise, t.environment, push) for t in chosen.values()
              if paths_match(t.paths, push.changed_paths)]
    if not routes:
        return [], "no changed file matches the environment's paths"
    return routes, ""


def _ref_matches(target: Target, branch: str | None, tag: str | None) -> bool:
    """A branch push matches the environment's `branch` glob; a tag push its `tags` glob."""
    if branch is not None:
        return fnmatchcase(branch, target.branch)
    return tag is not None and target.tags is not None and fnmatchcase(tag, target.tags)


def route_all(pushes: Sequence[PushEvent], targets: Sequence[Target],
              branch_mapping: BranchMapping) -> tuple[list[Route], str]:
    """Route every push of a delivery; a later push to the same environment wins."""
    chosen: dict[tuple[str, str], Route] = {}
    reasons: list[str] = []
    for push in pushes:
        routes, reason = route(push, targets, branch_mapping)
        if reason:
            reasons.append(reason)
        for r in routes:
            chosen[(r.fraise, r.environment)] = r
    return list(chosen.values()), "; ".join(reasons) or "nothing to deploy"
