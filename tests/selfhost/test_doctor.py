"""`fraisier doctor`: every check passes on a working set-up, and each failure is caused for
real — a repository that is gone, a branch never pushed, an immutable directory, releases on
another file system, a unit that is not installed, a service that stopped, an SSH host whose
key is not the pinned one, a short secret, a disk without room, a read-only database."""

from __future__ import annotations

import contextlib
import http.server
import os
import subprocess
import threading
from pathlib import Path

import pytest

from fraisier.demo.workspace import free_port
from fraisier.store import open_store
from fraisier.store.db import Database
from fraisier.store.migrate import apply_migrations, available_migrations
from tests.cli._cli_support import invoke
from tests.support.services import require, require_binary

SECRET = "s" * 40

CONFIG = """\
data_dir: {root}/data
api:
  anonymous_read: {anonymous}
git:
  github:
    webhook_secret: "{secret}"
fraises:
  web:
    repository: {repository}
    environments:
      production:
        branch: {branch}
        app_path: {app_path}
        systemd_service: web
        keep_releases: 3
        health_check:
          url: http://127.0.0.1:{health_port}/
          retries: 1
"""


class Site:
    """A working set-up in a temporary directory; each test breaks one thing."""

    def __init__(self, root: Path):
        self.root = root
        self.repository = root / "repo.git"
        work = root / "work"
        subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
        (work / "app.txt").write_text("v1\n")
        git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "v1"], check=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(self.repository)],
                       check=True)
        self.app_path = root / "srv" / "web"
        release = self.app_path / "releases" / "r1"
        release.mkdir(parents=True)
        (release / "app.txt").write_text("v1\n")
        (self.app_path / "current").symlink_to(release)
        self.units = root / "units"
        self.units.mkdir()
        (self.units / "web.service").write_text("[Service]\nExecStart=/bin/true\n")
        self.health = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                                      http.server.SimpleHTTPRequestHandler)
        self.health_port = self.health.server_address[1]
        threading.Thread(target=self.health.serve_forever, daemon=True).start()
        self.settings = dict(root=root, repository=self.repository, branch="main",
                             app_path=self.app_path, health_port=self.health_port,
                             secret=SECRET, anonymous="false")
        self.config = root / "fraises.yaml"
        self.write()
        open_store(f"sqlite:///{root}/data/state.db").close()  # created and migrated

    def write(self, **changes: object) -> None:
        self.settings.update(changes)
        self.config.write_text(CONFIG.format(**self.settings))

    def doctor(self, *args: str) -> tuple[int, dict[str, list[dict]]]:
        outcome = invoke(self.config, "doctor", "--json", *args)
        import json

        by_name: dict[str, list[dict]] = {}
        for check in json.loads(outcome.stdout):
            by_name.setdefault(check["name"], []).append(check)
        return outcome.exit_code, by_name

    def close(self) -> None:
        self.health.shutdown()
        self.health.server_close()


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("SYSTEMD_UNIT_PATH", str(tmp_path / "units"))
    made = Site(tmp_path)
    yield made
    made.close()


def _only(checks: dict[str, list[dict]], name: str) -> dict:
    assert len(checks[name]) == 1, checks[name]
    return checks[name][0]


def test_a_working_setup_passes_every_check(site):
    outcome = invoke(site.config, "doctor")
    assert outcome.exit_code == 0, outcome.stdout
    lines = outcome.stdout.splitlines()
    assert all(line.startswith("✓") for line in lines[:-1]), outcome.stdout
    names = [line.split(":", 1)[0][2:] for line in lines[:-1]]
    assert names == ["configuration", "state database", "schema", "state writable",
                     "api exposure", "repository", "webhook secret", "app_path", "disk space",
                     "restart", "health check"]
    assert lines[-1] == "11 check(s): 0 failed, 0 warning(s)"


def test_invalid_configuration(site):
    site.config.write_text(site.config.read_text().replace("keep_releases: 3",
                                                           "keep_releases: none"))
    code, checks = site.doctor()
    assert code == 1 and list(checks) == ["configuration"]
    assert "keep_releases" in _only(checks, "configuration")["detail"]


def test_repository_gone_and_branch_missing(site):
    site.write(branch="release/*")
    code, checks = site.doctor()
    check = _only(checks, "repository")
    assert code == 1 and check["status"] == "fail"
    assert "no branch matches 'release/*'" in check["detail"]

    site.write(branch="main", repository=site.root / "moved.git")
    code, checks = site.doctor("web", "production")
    check = _only(checks, "repository")
    assert code == 1 and "not reachable" in check["detail"] and check["fix"]


def _chattr_works(path: Path) -> bool:
    probe = path / "immutable-probe"
    probe.mkdir()
    try:
        done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True)
        return done.returncode == 0
    finally:
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True)
        probe.rmdir()


@contextlib.contextmanager
def immutable(path: Path):
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_app_path_not_writable(site):
    require_binary("chattr")
    require(_chattr_works(site.root), "chattr +i is not supported on this file system")
    new_home = site.root / "locked"
    new_home.mkdir()
    site.write(app_path=new_home / "web")
    with immutable(new_home):  # even root cannot create app_path in it
        code, checks = site.doctor()
    check = _only(checks, "app_path")
    assert code == 1 and check["status"] == "fail"
    assert f"nearest existing parent {new_home}) is not writable" in check["detail"]
    assert check["fix"] == f"install -d -o fraisier -g fraisier {new_home / 'web'}"


def test_releases_on_another_file_system(site, tmp_path):
    elsewhere = Path("/dev/shm")
    require(elsewhere.is_dir() and os.stat(elsewhere).st_dev != os.stat(tmp_path).st_dev,
            "/dev/shm is needed as a second file system")
    other = Path(os.environ.get("TMPDIR_OTHER_FS", elsewhere)) / f"fraisier-{os.getpid()}-{tmp_path.name}"
    (site.app_path / "releases").rename(site.root / "releases-moved")
    other.mkdir()
    try:
        (site.app_path / "releases").symlink_to(other)
        code, checks = site.doctor()
    finally:
        other.rmdir()
    check = _only(checks, "app_path")
    assert code == 1 and "on another file system" in check["detail"]


def test_restart_unit_missing_and_restart_program_missing(site):
    (site.units / "web.service").unlink()
    code, checks = site.doctor()
    check = _only(checks, "restart")
    assert code == 1 and "unit web.service not found" in check["detail"]

    site.config.write_text(site.config.read_text().replace(
        "systemd_service: web", "restart: [no-such-restart-program, web]"))
    code, checks = site.doctor()
    assert code == 1 and "'no-such-restart-program' not found" in _only(
        checks, "restart")["detail"]


def test_health_check_not_answering(site):
    site.health.shutdown()
    site.health.server_close()
    code, checks = site.doctor()
    check = _only(checks, "health check")
    assert code == 1 and check["status"] == "fail"
    assert f"GET http://127.0.0.1:{site.health_port}/" in check["detail"]


def test_webhook_secret_missing_or_short(site):
    site.write(secret="short-secret")
    code, checks = site.doctor()
    check = _only(checks, "webhook secret")
    assert code == 1 and "shorter than 32 characters: git.github.webhook_secret" in (
        check["detail"])
    assert "short-secret" not in str(checks)  # the secret itself is never printed

    site.write(secret="")
    code, checks = site.doctor()
    assert code == 1 and "no webhook secret is set" in _only(checks, "webhook secret")["detail"]


def test_secret_references_are_fetched_and_the_secret_itself_is_checked(site):
    secret_file = site.root / "hook-secret"
    secret_file.write_text("h" * 40 + "\n")
    site.write(secret="${secret:file:" + str(secret_file) + "}")
    code, checks = site.doctor()
    assert _only(checks, "secret references")["status"] == "pass"
    # The length check sees the fetched value (40 characters), not the reference.
    assert _only(checks, "webhook secret")["status"] == "pass"
    assert code == 0, checks

    site.write(secret="${secret:file:" + str(site.root / "no-such-secret") + "}")
    code, checks = site.doctor()
    check = _only(checks, "secret references")
    assert code == 1 and check["status"] == "fail"
    assert check["detail"].startswith("git.github.webhook_secret: ${secret:file:")
    assert "fraisier validate --resolve" in check["fix"]


def test_no_room_for_the_releases_kept(site):
    # A release whose files add up to more than the free space (a sparse file: its size is
    # what a new release would write).
    free = os.statvfs(site.app_path).f_bavail * os.statvfs(site.app_path).f_frsize
    with open(site.app_path / "releases/r1/big.bin", "wb") as handle:
        handle.truncate(free + 1)
    code, checks = site.doctor()
    check = _only(checks, "disk space")
    assert code == 1 and "keep_releases 3 needs" in check["detail"]


def test_state_database_missing_unmigrated_and_read_only(site):
    state = site.root / "data/state.db"
    moved = site.root / "data/kept.db"
    state.rename(moved)
    code, checks = site.doctor()
    assert code == 1 and "the file does not exist" in _only(checks, "state database")["detail"]
    assert not state.exists()  # the doctor did not create it

    db = Database(f"sqlite:///{state}")
    apply_migrations(db, available_migrations("sqlite")[:1])
    db.close()
    code, checks = site.doctor()
    assert code == 1 and "migration(s) not applied" in _only(checks, "schema")["detail"]

    state.unlink()
    moved.rename(state)
    require_binary("chattr")
    require(_chattr_works(site.root), "chattr +i is not supported on this file system")
    with immutable(state):
        code, checks = site.doctor()
    check = _only(checks, "state writable")
    assert code == 1 and "a write was refused" in check["detail"], check


def test_api_exposed_without_a_token_is_a_warning(site):
    site.write(anonymous="true")
    code, checks = site.doctor("--listen", "0.0.0.0")
    check = _only(checks, "api exposure")
    assert check["status"] == "warn" and "without a token" in check["detail"]
    assert code == 0  # a warning does not fail the doctor
    code, checks = site.doctor("--listen", "127.0.0.1")
    assert _only(checks, "api exposure")["status"] == "pass"


@contextlib.contextmanager
def standby_of(server, tmp_name: str):
    """A hot standby of the test server (pg_basebackup -R): read-only, in recovery, where
    PostgreSQL refuses LISTEN and NOTIFY."""
    data = server.base_dir / f"standby-{tmp_name}"
    data.mkdir(mode=0o700)
    if server._run_as:
        os.chown(data, server._uid, server._gid)
    server._run(str(server.bin_dir / "pg_basebackup"), "-h", "127.0.0.1", "-p",
                str(server.port), "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast")
    port = free_port()
    log = data / "standby.log"
    started = server._run(str(server.bin_dir / "pg_ctl"), "-w", "-t", "60", "-D", str(data),
                          "-l", str(log), "-o",
                          f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c max_connections=200 -c fsync=off",
                          "start",
                          check=False)
    assert started.returncode == 0, started.stdout + started.stderr + (
        log.read_text() if log.exists() else "")
    try:
        yield port
    finally:
        server._run(str(server.bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                    "stop", check=False)
        import shutil

        shutil.rmtree(data, ignore_errors=True)


def test_postgres_listen_notify_a_replica_and_a_server_gone(site, postgres_server,
                                                           postgres_url):
    open_store(postgres_url).close()
    template = site.config.read_text()

    def use(url: str) -> None:
        site.config.write_text(template.replace("data_dir:", f"state:\n  url: {url}\ndata_dir:"))

    use(postgres_url)
    code, checks = site.doctor()
    assert code == 0, checks
    assert _only(checks, "listen/notify")["status"] == "pass"

    name = postgres_url.rsplit("/", 1)[1]
    with standby_of(postgres_server, name) as port:
        use(f"postgresql://postgres@127.0.0.1:{port}/{name}")
        code, checks = site.doctor()
    assert code == 1
    assert "read-only transaction" in _only(checks, "state writable")["detail"]
    check = _only(checks, "listen/notify")
    assert check["status"] == "fail" and "during recovery" in check["detail"], check

    use(f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/{name}")
    code, checks = site.doctor()
    check = _only(checks, "state database")
    assert code == 1 and "cannot connect" in check["detail"]
    assert "postgres:***@" in check["detail"] and "hunter2" not in check["detail"]


def test_ssh_hosts_reachable_only_with_the_pinned_key(site):
    require_binary("sshd")
    from tests.support.sshd import start_fleet

    fleet = start_fleet(site.root / "fleet", ["app1"])
    try:
        host = fleet.hosts[0]
        hosts = (f"        hosts:\n"
                 f"          - {{name: app1, address: 127.0.0.1, port: {host.port}, "
                 f"user: {fleet.user}}}\n"
                 f"        ssh: {{identity_file: {fleet.identity}, known_hosts: "
                 f"{fleet.known_hosts}, connect_timeout: 5}}\n")
        site.config.write_text(site.config.read_text().replace(
            "        keep_releases: 3\n", "        keep_releases: 3\n" + hosts))
        code, checks = site.doctor()
        check = _only(checks, "ssh")
        assert check["status"] == "pass", check
        assert f"host key pinned in {fleet.known_hosts}" in check["detail"]

        # The pinned key is not the host's any more (a re-installed or impostor host).
        pinned = fleet.known_hosts.read_text()
        other = site.root / "other_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
                       check=True)
        fleet.known_hosts.write_text(
            f"[127.0.0.1]:{host.port} {(site.root / 'other_key.pub').read_text().strip()}\n")
        code, checks = site.doctor()
        check = _only(checks, "ssh")
        assert code == 1 and check["status"] == "fail"
        assert "host key" in check["detail"].lower() and "ssh-keyscan" in check["fix"]

        fleet.known_hosts.write_text(pinned)
        host.stop()  # the host is gone
        code, checks = site.doctor()
        check = _only(checks, "ssh")
        assert code == 1 and "Connection refused" in check["detail"]
    finally:
        fleet.stop()
