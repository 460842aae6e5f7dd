"""Health checks: HTTP, TCP or a command, retried until `retries` are spent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from fraisier.engine.process import run_command

if TYPE_CHECKING:
    from fraisier.config.model import HealthCheckConfig
    from fraisier.config.resolve import Target


class HealthCheckFailed(Exception):
    pass


def check_health(check: HealthCheckConfig, *, cwd: Path, env: Mapping[str, str], log: Callable[[str], None],
                 cancel: threading.Event | None = None) -> str:
    """Run `check` (a HealthCheckConfig) until it passes; raise HealthCheckFailed otherwise."""
    last = "not attempted"
    for attempt in range(1, check.retries + 1):
        if cancel is not None and cancel.is_set():
            raise HealthCheckFailed("cancelled")
        ok, last = _attempt(check, cwd=cwd, env=env)
        log(f"health check attempt {attempt}/{check.retries}: {last}")
        if ok:
            return last
        if attempt < check.retries:
            if cancel is not None:
                if cancel.wait(check.interval):
                    raise HealthCheckFailed("cancelled")
            else:
                time.sleep(check.interval)
    raise HealthCheckFailed(f"health check failed after {check.retries} attempts: {last}")


def probe_live(target: Target) -> tuple[bool, str]:
    """One attempt of `target`'s health check against what is live now (a command check runs
    in the live release, with the environment's `env`): `fraisier doctor` and the worker's
    health watch ask this between deployments."""
    check = target.health_check
    if check is None:
        return True, "no health check configured"
    current = target.app_path / "current"
    cwd = current if current.is_dir() else target.app_path
    env = {**target.env, "FRAISIER_FRAISE": target.fraise,
           "FRAISIER_ENVIRONMENT": target.environment,
           "FRAISIER_APP_PATH": str(target.app_path), "FRAISIER_RELEASE_DIR": str(cwd)}
    return _attempt(check, cwd=cwd, env=env)


def _attempt(check: HealthCheckConfig, *, cwd: Path, env: Mapping[str, str]) -> tuple[bool, str]:
    if check.url:
        return probe_http(str(check.url), check.timeout, check.expect_status,
                          check.request_headers())
    if check.tcp:
        return probe_tcp(check.tcp, check.timeout)
    assert check.command is not None  # validation requires one of url, tcp, command
    result = run_command(check.command.argv, cwd=cwd, env=env, timeout=check.timeout)
    return result.ok, result.describe() if not result.ok else "command succeeded"


def probe_http(url: str, timeout: float, expect: int = 200,
               headers: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """One GET of `url`: (answered with `expect`, what happened). Never raises."""
    import httpx  # only deployments with an HTTP check pay for the import

    try:
        response = httpx.get(url, timeout=timeout, headers=dict(headers or {}),
                             follow_redirects=False)
    except httpx.HTTPError as exc:
        return False, f"GET {url}: {type(exc).__name__}: {exc}"
    if response.status_code == expect:
        return True, f"GET {url}: HTTP {response.status_code}"
    return False, f"GET {url}: HTTP {response.status_code} (expected {expect})"


def probe_tcp(address: str, timeout: float) -> tuple[bool, str]:
    """One connection to `host:port`: (connected, what happened). Never raises."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True, f"TCP {address}: connected"
    except OSError as exc:
        return False, f"TCP {address}: {exc}"
