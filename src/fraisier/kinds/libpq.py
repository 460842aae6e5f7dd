"""Hand a PostgreSQL URL to libpq programs (pg_dump, pg_restore, psql) through PG* environment
variables, so a password never appears in a command line that `ps` can show."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

from fraisier.domain.redaction import url_without_password

# URL query parameters libpq also reads from the environment.
_QUERY_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
              "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT",
              "application_name": "PGAPPNAME", "options": "PGOPTIONS", "host": "PGHOST",
              "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
              "dbname": "PGDATABASE"}


class BadDatabaseUrl(ValueError):
    pass


def libpq_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise BadDatabaseUrl("expected a postgresql:// URL")
    env: dict[str, str] = {}
    if parts.hostname:
        env["PGHOST"] = unquote(parts.hostname)
    if parts.port:
        env["PGPORT"] = str(parts.port)
    if parts.username:
        env["PGUSER"] = unquote(parts.username)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    database = unquote(parts.path.lstrip("/"))
    if database:
        env["PGDATABASE"] = database
    for key, value in parse_qsl(parts.query):
        if key in _QUERY_ENV:
            env[_QUERY_ENV[key]] = value
    return env


def database_name(url: str) -> str:
    return libpq_env(url).get("PGDATABASE", "")


def redact(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return url_without_password(url)
