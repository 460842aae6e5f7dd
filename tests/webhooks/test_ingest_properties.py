"""Whatever arrives, ingest answers with a status it means: never an exception (a 500)."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.providers._support import SECRET, hex_hmac

from ._support import Receiver

HEADER_NAMES = ["X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256", "X-Hub-Signature",
                "X-Gitlab-Event", "X-Gitlab-Token", "webhook-id", "webhook-timestamp",
                "webhook-signature", "X-Gitea-Event", "X-Gitea-Signature", "X-Forgejo-Event",
                "X-Forgejo-Signature", "X-Event-Key", "X-Request-UUID", "Content-Type"]
EXPECTED = {200, 202, 400, 401, 404}
PROVIDERS = st.sampled_from([None, "github", "gitlab", "gitea", "forgejo", "bitbucket", "x"])
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                  max_size=4),
    max_leaves=20)


@SETTINGS
@given(headers=st.dictionaries(st.sampled_from(HEADER_NAMES), st.text(max_size=40), max_size=8),
       body=st.binary(max_size=400), provider=PROVIDERS)
def test_arbitrary_requests_never_fail(receiver, headers, body, provider):
    result = receiver.send(headers, body, provider=provider)
    assert result.status_code in EXPECTED
    assert result.body["status"] in {"queued", "ignored", "pong", "duplicate", "rejected"}


@SETTINGS
@given(payload=st.dictionaries(st.sampled_from(["ref", "after", "before", "repository",
                                                "commits", "deleted", "head_commit", "zen"]),
                               json_values, max_size=8),
       event=st.sampled_from(["push", "ping", "issues", ""]))
def test_signed_arbitrary_json_is_answered(receiver, payload, event):
    # Correctly signed, so parsing and routing are reached with hostile shapes.
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "X-Hub-Signature-256": "sha256=" + hex_hmac(body, SECRET),
               "Content-Type": "application/json"}
    result = receiver.send(headers, body)
    assert result.status_code in EXPECTED - {401, 404}


@SETTINGS
@given(repository=st.fixed_dictionaries({"full_name": st.text(max_size=30),
                                         "clone_url": st.text(max_size=60)}),
       ref=st.text(max_size=40), after=st.text(alphabet="0123456789abcdef", min_size=40,
                                               max_size=40))
def test_signed_pushes_with_odd_names_are_answered(tmp_path_factory, repository, ref, after):
    receiver = _shared(tmp_path_factory)
    body = json.dumps({"ref": ref, "after": after, "repository": repository}).encode()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hex_hmac(body, SECRET)}
    assert receiver.send(headers, body).status_code in {200, 202, 400}


_RECEIVERS: dict = {}


def _shared(factory):
    if "r" not in _RECEIVERS:
        _RECEIVERS["r"] = Receiver(factory.mktemp("props"))
    return _RECEIVERS["r"]
