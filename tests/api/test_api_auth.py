"""Tokens and scopes: reads need read, mutations deploy, token management admin; a refused
request changes nothing."""

from __future__ import annotations

import pytest

DEPLOY = 'mutation { deploy(fraiseId: "hello", environment: "production") { id status } }'
READ = "{ fraises { id } }"
TOKENS = "{ apiTokens { name scope revokedAt } }"


def _deployments(api) -> int:
    return int(api.store.db.scalar("SELECT COUNT(*) FROM tb_deployment"))


@pytest.mark.parametrize("token", [None, "frs_not-a-real-token", "garbage"])
def test_missing_or_wrong_token_is_unauthenticated(sqlite_api, token):
    assert sqlite_api.codes(READ, token=token) == ["UNAUTHENTICATED"]
    assert sqlite_api.codes(DEPLOY, token=token) == ["UNAUTHENTICATED"]
    assert _deployments(sqlite_api) == 0


def test_each_scope_gets_exactly_its_operations(sqlite_api):
    assert sqlite_api.gql(READ, token="read") == {"fraises": [{"id": "hello"}]}
    assert sqlite_api.codes(DEPLOY, token="read") == ["FORBIDDEN"]
    assert _deployments(sqlite_api) == 0
    assert sqlite_api.codes(TOKENS, token="read") == ["FORBIDDEN"]
    assert sqlite_api.codes(TOKENS, token="deploy") == ["FORBIDDEN"]
    created = 'mutation { createApiToken(name: "ci", scope: DEPLOY) { token } }'
    assert sqlite_api.codes(created, token="deploy") == ["FORBIDDEN"]
    assert "ci" not in [t.name for t in __import__("fraisier.store.tokens", fromlist=["Tokens"])
                        .Tokens(sqlite_api.store.db).list()]

    assert sqlite_api.gql(DEPLOY, token="deploy")["deploy"]["status"] == "QUEUED"
    assert sqlite_api.gql(DEPLOY, token="admin")["deploy"]["status"] == "QUEUED"
    listed = sqlite_api.gql(TOKENS.replace("revokedAt", "revokedAt lastUsedAt"),
                            token="admin")["apiTokens"]
    assert [t["name"] for t in listed] == ["test-admin", "test-deploy", "test-read"]
    assert all(t["lastUsedAt"] for t in listed)  # each was used above


def test_tokens_created_and_revoked_through_the_api(sqlite_api):
    data = sqlite_api.gql('mutation { createApiToken(name: "ci", scope: READ) { name scope token'
                          " } }", token="admin")["createApiToken"]
    assert data["scope"] == "READ" and data["token"].startswith("frs_")
    assert sqlite_api.gql(READ, token=data["token"])["fraises"]
    stored = sqlite_api.store.db.fetchall("SELECT * FROM tb_api_token WHERE name = 'ci'")
    assert data["token"] not in str(stored)  # only the hash is kept
    assert sqlite_api.gql('mutation { revokeApiToken(name: "ci") }', token="admin")
    assert sqlite_api.codes(READ, token=data["token"]) == ["UNAUTHENTICATED"]
    assert sqlite_api.codes('mutation { revokeApiToken(name: "ci") }', token="admin") == [
        "NOT_FOUND"]
    dup = 'mutation { createApiToken(name: "test-read", scope: READ) { token } }'
    assert sqlite_api.codes(dup, token="admin") == ["BAD_USER_INPUT"]
