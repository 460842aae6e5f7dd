"""PostgreSQL URLs reach pg_dump/pg_restore as PG* variables, and logs never show a password."""

from fraisier.kinds.libpq import libpq_env, redact


def test_url_becomes_libpq_environment():
    env = libpq_env("postgresql://app:s%40cret@db.internal:6543/shop?sslmode=require")
    assert env == {"PGHOST": "db.internal", "PGPORT": "6543", "PGUSER": "app",
                   "PGPASSWORD": "s@cret", "PGDATABASE": "shop", "PGSSLMODE": "require"}


def test_redact_hides_only_the_password():
    assert redact("postgresql://app:s3cret@db/shop") == "postgresql://app:***@db/shop"
    assert redact("postgresql://app@db/shop") == "postgresql://app@db/shop"
