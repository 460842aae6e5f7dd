"""A PostgreSQL role for a FraiseQL server (or any SQL client) beside Fraisier: it may read
the `v_fraiseql_*` views and call the three request functions of migration 0070, and nothing
else — every write goes through those functions (SECURITY DEFINER), so through their rules."""

from __future__ import annotations

import re

from fraisier.store.db import Database, StoreError

REQUEST_FUNCTIONS = ("fn_request_deployment(text, text, text, boolean)",
                     "fn_cancel_deployment(bigint)",
                     "fn_retry_deployment(bigint)")

# Plain identifiers only: the name is written into GRANT statements, which take no
# parameters.
_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def grant_request_role(db: Database, role: str) -> list[str]:
    """Grant `role` EXECUTE on the request functions and SELECT on the v_fraiseql_* views;
    the objects granted. StoreError (naming the role) when it cannot be done."""
    if db.backend != "postgres":
        raise StoreError("a database role needs a PostgreSQL state database "
                         "(state.url); SQLite has no roles")
    if not _ROLE.fullmatch(role):
        raise StoreError(f"role name {role!r}: use lower-case letters, digits and _ "
                         "(a plain PostgreSQL identifier)")
    if db.scalar("SELECT count(*) FROM pg_roles WHERE rolname = ?", (role,)) == 0:
        raise StoreError(f"role {role!r} does not exist: create it first "
                         f"(CREATE ROLE {role} LOGIN PASSWORD '...')")
    views = [row["viewname"] for row in db.fetchall(
        "SELECT viewname FROM pg_views WHERE schemaname = current_schema()"
        " AND left(viewname, 11) = 'v_fraiseql_' ORDER BY viewname")]
    granted = []
    with db.transaction():
        db.execute(f'GRANT USAGE ON SCHEMA "{_current_schema(db)}" TO "{role}"')
        for function in REQUEST_FUNCTIONS:
            db.execute(f'GRANT EXECUTE ON FUNCTION {function} TO "{role}"')
            granted.append(f"EXECUTE {function}")
        for view in views:
            db.execute(f'GRANT SELECT ON "{view}" TO "{role}"')
            granted.append(f"SELECT {view}")
    return granted


def _current_schema(db: Database) -> str:
    return str(db.scalar("SELECT current_schema()"))
