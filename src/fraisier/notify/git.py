"""The git provider a target reports to (commit status, GitHub deployment, issue), and the
calls each delivery makes through `fraisier.providers.api`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fraisier.config.model import FraisierConfig, ProviderSecrets
from fraisier.config.resolve import Target
from fraisier.notify.events import FAILURE_EVENTS
from fraisier.providers._common import _split_remote
from fraisier.providers.api import ApiError, ProviderApi, State, client_for
from fraisier.providers.api.github import GitHubApi
from fraisier.store import NotFound, Store

PROVIDER_NAMES = ("github", "gitlab", "gitea", "forgejo", "bitbucket")
# Hosts whose provider is known without configuration.
_KNOWN_HOSTS = {"github.com": "github", "gitlab.com": "gitlab", "bitbucket.org": "bitbucket",
                "codeberg.org": "forgejo"}
_STATES: dict[str, State] = {
    "deployment.started": "pending",
    "deployment.succeeded": "success",
    "deployment.failed": "failure",
    "deployment.rolled_back": "failure",
    "deployment.rollback_failed": "failure",
    "deployment.interrupted": "error",
    "deployment.cancelled": "error",
}
_GITHUB_DEPLOYMENT_STATES = {"pending": "in_progress", "success": "success",
                             "failure": "failure", "error": "error"}
_DESCRIPTIONS = {
    "deployment.started": "Deploying to {env}",
    "deployment.succeeded": "Deployed to {env}",
    "deployment.failed": "Deployment to {env} failed",
    "deployment.rolled_back": "Deployment to {env} failed and was rolled back",
    "deployment.rollback_failed": "Deployment to {env} failed; the rollback failed too",
    "deployment.interrupted": "Deployment to {env} was interrupted",
    "deployment.cancelled": "Deployment to {env} was cancelled",
}


@dataclass(frozen=True)
class ProviderTarget:
    """One provider API a target reports to."""

    provider: str
    repository: str | None  # "owner/name"; None when the repository URL does not say
    settings: ProviderSecrets

    @property
    def commit_status(self) -> bool:
        return self.settings.commit_status is not False

    @property
    def deployments(self) -> bool:
        return self.provider == "github" and self.settings.deployments is not False

    @property
    def issue_on_failure(self) -> bool:
        return bool(self.settings.issue_on_failure)

    @property
    def has_issues(self) -> bool:
        return not (self.provider == "bitbucket" and _is_bitbucket_server(self.settings))

    def client(self, timeout: float) -> ProviderApi:
        token = self.settings.api_token
        if token is None or self.repository is None:
            raise ApiError(f"git.{self.provider}: api_token and repository are needed")
        return client_for(self.provider, token=token.get_secret_value(),
                          repository=self.repository, api_url=self.settings.api_url,
                          timeout=timeout)


def _is_bitbucket_server(settings: ProviderSecrets) -> bool:
    return bool(settings.api_url) and "api.bitbucket.org" not in (settings.api_url or "")


def provider_target(target: Target) -> ProviderTarget | None:
    """The provider whose API this target reports to: among the providers given an
    api_token, the one the repository's host (or api_url's host) says; the only one when a
    single provider has a token."""
    with_token = [name for name in PROVIDER_NAMES
                  if target.secrets.provider(name).api_token is not None]
    if not with_token:
        return None
    remote = _split_remote(target.repository)
    host = remote[0] if remote else None
    chosen = None
    for name in with_token:
        api_url = target.secrets.provider(name).api_url
        api_host = urlsplit(api_url).hostname if api_url else None
        if host and (_KNOWN_HOSTS.get(host) == name or api_host == host
                     or (api_host and api_host.removeprefix("api.") == host)):
            chosen = name
            break
    # The only provider with a token, unless the host says the repository lives elsewhere.
    if chosen is None and len(with_token) == 1 and (host is None or host not in _KNOWN_HOSTS):
        chosen = with_token[0]
    if chosen is None:
        return None
    settings = target.secrets.provider(chosen)
    return ProviderTarget(chosen, settings.repository or _repository_path(remote, chosen),
                          settings)


def _repository_path(remote: tuple[str, str] | None, provider: str) -> str | None:
    if remote is None:
        return None
    path = remote[1]
    if provider == "bitbucket" and path.startswith("scm/"):
        path = path.removeprefix("scm/")  # Bitbucket Server's https clone URLs
    return path if "/" in path else None


def provider_deliveries(provider: ProviderTarget, event: str) -> list[tuple[str, str]]:
    """(channel, kind) pairs this deployment event owes the provider."""
    if event not in _STATES:
        return []
    wanted = []
    if provider.commit_status:
        wanted.append((f"{provider.provider}:status", "commit_status"))
    if provider.deployments:
        wanted.append((f"{provider.provider}:deployment", "deployment"))
    if provider.issue_on_failure and provider.has_issues and (
            event in FAILURE_EVENTS or event == "deployment.succeeded"):
        wanted.append((f"{provider.provider}:issue", "issue"))
    return wanted


class Skip(Exception):
    """Nothing to do for this delivery (recorded as skipped, not failed)."""


def deliver_to_provider(store: Store, config: FraisierConfig, delivery: dict[str, Any],
                        fields: dict[str, str], timeout: float) -> int | None:
    """Make the provider call(s) of one delivery; returns the last HTTP status. Raises
    ApiError (failed: retried) or Skip."""
    fraise, environment = delivery["fraise"], delivery["environment"]
    try:
        target = config.target(fraise, environment)
    except Exception as exc:
        raise Skip(f"{fraise}/{environment} is no longer configured") from exc
    provider = provider_target(target)
    if provider is None or f"{provider.provider}:" not in delivery["channel"]:
        raise Skip("the provider API is no longer configured for this target")
    if provider.repository is None:
        raise Skip(f"git.{provider.provider}.repository is needed: the repository "
                   "URL does not name one")
    client = provider.client(timeout)
    event = delivery["event"]
    state = _STATES[event]
    description = _DESCRIPTIONS[event].format(env=environment)
    if delivery["payload"].get("error") and state != "success":
        description += f": {delivery['payload']['error']}"
    kind = delivery["kind"]
    if kind == "issue":
        return _issue(store, client, provider, delivery, fields)
    sha = fields["commit"]
    if len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha.lower()):
        raise Skip("no full commit sha is known for this deployment")
    if event == "deployment.cancelled" and not _started(store, delivery["deployment_id"]):
        raise Skip("cancelled before it started")
    link = fields["link"] or None
    if kind == "commit_status":
        return client.commit_status(sha, state, context=f"fraisier/{environment}",
                                    description=description, target_url=link).status
    if kind == "deployment" and isinstance(client, GitHubApi):
        return _github_deployment(store, client, delivery, sha, state, description, link,
                                  provider.settings.environment_url)
    raise Skip(f"nothing to do for a {kind} delivery on {provider.provider}")


def _started(store: Store, deployment_id: int | None) -> bool:
    if deployment_id is None:
        return False
    try:
        return store.queue.get(deployment_id, with_steps=False).started_at is not None
    except NotFound:
        return False


def _github_deployment(store: Store, client: GitHubApi, delivery: dict[str, Any], sha: str,
                       state: State, description: str, link: str | None,
                       environment_url: str | None) -> int | None:
    """One GitHub deployment per Fraisier deployment (its id kept, so a retry or the final
    status never makes a second one), then the status of this event."""
    environment = delivery["environment"]
    key = f"github-deployment:{client.repo}:{delivery['deployment_id']}"
    known = store.notifications.link(key)
    if known is None:
        github_id = client.create_deployment(
            sha, environment, description=description,
            production=environment in ("production", "prod"),
            payload={"fraisier_deployment": delivery["deployment_id"],
                     "fraise": delivery["fraise"]})
        store.notifications.set_link(key, github_id)
    else:
        github_id = str(known["external_id"])
    return client.deployment_status(
        github_id, _GITHUB_DEPLOYMENT_STATES[state], environment=environment,
        description=description, log_url=link,
        environment_url=environment_url if state == "success" else None).status


def _issue(store: Store, client: ProviderApi, provider: ProviderTarget,
           delivery: dict[str, Any], fields: dict[str, str]) -> int | None:
    """While an environment fails, one issue is open: the first failure opens it, the next
    ones comment on it, the next success comments and closes it."""
    where = f"{delivery['fraise']}/{delivery['environment']}"
    key = f"issue:{provider.provider}:{provider.repository}:{where}"
    known = store.notifications.link(key)
    summary = _issue_text(fields)
    if delivery["event"] == "deployment.succeeded":
        if known is None:
            raise Skip(f"no open issue for {where}")
        issue = str(known["external_id"])
        client.comment_issue(issue, f"Deployed successfully again.\n\n{summary}")
        status = client.close_issue(issue).status
        store.notifications.drop_link(key)
        return status
    if known is not None:
        return client.comment_issue(str(known["external_id"]), f"Failed again.\n\n{summary}"
                                    ).status
    number, url = client.open_issue(f"Deployments of {where} are failing", summary)
    store.notifications.set_link(key, number, url)
    return None


def _issue_text(fields: dict[str, str]) -> str:
    from fraisier.notify.templates import default_body

    return default_body(fields)
