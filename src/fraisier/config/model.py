"""The shape of fraises.yaml as pydantic models.

Every model forbids unknown keys: a misspelt key must be an error, not a silently
ignored setting. Relative paths are anchored to the configuration file's directory,
which the loader passes in the validation context as `config_dir`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fraisier.config.api import ApiConfig
from fraisier.config.checks import reference_problems
from fraisier.config.commands import Command, CommandSpec
from fraisier.config.dashboard import DashboardConfig
from fraisier.config.errors import ConfigError
from fraisier.config.fields import (
    EnvMap,
    HttpUrlText,
    Name,
    Network,
    NonBlank,
    Secret,
    TcpAddress,
    UnitName,
    anchor_path,
    config_dir_of,
    is_remote_repository,
)
from fraisier.config.kinds import KindEnvironmentFields, KindFraiseFields
from fraisier.config.notifications import (
    NotificationFields,
    NotifierConfig,
    ServerConfig,
    unique_channel_names,
)
from fraisier.config.previews import PreviewsConfig
from fraisier.config.rollouts import Duration, RolloutFields
from fraisier.config.secrets import SecretBackend, secret_reference_problems
from fraisier.domain import FraiseType

if TYPE_CHECKING:
    from fraisier.config.resolve import Target

DEFAULT_KEEP_RELEASES = 5
DEFAULT_TIMEOUT = 600.0


class _Strict(BaseModel):
    # No `.inf` or `.nan`: an infinite timeout or interval would hang a deployment forever.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)


class HealthCheckConfig(_Strict):
    """How to tell that a freshly started release works: exactly one of url, tcp, command."""

    url: HttpUrlText | None = None
    tcp: TcpAddress | None = None
    command: Command | None = None
    timeout: float = Field(5.0, gt=0)  # per attempt, seconds
    retries: int = Field(10, ge=1)
    interval: float = Field(1.0, ge=0)  # seconds between attempts
    expect_status: int = Field(200, ge=100, le=599)
    headers: dict[str, str] = {}
    # Seconds between checks of the live release by the worker, between deployments (one
    # attempt each; what it sees shows in `fraisier status`, the API and the dashboard).
    # 0: never.
    watch_interval: float = Field(60.0, ge=0)
    # Sent as `Authorization: Bearer <token>` with every HTTP probe. A secret: shown as
    # `**********` wherever the configuration is printed, and blanked from logs and errors.
    auth_token: Secret = None

    @model_validator(mode="after")
    def _exactly_one_probe(self) -> HealthCheckConfig:
        chosen = [key for key in ("url", "tcp", "command") if getattr(self, key) is not None]
        if len(chosen) != 1:
            got = f" (got {' and '.join(chosen)})" if chosen else ""
            raise ValueError(f"set exactly one of url, tcp or command{got}")
        return self

    def request_headers(self) -> dict[str, str]:
        """The headers of an HTTP probe: `headers`, and the bearer token when there is one
        (registered with the redactor first, so nothing written afterwards shows it)."""
        from fraisier.domain.redaction import register_secret

        headers = dict(self.headers)
        if self.auth_token is not None:
            token = self.auth_token.get_secret_value()
            register_secret(token)
            headers["Authorization"] = f"Bearer {token}"
        return headers

    @property
    def kind(self) -> Literal["url", "tcp", "command"]:
        if self.url is not None:
            return "url"
        return "tcp" if self.tcp is not None else "command"


class MigrateConfig(_Strict):
    up: Command | None = None
    down: Command | None = None
    status: Command | None = None
    # Lists the pending migrations, one a line: `NAME` or `NAME irreversible` (raw commands).
    pending: Command | None = None
    tool: Literal["confiture", "alembic", "django"] | None = None
    # Where a preset's tool is looked for after <release>/.venv/bin and before PATH.
    tool_path: str | None = None
    database_url: str | None = None
    timeout: float | None = Field(None, gt=0)
    # PostgreSQL: a preset's migration gives up when it waits longer for a lock.
    lock_timeout: float = Field(10.0, gt=0)
    statement_timeout: float | None = Field(None, gt=0)  # default: the migrate step's timeout
    allow_irreversible: bool = False
    # PostgreSQL presets: run the pending migrations up and down on a scratch copy first.
    rehearse: bool = False

    @property
    def preset(self) -> bool:
        """A tool preset runs the migrations (raw `up`, when written, takes precedence)."""
        return self.tool is not None and self.up is None


class ProviderSecrets(_Strict):
    webhook_secret: Secret = None
    secret_token: Secret = None  # GitLab's X-Gitlab-Token
    signing_token: Secret = None  # GitLab's signed webhooks
    # The provider's API (commit statuses, deployments, issues): see docs/notifications.md.
    api_token: Secret = None
    api_url: HttpUrlText | None = None  # self-hosted GitHub Enterprise, GitLab, Gitea, ...
    repository: str | None = None  # "owner/name" when the repository URL does not say it
    commit_status: bool | None = None  # default: on when api_token is set
    deployments: bool | None = None  # GitHub's Deployments API; default: on with a token
    issue_on_failure: bool | None = None  # one open issue while an environment fails
    environment_url: HttpUrlText | None = None  # where the environment is seen (GitHub)

    def over(self, base: ProviderSecrets) -> ProviderSecrets:
        """These secrets, falling back to `base` key by key."""
        return ProviderSecrets(
            **{
                key: getattr(self, key) if getattr(self, key) is not None else getattr(base, key)
                for key in type(self).model_fields
            }
        )


class GitConfig(_Strict):
    github: ProviderSecrets = Field(default_factory=ProviderSecrets)
    gitlab: ProviderSecrets = Field(default_factory=ProviderSecrets)
    gitea: ProviderSecrets = Field(default_factory=ProviderSecrets)
    forgejo: ProviderSecrets = Field(default_factory=ProviderSecrets)
    bitbucket: ProviderSecrets = Field(default_factory=ProviderSecrets)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        # `github:` with every line below it commented out reads as null.
        if isinstance(data, dict):
            return {key: ({} if value is None else value) for key, value in data.items()}
        return data

    def provider(self, name: str) -> ProviderSecrets:
        found: ProviderSecrets = getattr(self, name)
        return found

    def over(self, base: GitConfig) -> GitConfig:
        """These secrets, falling back to `base` provider by provider and key by key."""
        return GitConfig(
            **{name: getattr(self, name).over(getattr(base, name)) for name in type(self).model_fields}
        )


_STATE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


class StateConfig(_Strict):
    # "" means "not given"; FraisierConfig fills in sqlite under data_dir.
    url: str = ""

    @field_validator("url")
    @classmethod
    def _supported_scheme(cls, value: str) -> str:
        if not value or value.startswith(_STATE_SCHEMES):
            return value
        if value.startswith("sqlite:"):
            raise ValueError("sqlite URLs take three slashes: sqlite:///path/to/state.db")
        # Only the scheme is echoed: the rest may carry a password.
        scheme = value.split(":", 1)[0] if ":" in value else value[:20]
        raise ValueError(
            f"unsupported state URL scheme {scheme!r} (use sqlite:/// or postgresql://)"
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite:///")

    @property
    def sqlite_path(self) -> Path | None:
        """The database file for sqlite URLs; None for PostgreSQL or an in-memory database."""
        if not self.is_sqlite:
            return None
        rest = self.url.removeprefix("sqlite:///")
        return None if rest in ("", ":memory:") else Path(rest)


class WebhookConfig(_Strict):
    max_body_bytes: int = Field(1_048_576, gt=0)
    rate_limit_per_minute: int = Field(600, gt=0)
    trusted_proxies: list[Network] = []
    # Deadlines for a slow client, for every request to `fraisier serve` (webhooks and API):
    # the request line and headers, then the whole body, must arrive within these.
    header_timeout_seconds: float = Field(10.0, gt=0)
    body_timeout_seconds: float = Field(30.0, gt=0)
    duplicate_window_seconds: int = Field(86_400, ge=0)
    # Recorded requests (with their bodies) older than this are deleted by the workers;
    # null keeps them for ever.
    retention_days: float | None = Field(90.0, gt=0)

    @model_validator(mode="after")
    def _retention_covers_duplicate_window(self) -> WebhookConfig:
        # The duplicate check reads the recorded requests: deleting them sooner would let a
        # repeated delivery deploy again.
        if (self.retention_days is not None
                and self.retention_days * 86_400 < self.duplicate_window_seconds):
            if "retention_days" not in self.model_fields_set:
                # Only the default is shorter: a longer window set before retention existed
                # keeps its meaning.
                self.retention_days = self.duplicate_window_seconds / 86_400
                return self
            raise ValueError(
                f"retention_days ({self.retention_days:g}) is shorter than "
                f"duplicate_window_seconds ({self.duplicate_window_seconds} s): recorded "
                "requests must be kept at least as long as duplicates are looked for")
        return self


class WorkerConfig(_Strict):
    concurrency: int = Field(2, ge=1)
    lease_seconds: float = Field(30.0, gt=0)
    poll_interval: float = Field(1.0, gt=0)
    shutdown_grace_seconds: float = Field(30.0, ge=0)


class MetricsConfig(_Strict):
    # GET /metrics answers only with `Authorization: Bearer <token>` when set.
    token: Secret = None


class _EnvironmentFields(KindEnvironmentFields, NotificationFields, _Strict):
    """Keys shared by a fraise's environment and the top-level per-environment defaults.

    Everything is optional here so that the resolver can tell "not written" (absent
    from model_fields_set) from "written"; an explicit null switches a step off.
    """

    branch: NonBlank | None = None  # glob, e.g. "main" or "release/*"
    tags: NonBlank | None = None  # glob matched against pushed tags
    paths: list[NonBlank] | None = None  # deploy only when a changed file matches
    keep_releases: int | None = Field(None, ge=1)
    restart: Command | None = None
    systemd_service: UnitName | None = None
    health_check: HealthCheckConfig | None = None
    timeout: float | None = Field(None, gt=0)  # per command, seconds
    env: EnvMap = {}
    install: Command | None = None
    build: Command | None = None
    migrate: MigrateConfig | None = None
    git: GitConfig | None = None
    # Poll mode, for servers a provider cannot reach: check the branch head this often with
    # `git ls-remote` and deploy when it moved.
    poll: Duration | None = None

    @field_validator("poll")
    @classmethod
    def _poll_at_least_a_second(cls, value: float | None) -> float | None:
        if value is not None and value < 1:
            raise ValueError("poll every second at most (e.g. poll: 60s)")
        return value

    @model_validator(mode="after")
    def _one_way_to_restart(self) -> _EnvironmentFields:
        if self.restart is not None and self.systemd_service is not None:
            raise ValueError("set either restart or systemd_service, not both")
        return self


class EnvironmentDefaults(_EnvironmentFields):
    """Top-level `environments.<name>`: defaults for every fraise environment of that name.

    No app_path: two fraises sharing one release directory would overwrite each other.
    """

    # Declared only to answer a likely mistake with a precise message.
    app_path: Any = None

    @field_validator("app_path")
    @classmethod
    def _no_shared_app_path(cls, value: Any) -> Any:
        raise ValueError("app_path is set per fraise environment, not in shared defaults")


class EnvironmentConfig(_EnvironmentFields, RolloutFields):
    """`fraises.<fraise>.environments.<name>`: one deployable target."""

    app_path: Path
    keep_releases: int = Field(DEFAULT_KEEP_RELEASES, ge=1)
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0)

    @model_validator(mode="after")
    def _poll_needs_a_branch_name(self) -> EnvironmentConfig:
        if self.poll is not None and self.branch is not None and any(
                c in self.branch for c in "*?["):
            raise ValueError(f"poll needs one branch, not the pattern {self.branch!r}")
        return self

    @field_validator("app_path", mode="before")
    @classmethod
    def _app_path_given(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("app_path")
    @classmethod
    def _anchor_app_path(cls, value: Path, info: ValidationInfo) -> Path:
        return anchor_path(value, info)


class FraiseConfig(KindFraiseFields, _Strict):
    """One deployable project and its environments."""

    type: FraiseType = FraiseType.API
    description: str = ""
    repository: NonBlank  # clone URL or local path
    install: Command | None = None
    build: Command | None = None
    migrate: MigrateConfig | None = None
    env: EnvMap = {}
    git: GitConfig | None = None
    environments: dict[Name, EnvironmentConfig]
    # One environment per open pull request: see docs/previews.md.
    previews: PreviewsConfig | None = None

    @model_validator(mode="after")
    def _previews_fit(self) -> FraiseConfig:
        if self.previews is None:
            return self
        if self.type is not FraiseType.API:
            raise ValueError(f"previews: only api fraises have previews (this one is {self.type})")
        base = self.previews.environment
        if base is not None and base not in self.environments:
            raise ValueError(f"previews.environment: no environment {base!r} "
                             f"(this fraise has: {', '.join(self.environments)})")
        clash = [name for name in self.environments if name.startswith("pr-")]
        if clash:
            raise ValueError(f"environment {clash[0]!r}: names starting with pr- are kept for "
                             "previews")
        return self

    @field_validator("repository")
    @classmethod
    def _anchor_local_repository(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if is_remote_repository(value):
            return value
        return str(anchor_path(Path(value), info))

    @field_validator("notifications")
    @classmethod
    def _channel_names(cls, value: Any) -> Any:
        return unique_channel_names(value) if isinstance(value, list) else value

    @field_validator("environments")
    @classmethod
    def _at_least_one(cls, value: dict[str, EnvironmentConfig]) -> dict[str, EnvironmentConfig]:
        if not value:
            raise ValueError("a fraise needs at least one environment")
        return value


class MappingTarget(_Strict):
    fraise: str
    environment: str


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class FraisierConfig(NotificationFields, _Strict):
    """The whole of fraises.yaml."""

    name: NonBlank = "fraisier"
    state: StateConfig = Field(default_factory=StateConfig)
    data_dir: Path | None = None  # always set after validation; git mirrors live under it
    git: GitConfig = Field(default_factory=GitConfig)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    notifier: NotifierConfig = Field(default_factory=NotifierConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    # Named secret backends that `${secret:NAME:...}` references use (config/secrets.py).
    secrets: dict[Name, SecretBackend] = {}
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    environments: dict[Name, EnvironmentDefaults] = {}
    fraises: dict[Name, FraiseConfig]
    # A branch may be written to one target (a mapping) or several (a list);
    # both are stored as a list so callers handle one shape.
    branch_mapping: dict[str, Annotated[list[MappingTarget], BeforeValidator(_as_list)]] = {}

    _config_path: Path | None = PrivateAttr(None)
    _config_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> FraisierConfig:
        context = info.context or {}
        self._config_dir = config_dir_of(info)
        if context.get("config_path") is not None:
            self._config_path = Path(context["config_path"])
        self.data_dir = anchor_path(self.data_dir or Path(".fraisier"), info)
        self.state = StateConfig(url=self._state_url(self.state.url))
        # Raised as ConfigError rather than ValueError so it escapes pydantic with
        # its own key paths instead of being folded into one error at the root.
        problems = reference_problems(self) + secret_reference_problems(self)
        if problems:
            raise ConfigError(problems)
        return self

    def _state_url(self, url: str) -> str:
        if not url:
            return f"sqlite:///{(self.data_dir or Path('.fraisier')) / 'state.db'}"
        if url.startswith("sqlite:///"):
            rest = url.removeprefix("sqlite:///")
            if rest and rest != ":memory:" and not Path(rest).expanduser().is_absolute():
                return f"sqlite:///{os.path.normpath(self._config_dir / rest)}"
            if rest.startswith("~"):
                return f"sqlite:///{Path(rest).expanduser()}"
        return url

    @property
    def config_path(self) -> Path | None:
        """The file this was loaded from (None when built in code)."""
        return self._config_path

    @property
    def config_dir(self) -> Path:
        """Relative paths in the file are relative to this directory."""
        return self._config_dir

    def target(self, fraise: str, environment: str) -> Target:
        """Everything needed to deploy `fraise` to `environment`, with defaults applied."""
        from fraisier.config.resolve import resolve_target

        return resolve_target(self, fraise, environment)

    def targets(self) -> Iterator[Target]:
        """Every (fraise, environment) pair, in file order."""
        from fraisier.config.resolve import iter_targets

        return iter_targets(self)

    def fraise_snapshot(self) -> tuple[list[tuple[str, str, str, str, list[str]]],
                                       dict[str, dict[str, str]]]:
        """What the state database keeps of the configured fraises (`Store.sync_fraises`):
        (name, type, description, repository, environments) per fraise, and each target's
        branch. Plain values, so the configuration cache can keep it (config/cache.py)."""
        rows = [(name, fraise.type.value, fraise.description, fraise.repository,
                 sorted(fraise.environments)) for name, fraise in self.fraises.items()]
        branches: dict[str, dict[str, str]] = {}
        for target in self.targets():
            branches.setdefault(target.fraise, {})[target.environment] = target.branch
        return rows, branches


__all__ = [
    "CommandSpec",
    "EnvironmentConfig",
    "EnvironmentDefaults",
    "FraiseConfig",
    "FraisierConfig",
    "GitConfig",
    "HealthCheckConfig",
    "MappingTarget",
    "MetricsConfig",
    "MigrateConfig",
    "ProviderSecrets",
    "StateConfig",
    "WebhookConfig",
    "WorkerConfig",
    "is_remote_repository",
]
