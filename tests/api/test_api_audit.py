"""The audit log through the API: mutations are recorded with the token's name and the
client's address; `auditLog` needs the admin scope; the table refuses updates and deletes."""

from __future__ import annotations

import pytest

DEPLOY = """mutation($f: String!, $e: String!) {
  deploy(fraiseId: $f, environment: $e) { id } }"""
CANCEL = "mutation($id: ID!) { cancelDeployment(id: $id) { id } }"
AUDIT = """query($action: String) { auditLog(action: $action) {
  id actor actorKind source action subject deploymentId outcome detail } }"""


def test_mutations_are_recorded_with_token_and_address(live_api):
    fraise, environment = next((t.fraise, t.environment) for t in live_api.config.targets())
    deployed = live_api.gql(DEPLOY, {"f": fraise, "e": environment}, token="deploy")["deploy"]
    live_api.gql(CANCEL, {"id": deployed["id"]}, token="deploy")
    # Cancelling it again is refused by the rules, and recorded as refused.
    assert live_api.codes(CANCEL, {"id": deployed["id"]}, token="deploy") == ["CONFLICT"]
    created = live_api.gql('mutation { createApiToken(name: "ci", scope: READ) { token } }',
                           token="admin")["createApiToken"]["token"]
    live_api.gql('mutation { revokeApiToken(name: "ci") }', token="admin")

    entries = live_api.gql(AUDIT, token="admin")["auditLog"]
    mine = [e for e in entries if e["actor"] in ("test-deploy", "test-admin")]
    assert [(e["action"], e["outcome"]) for e in reversed(mine)] == [
        ("deploy", "ok"), ("cancel", "ok"), ("cancel", "refused"), ("token.create", "ok"),
        ("token.revoke", "ok")]
    deploy = mine[-1]
    assert deploy["subject"] == f"{fraise}/{environment}"
    assert deploy["deploymentId"] == deployed["id"] and deploy["actorKind"] == "token"
    assert deploy["source"] == "api from 127.0.0.1"
    refused = mine[2]
    assert "already cancelled" in refused["detail"]
    assert created not in str(entries)  # a token's value never reaches the log

    only = live_api.gql(AUDIT, {"action": "token.create"}, token="admin")["auditLog"]
    assert {e["action"] for e in only} == {"token.create"}


def test_the_audit_log_needs_the_admin_scope(live_api):
    assert live_api.codes(AUDIT, token="deploy") == ["FORBIDDEN"]
    assert live_api.codes(AUDIT, token=None) == ["UNAUTHENTICATED"]


def test_the_audit_table_is_append_only(live_api):
    live_api.gql('mutation { createApiToken(name: "one", scope: READ) { name } }',
                 token="admin")
    db = live_api.store.db
    for statement in ("UPDATE tb_audit SET actor = 'someone else'", "DELETE FROM tb_audit"):
        # The database's own error (sqlite3.IntegrityError, psycopg's RaiseException).
        with pytest.raises(Exception, match="append-only"), db.transaction():
            db.execute(statement)
    assert db.scalar("SELECT COUNT(*) FROM tb_audit WHERE actor = 'test-admin'") >= 1
