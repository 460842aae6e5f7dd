"""Every bad input gets its status, is recorded without its body, and queues nothing."""

import json

from tests.providers._support import SECRET, github_headers, gitlab_headers

from ._support import Receiver, signed


def _assert_rejected(receiver, result, status, reason_part):
    assert result.status_code == status, result.body
    assert result.body["status"] == "rejected"
    assert reason_part in result.body["reason"]
    assert receiver.deployments() == []
    rows = receiver.rows("SELECT outcome, reason, payload FROM tb_webhook_event")
    assert rows[-1]["outcome"] == "rejected"
    assert rows[-1]["reason"].startswith(str(status))
    assert rows[-1]["payload"] is None


def test_wrong_signature(receiver):
    headers, body = signed("github", "push_with-new-branch.payload.json")
    headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    _assert_rejected(receiver, receiver.send(headers, body), 401, "does not match")


def test_missing_signature(receiver):
    headers, body = signed("github", "push_with-new-branch.payload.json")
    del headers["X-Hub-Signature-256"]
    _assert_rejected(receiver, receiver.send(headers, body), 401, "missing")


def test_body_changed_after_signing(receiver):
    headers, body = signed("gitea", "push.json")
    _assert_rejected(receiver, receiver.send(headers, body.replace(b"main", b"prod")), 401,
                     "does not match")


def test_wrong_gitlab_token(receiver):
    headers, body = signed("gitlab", "push_hook.json")
    headers["X-Gitlab-Token"] = "guess"
    _assert_rejected(receiver, receiver.send(headers, body), 401, "X-Gitlab-Token")


def test_no_secret_configured_rejects_everything(tmp_path, caplog):
    receiver = Receiver(tmp_path, git="  {}")
    try:
        headers, body = signed("github", "push_with-new-branch.payload.json")
        with caplog.at_level("WARNING", logger="fraisier.ingest"):
            result = receiver.send(headers, body)
        _assert_rejected(receiver, result, 401, "no webhook secret configured for github")
        assert "git.github.webhook_secret" in caplog.text
    finally:
        receiver.close()


def test_naming_a_provider_is_not_a_bypass(receiver):
    # A correctly signed GitHub request sent to /webhook/gitlab is checked GitLab's way.
    headers, body = signed("github", "push_with-new-branch.payload.json")
    _assert_rejected(receiver, receiver.send(headers, body, provider="gitlab"), 401, "")


def test_unknown_provider_name(receiver):
    headers, body = signed("github", "push_with-new-branch.payload.json")
    _assert_rejected(receiver, receiver.send(headers, body, provider="svn"), 404, "unknown")


def test_undetectable_provider(receiver):
    _assert_rejected(receiver, receiver.send({"Content-Type": "application/json"}, b"{}"), 400,
                     "cannot tell")


def test_malformed_but_signed_is_400(receiver):
    body = b'{"ref": "refs/heads/master", "after": "not-a-sha"'
    _assert_rejected(receiver, receiver.send(github_headers("push", body), body), 400, "JSON")
    body = json.dumps({"ref": "refs/heads/master", "after": "x",
                       "repository": {"full_name": "Codertocat/Hello-World"}}).encode()
    _assert_rejected(receiver, receiver.send(github_headers("push", body), body), 400,
                     "not a commit id")


def test_malformed_and_unsigned_is_401(receiver):
    body = b"not json at all"
    headers = github_headers("push", body, secret="wrong " + SECRET)
    _assert_rejected(receiver, receiver.send(headers, body), 401, "")


def test_gitlab_without_signing_headers(receiver):
    body = json.dumps({"object_kind": "push"}).encode()
    _assert_rejected(receiver, receiver.send(gitlab_headers("Push Hook", body), body), 401,
                     "webhook-id")
