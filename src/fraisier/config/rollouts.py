"""Configuration of rollouts: hosts reached over SSH, strategies, nginx, canary analysis.

These keys live on a fraise environment next to `app_path`, `restart`, ... An environment
without `hosts` and without `strategy` deploys locally exactly as before.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fraisier.config.commands import Command, CommandSpec
from fraisier.config.fields import EnvMap, HttpUrlText, Name, NonBlank, TcpAddress, anchor_path

Strategy = Literal["rolling", "blue_green", "canary"]
SLOT_NAMES = ("blue", "green")


class _Strict(BaseModel):
    # No `.inf` or `.nan`: an infinite timeout or interval would hang a deployment forever.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def _duration(value: Any) -> Any:
    """`30`, `30s`, `1.5m`, `500ms`, `7d` -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 2m, 500ms, 7d)")
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(_duration), Field(ge=0)]

# ssh options that would switch host-key checking or batch mode off: refused outright,
# because a deployment must never trust a host it cannot identify.
_UNSAFE_SSH_OPTIONS = {
    "stricthostkeychecking": {"no", "off", "accept-new"},
    "userknownhostsfile": {"/dev/null", "none"},
    "batchmode": {"no"},
}


class SshConfig(_Strict):
    identity_file: Path | None = None
    known_hosts: Path | None = None
    options: list[NonBlank] = []  # extra `-o Key=Value` options
    connect_timeout: float = Field(10.0, gt=0)
    binary: NonBlank = "ssh"

    @field_validator("identity_file", "known_hosts")
    @classmethod
    def _anchor(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return anchor_path(value, info) if value is not None else None

    @field_validator("options")
    @classmethod
    def _safe_options(cls, value: list[str]) -> list[str]:
        for option in value:
            key, sep, setting = option.partition("=")
            if not sep:
                key, _, setting = option.partition(" ")
            refused = _UNSAFE_SSH_OPTIONS.get(key.strip().lower())
            if refused and setting.strip().lower() in refused:
                raise ValueError(f"{option!r} would weaken host verification; not allowed")
        return value


class HostConfig(_Strict):
    name: Name
    address: NonBlank
    port: int = Field(22, ge=1, le=65535)
    user: NonBlank | None = None
    region: Name | None = None
    app_path: Path | None = None  # on the host; defaults to the environment's app_path
    labels: dict[str, str] = {}
    env: EnvMap = {}  # extra environment for commands on this host
    health_url: HttpUrlText | None = None  # checked from the orchestrator
    upstream: TcpAddress | None = None  # this host's server line in the nginx upstream


class NginxConfig(_Strict):
    upstream_file: Path
    upstream: Name = "fraisier"  # the `upstream NAME { ... }` block written to upstream_file
    test: Command = CommandSpec(["nginx", "-t"])
    reload: Command = CommandSpec(["nginx", "-s", "reload"])
    # With the master's pid file, a reload waits until the old workers are gone, so every
    # request after the switch is served with the new upstream.
    pid_file: Path | None = None
    reload_timeout: float = Field(30.0, gt=0)

    @field_validator("upstream_file", "pid_file")
    @classmethod
    def _anchor(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return anchor_path(value, info) if value is not None else None


class LoadBalancerConfig(_Strict):
    nginx: NginxConfig


class SlotConfig(_Strict):
    port: int = Field(ge=1, le=65535)
    address: NonBlank = "127.0.0.1"
    restart: Command | None = None  # defaults to the environment's restart
    stop: Command | None = None
    health_url: HttpUrlText | None = None  # defaults to http://address:port/health


class SlotsConfig(_Strict):
    blue: SlotConfig
    green: SlotConfig

    @model_validator(mode="after")
    def _distinct_ports(self) -> SlotsConfig:
        if (self.blue.address, self.blue.port) == (self.green.address, self.green.port):
            raise ValueError("blue and green need different ports")
        return self


class PrometheusCheck(_Strict):
    url: HttpUrlText
    query: NonBlank
    max: float


class AnalysisConfig(_Strict):
    probe_path: NonBlank = "/"  # probed on the canary slot during each pause
    interval: Duration = 0.2
    max_failed_share: float = Field(0.05, ge=0, le=1)
    prometheus: PrometheusCheck | None = None


class CanaryStep(_Strict):
    weight: int = Field(ge=1, le=100)
    pause: Duration = 0.0


class CanaryConfig(_Strict):
    steps: list[CanaryStep] = Field(min_length=1)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)

    @field_validator("steps")
    @classmethod
    def _rising(cls, value: list[CanaryStep]) -> list[CanaryStep]:
        weights = [step.weight for step in value]
        if weights != sorted(weights) or len(set(weights)) != len(weights):
            raise ValueError("canary weights must rise step by step")
        if weights[-1] != 100:
            value = [*value, CanaryStep(weight=100)]
        return value


class RolloutFields(_Strict):
    """The rollout keys of a fraise environment (mixed into EnvironmentConfig)."""

    hosts: list[HostConfig] | None = None
    ssh: SshConfig = Field(default_factory=SshConfig)
    strategy: Strategy | None = None
    batch_size: int | None = Field(None, ge=1)
    max_unavailable: int | None = Field(None, ge=1)
    migrate_on: Literal["first_host", "orchestrator"] = "first_host"
    release_source: Literal["upload", "host_git"] = "upload"
    waves: list[list[Name]] | None = None
    pause_between_waves: Duration = 0.0
    slots: SlotsConfig | None = None
    hold: Duration | None = None  # seconds the old slot keeps running; None: until replaced
    canary: CanaryConfig | None = None
    load_balancer: LoadBalancerConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RolloutFields:
        hosts = self.hosts or []
        names = [host.name for host in hosts]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"hosts: duplicate host name(s) {', '.join(duplicated)}")
        if self.hosts is not None and not self.hosts:
            raise ValueError("hosts: list at least one host (or leave hosts out)")
        strategy = self.effective_strategy
        if strategy == "rolling" and not hosts:
            raise ValueError("strategy rolling needs hosts")
        if strategy in ("blue_green", "canary"):
            if self.slots is None:
                raise ValueError(f"strategy {strategy} needs slots: {{blue: ..., green: ...}}")
            if self.load_balancer is None:
                raise ValueError(f"strategy {strategy} needs load_balancer.nginx")
            if len(hosts) > 1:
                raise ValueError(f"strategy {strategy} runs on one machine: list at most one host")
        if strategy == "canary" and self.canary is None:
            raise ValueError("strategy canary needs canary.steps")
        if self.waves is not None:
            if strategy != "rolling":
                raise ValueError("waves apply to the rolling strategy")
            regions = [region for wave in self.waves for region in wave]
            if len(set(regions)) != len(regions):
                raise ValueError("waves: a region appears in more than one wave")
            for host in hosts:
                if host.region not in regions:
                    raise ValueError(f"waves: host {host.name} (region {host.region}) is in no wave")
        if self.batch_size and self.max_unavailable:
            raise ValueError("set batch_size or max_unavailable, not both")
        return self

    @property
    def effective_strategy(self) -> Strategy | None:
        if self.strategy is not None:
            return self.strategy
        return "rolling" if self.hosts else None


ROLLOUT_KEYS = tuple(RolloutFields.model_fields)


def rollout_of(env: BaseModel) -> RolloutFields | None:
    """The rollout settings of an environment, or None when it deploys locally as before."""
    if not any(key in env.model_fields_set for key in ("hosts", "strategy")):
        return None
    return RolloutFields.model_construct(
        _fields_set=set(env.model_fields_set) & set(ROLLOUT_KEYS),
        **{key: getattr(env, key) for key in ROLLOUT_KEYS},
    )
