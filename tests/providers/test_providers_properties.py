"""Whatever arrives, providers answer with a result or a WebhookError — nothing else."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraisier.providers import (
    PROVIDERS,
    MalformedPayload,
    Secrets,
    WebhookError,
    detect_provider,
)
from tests.providers._support import (
    GITLAB_SIGNING_TOKEN,
    GITLAB_TOKEN,
    SECRET,
    bitbucket_cloud_headers,
    bitbucket_server_headers,
    forgejo_headers,
    gitea_headers,
    github_headers,
    gitlab_headers,
)

# More examples on demand (e.g. before a release) without slowing every run.
SETTINGS = settings(
    max_examples=int(os.environ.get("FRAISIER_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

REAL_HEADER_NAMES = [
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "X-Hub-Signature-256",
    "X-Hub-Signature",
    "Content-Type",
    "X-Gitlab-Event",
    "X-Gitlab-Token",
    "X-Gitlab-Event-UUID",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "X-Gitea-Event",
    "X-Gitea-Signature",
    "X-Gitea-Delivery",
    "X-Forgejo-Event",
    "X-Forgejo-Signature",
    "X-Forgejo-Delivery",
    "X-Event-Key",
    "X-Request-UUID",
    "X-Request-Id",
]
EVENT_VALUES = [
    "push",
    "ping",
    "Push Hook",
    "Tag Push Hook",
    "System Hook",
    "repo:push",
    "repo:refs_changed",
    "diagnostics:ping",
    "application/x-www-form-urlencoded",
    "application/json",
    "sha256=00",
    "sha1=00",
    "v1,AAAA",
    "1763600000",
]

header_values = st.one_of(st.text(max_size=80), st.sampled_from(EVENT_VALUES))
header_dicts = st.dictionaries(
    st.one_of(st.sampled_from(REAL_HEADER_NAMES), st.text(min_size=1, max_size=20)),
    header_values,
    max_size=12,
)
SECRET_SETS = [
    Secrets(),
    Secrets(webhook_secret=SECRET, secret_token=GITLAB_TOKEN, signing_token=GITLAB_SIGNING_TOKEN),
    Secrets(signing_token="whsec_not-base64!"),
]

KEYS = [
    "ref",
    "before",
    "after",
    "repository",
    "full_name",
    "clone_url",
    "ssh_url",
    "html_url",
    "commits",
    "added",
    "modified",
    "removed",
    "id",
    "head_commit",
    "deleted",
    "sender",
    "login",
    "project",
    "path_with_namespace",
    "checkout_sha",
    "total_commits_count",
    "object_kind",
    "push",
    "changes",
    "new",
    "old",
    "target",
    "hash",
    "type",
    "name",
    "closed",
    "links",
    "html",
    "href",
    "clone",
    "slug",
    "key",
    "toHash",
    "fromHash",
    "refId",
    "toCommit",
    "authorTimestamp",
    "actor",
    "author",
    "message",
    "timestamp",
]
SHAS = [
    "0" * 40,
    "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "refs/heads/main",
    "refs/tags/v1",
    "branch",
    "tag",
    "DELETE",
    "UPDATE",
    "acme/web",
]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(SHAS),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=6
        ),
    ),
    max_leaves=40,
)
json_objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)


def _call_safely(action) -> None:
    try:
        action()
    except WebhookError:
        pass


@pytest.mark.parametrize("name", sorted(PROVIDERS))
@SETTINGS
@given(headers=header_dicts, body=st.binary(max_size=400))
def test_arbitrary_requests_raise_only_webhook_errors(name: str, headers, body: bytes) -> None:
    provider = PROVIDERS[name]
    provider.detect(headers)
    detect_provider(headers)
    for secrets in SECRET_SETS:
        _call_safely(lambda s=secrets: provider.verify(headers, body, s, now=1_763_600_000))
    _call_safely(lambda: provider.parse(headers, body))


def _signed(name: str, event: str, body: bytes) -> dict[str, str]:
    return {
        "github": lambda: github_headers(event, body),
        "gitlab": lambda: gitlab_headers(event, body),
        "gitea": lambda: gitea_headers(event, body),
        "forgejo": lambda: forgejo_headers(event, body),
        "bitbucket": lambda: (
            bitbucket_server_headers(event, body)
            if event == "repo:refs_changed"
            else bitbucket_cloud_headers(event, body)
        ),
    }[name]()


PUSH_EVENTS = [
    ("github", "push"),
    ("github", "ping"),
    ("gitlab", "Push Hook"),
    ("gitlab", "Tag Push Hook"),
    ("gitlab", "System Hook"),
    ("gitea", "push"),
    ("forgejo", "push"),
    ("bitbucket", "repo:push"),
    ("bitbucket", "repo:refs_changed"),
]


@pytest.mark.parametrize(("name", "event"), PUSH_EVENTS)
@SETTINGS
@given(value=st.one_of(json_values, json_objects))
def test_signed_arbitrary_json_is_parsed_or_malformed(name: str, event: str, value) -> None:
    body = json.dumps(value).encode()
    headers = _signed(name, event, body)
    secrets = Secrets(webhook_secret=SECRET, secret_token=GITLAB_TOKEN)
    PROVIDERS[name].verify(headers, body, secrets)
    try:
        delivery = PROVIDERS[name].parse(headers, body)
    except MalformedPayload:
        return
    for push in delivery.pushes:
        assert push.ref.startswith("refs/")
        assert len(push.after) in (40, 64)
