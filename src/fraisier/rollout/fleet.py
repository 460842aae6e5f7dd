"""What every multi-host plan shares: one HostRun per host, the release archive built once,
the environment commands see, per-host health checks, and tb_release bookkeeping."""

from __future__ import annotations

import io
import shutil
import tarfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fraisier.domain.model import ReleaseStatus, make_release_id
from fraisier.engine.context import DeploymentRun
from fraisier.engine.git import GitError
from fraisier.engine.health import probe_http, probe_tcp
from fraisier.engine.process import ProcessResult
from fraisier.engine.saga import FinishEarly, SkipStep, StepFailed
from fraisier.engine.steps import fetch
from fraisier.rollout import rollout_settings
from fraisier.rollout.hosts import HostRun
from fraisier.rollout.ssh import LocalExecutor, SshExecutor, control_dir

if TYPE_CHECKING:
    from fraisier.config.commands import CommandSpec


class Fleet:
    def __init__(self, run: DeploymentRun) -> None:
        self.run = run
        self.target = run.target
        self.settings = rollout_settings(run.target)
        self._control_dir: Path | None = None
        self._lock = threading.Lock()  # the hosts of a batch are attached from their threads
        self.hosts: dict[str, HostRun] = {}
        self.configs = {host.name: host for host in (self.settings.hosts or [])}
        for name, host in self.configs.items():
            self.hosts[name] = HostRun(
                name=name, executor=None, app_path=str(host.app_path or self.target.app_path),
                timeout=self.target.timeout, log=run.log, env=dict(host.env),
                health_url=host.health_url, upstream=host.upstream)
        self._attached: set[str] = set()
        self.archive: bytes | None = None
        self.local_tree: Path | None = None
        run.closers.append(self.close)  # the runner calls these when the saga is over

    # -- executors --------------------------------------------------------------------
    def host(self, name: str) -> HostRun:
        host = self.hosts[name]
        with self._lock:
            if host.executor is None:
                if self._control_dir is None:
                    self._control_dir = control_dir()
                host.executor = SshExecutor(self.configs[name], self.settings.ssh,
                                            self._control_dir)
        return host

    def attach(self, name: str) -> HostRun:
        """The host, connected, with the environment file its commands source written
        (once per deployment: by its first step, or by the first compensation recovery
        runs on it)."""
        host = self.host(name)
        if name not in self._attached:
            executor = host.connected()
            executor.connect()
            executor.put_env(self.private_env(host), host.env_file)
            self._attached.add(name)
        return host

    def local(self, name: str = "local") -> HostRun:
        """This machine as a host (strategies that run without `hosts`)."""
        if name not in self.hosts:
            self.hosts[name] = HostRun(name=name, executor=LocalExecutor(),
                                       app_path=str(self.target.app_path),
                                       timeout=self.target.timeout, log=self.run.log)
        return self.hosts[name]

    def close(self) -> None:
        for host in self.hosts.values():
            if host.executor is not None:
                try:
                    host.executor.close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
        if self._control_dir is not None:
            shutil.rmtree(self._control_dir, ignore_errors=True)
        if self.local_tree is not None:
            shutil.rmtree(self.local_tree.parent, ignore_errors=True)

    # -- the commit -------------------------------------------------------------------
    def fetch(self, requested_commit: str | None) -> dict[str, Any]:
        """Pin the commit; stop early when the fleet already runs it (unless --force)."""
        data = fetch(self.run, requested_commit)
        active = self.run.store.releases.active(self.target.fraise, self.target.environment)
        if not self.run.force and active and active.commit_sha == self.run.commit_sha:
            self.run.store.queue.update(self.run.deployment_id, release=active.release_id)
            raise FinishEarly(f"commit {active.commit_sha[:12]} is already live as release "
                              f"{active.release_id}; nothing to do (use --force to deploy it "
                              "again)")
        return data

    # -- the release, built once ------------------------------------------------------
    def package(self, *, need_tree: bool) -> dict[str, Any]:
        run = self.run
        assert run.commit_sha
        run.release_id = make_release_id(run.commit_sha)
        run.store.queue.update(run.deployment_id, release=run.release_id)
        if self.settings.release_source == "host_git" and not need_tree:
            raise SkipStep("release_source host_git: every host fetches the commit itself")
        work = Path(run.data_dir) / "rollout" / f"{run.deployment_id}"
        shutil.rmtree(work, ignore_errors=True)
        tree = work / "tree"
        try:
            run.mirror.materialize(run.commit_sha, tree)
        except GitError as exc:
            raise StepFailed(str(exc)) from exc
        self.local_tree = tree
        if self.settings.release_source == "upload":
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
                for child in sorted(tree.iterdir()):
                    archive.add(child, arcname=child.name)
            self.archive = buffer.getvalue()
        run.log(f"release {run.release_id} packaged"
                + (f" ({len(self.archive)} bytes to upload)" if self.archive else ""))
        return {"release": run.release_id, "bytes": len(self.archive or b"")}

    def place_release(self, host: HostRun) -> None:
        """Put the deployment's release on `host` (unpacked from the archive, or fetched by
        the host itself), record it, then install and build it there."""
        run = self.run
        assert run.release_id and run.commit_sha
        host.release_id = run.release_id
        if self.archive is not None:
            host.unpack(run.release_id, self.archive)
        else:
            host.git_release(run.target.repository, run.commit_sha, run.release_id)
        self.record_release(host)
        for label, command in (("install", run.target.install), ("build", run.target.build)):
            if command is not None:
                self.run_command(host, label, command, run.release_id)

    # -- environment ------------------------------------------------------------------
    def private_env(self, host: HostRun) -> dict[str, str]:
        """The configured environment (may hold secrets): goes to the 0600 file."""
        return {**self.target.env, **host.env}

    def public_env(self, host: HostRun, release_id: str | None, **extra: str) -> dict[str, str]:
        run = self.run
        previous = host.previous_release_id
        return {
            "FRAISIER_FRAISE": self.target.fraise,
            "FRAISIER_ENVIRONMENT": self.target.environment,
            "FRAISIER_DEPLOYMENT_ID": str(run.deployment_id),
            "FRAISIER_COMMIT": self.commit_of(host, release_id) if release_id else "",
            "FRAISIER_BRANCH": run.branch,
            "FRAISIER_HOST": host.name,
            "FRAISIER_APP_PATH": host.app_path,
            "FRAISIER_RELEASE_DIR": host.release_dir(release_id) if release_id else "",
            "FRAISIER_PREVIOUS_RELEASE_DIR": host.release_dir(previous) if previous else "",
            **host.exported,
            **extra,
        }

    def commit_of(self, host: HostRun, release_id: str) -> str:
        if release_id == self.run.release_id and self.run.commit_sha:
            return self.run.commit_sha
        record = self.run.store.releases.get(self.target.fraise, self.target.environment,
                                             release_id, host=host.name)
        return record.commit_sha if record else ""

    def run_command(self, host: HostRun, label: str, command: CommandSpec,
                    release_id: str | None, check: bool = True,
                    **extra: str) -> ProcessResult:
        return host.run(label, command.argv, check=check,
                        cwd=host.release_dir(release_id) if release_id else host.app_path,
                        env=self.public_env(host, release_id, **extra), cancel=self.run.cancel)

    # -- tb_release -------------------------------------------------------------------
    def record_release(self, host: HostRun) -> None:
        run = self.run
        assert run.release_id and run.commit_sha
        if run.store.releases.get(self.target.fraise, self.target.environment, run.release_id,
                                  host=host.name) is None:
            run.store.releases.add(self.target.fraise, self.target.environment, run.release_id,
                                   run.commit_sha, host.release_dir(run.release_id),
                                   deployment_id=run.deployment_id, host=host.name)

    def mark(self, host: HostRun, release_id: str, status: ReleaseStatus) -> None:
        self.run.store.releases.set_status(self.target.fraise, self.target.environment,
                                           release_id, status, host=host.name)

    def mark_active(self, host: HostRun, release_id: str) -> None:
        self.run.store.releases.activate(self.target.fraise, self.target.environment,
                                         release_id, host=host.name)

    def record_fleet_release(self) -> None:
        """The release the whole environment now runs (host ''), shown by `status`."""
        run = self.run
        assert run.release_id and run.commit_sha
        self.run.store.releases.add(self.target.fraise, self.target.environment, run.release_id,
                                    run.commit_sha, "", deployment_id=run.deployment_id)
        self.mark_active_fleet(run.release_id)

    def mark_active_fleet_if_known(self, release_id: str) -> None:
        target = self.target
        if self.run.store.releases.get(target.fraise, target.environment, release_id) is None:
            if release_id == self.run.release_id:
                self.record_fleet_release()
            return
        self.mark_active_fleet(release_id)

    def mark_active_fleet(self, release_id: str) -> None:
        self.run.store.releases.activate(self.target.fraise, self.target.environment, release_id)

    # -- health -----------------------------------------------------------------------
    def check_health(self, host: HostRun, release_id: str, *, url: str | None = None) -> str:
        """Probe one host until it is healthy; raise StepFailed when retries run out."""
        check = self.target.health_check
        url = url or host.health_url
        if url is None and check is None:
            raise SkipStep("no health_check configured")
        retries = check.retries if check else 10
        interval = check.interval if check else 1.0
        timeout = check.timeout if check else 5.0
        last = "not attempted"
        for attempt in range(1, retries + 1):
            if url is not None:
                ok, last = probe_http(url, timeout, check.expect_status if check else 200,
                                      check.request_headers() if check else {})
            elif check is None:  # not reached: without a URL there is a check (see above)
                raise SkipStep("no health_check configured")
            elif check.kind == "command":
                assert check.command is not None  # the kind says which one is set
                result = self.run_command(host, "health check", check.command, release_id,
                                          check=False)
                ok, last = result.ok, ("command succeeded" if result.ok else result.describe())
            elif check.kind == "url":
                ok, last = probe_http(str(check.url), timeout, check.expect_status,
                                      check.request_headers())
            else:
                assert check.tcp is not None  # the kind says which one is set
                ok, last = probe_tcp(check.tcp, timeout)
            self.run.log(f"[{host.name}] health check {attempt}/{retries}: {last}")
            if ok:
                return last
            if attempt < retries and self.run.cancel.wait(interval):
                raise StepFailed("deployment cancelled")
        raise StepFailed(f"[{host.name}] health check failed after {retries} attempts: {last}")

