"""`notifications:` (channels), `notifier:` (how they are delivered) and `server:` (the public
address links point to) in fraises.yaml.

A channel's `url` is an Apprise URL and usually holds a token: it is a secret, never printed
whole (`scheme_of` gives the part that may be shown). Templates use `$name` placeholders
(bare, so the file's own `${VAR}` substitution leaves them alone); they are filled in with
`string.Template.safe_substitute`, never `format` or `eval`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from fraisier.config.fields import HttpUrlText, Name

DEPLOYMENT_EVENTS = (
    "deployment.started",
    "deployment.succeeded",
    "deployment.failed",
    "deployment.rolled_back",
    "deployment.rollback_failed",
    "deployment.interrupted",
    "deployment.cancelled",
)
NOTIFICATION_EVENTS = (*DEPLOYMENT_EVENTS, "run.failed", "backup.failed", "webhook.rejected")
DEFAULT_EVENTS = (
    "deployment.succeeded",
    "deployment.failed",
    "deployment.rolled_back",
    "deployment.rollback_failed",
    "deployment.interrupted",
    "run.failed",
    "backup.failed",
)


def scheme_of(url: str) -> str:
    """What of a channel URL may be shown: its scheme, e.g. 'slack://'."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://" if sep and scheme.isascii() and scheme.isalnum() else "(no scheme)"


class ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: Name
    url: SecretStr  # an Apprise URL; `${VAR}` works in it
    events: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENTS))
    fraises: list[Name] | None = None  # only these fraises (default: all)
    environments: list[Name] | None = None  # only these environments (default: all)
    title: str | None = None  # template, e.g. "$fraise/$environment: $status"
    body: str | None = None

    @field_validator("url")
    @classmethod
    def _has_scheme(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value().strip()
        if scheme_of(url) == "(no scheme)":
            # The value is not echoed: it may hold a token.
            raise ValueError("not an Apprise URL (expected scheme://..., e.g. slack://...)")
        return SecretStr(url)

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = [event for event in value if event not in NOTIFICATION_EVENTS]
        if unknown:
            raise ValueError(f"unknown event(s) {', '.join(map(repr, unknown))} (known: "
                             f"{', '.join(NOTIFICATION_EVENTS)})")
        if not value:
            raise ValueError("list at least one event (or remove the channel)")
        return value

    def wants(self, event: str, fraise: str | None, environment: str | None) -> bool:
        if event not in self.events:
            return False
        if self.fraises is not None and fraise not in self.fraises:
            return False
        return self.environments is None or environment in self.environments


def unique_channel_names(channels: list[ChannelConfig] | None) -> list[ChannelConfig] | None:
    if channels is None:
        return None
    seen: set[str] = set()
    for channel in channels:
        if channel.name in seen:
            raise ValueError(f"two channels are named {channel.name!r}")
        seen.add(channel.name)
    return channels


class NotificationFields(BaseModel):
    """`notifications:` where it may be written: top level, a fraise, an environment (and
    the top-level per-environment defaults). The most specific list written wins; `[]`
    silences a fraise or an environment."""

    model_config = ConfigDict(defer_build=True)

    notifications: list[ChannelConfig] | None = None

    @field_validator("notifications")
    @classmethod
    def _names(cls, value: list[ChannelConfig] | None) -> list[ChannelConfig] | None:
        return unique_channel_names(value)


class NotifierConfig(BaseModel):
    """`notifier:` how the notifier delivers (channels and provider API calls alike)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    enabled: bool = True  # run the notifier thread inside workers
    timeout_seconds: float = Field(10.0, gt=0, le=600)  # one attempt, wall clock
    max_attempts: int = Field(6, ge=1, le=100)
    retry_base_seconds: float = Field(15.0, gt=0)  # 15 s, 30 s, 60 s, ... between attempts
    retry_max_seconds: float = Field(3600.0, gt=0)
    poll_interval: float = Field(1.0, gt=0)


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    # Where people reach this server (e.g. behind a proxy); links in notifications and commit
    # statuses point to the dashboard's page of the deployment there.
    public_url: HttpUrlText | None = None

    def deployment_link(self, deployment_id: int | None, dashboard_path: str = "/") -> str:
        if not self.public_url or deployment_id is None:
            return ""
        # The dashboard's own route (hash-based), wherever `dashboard.path` puts it.
        base = self.public_url.rstrip("/") + dashboard_path.rstrip("/")
        return f"{base}/#/deployment/{deployment_id}"
