"""A real, throwaway PostgreSQL server for tests.

Each server lives in its own temporary directory and listens on a free port on
127.0.0.1, so several test runs (other checkouts, pytest-xdist workers) can run
side by side on one machine without seeing each other, and none of them touches
a system-wide cluster.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from fraisier.demo.workspace import free_port
from tests.support.services import postgres_bin_dirs
from tests.support.waiting import wait_for

REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")

# initdb refuses to run as root, so when the tests run as root (CI) the server
# is owned by this account, which exists on every Debian system.
UNPRIVILEGED_USER = "nobody"

_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresUnavailable(RuntimeError):
    """The machine cannot host a server (binaries or user missing): skip, not a bug."""


class PostgresStartError(RuntimeError):
    """The binaries exist but the server did not come up."""


def find_postgres_bin_dir() -> Path | None:
    """A directory holding initdb, pg_ctl and postgres of one and the same version.

    The binaries are looked up together because mixing versions (say an initdb
    from PATH and a postgres from another major version) produces a data
    directory the server refuses to open.
    """
    candidates: list[Path] = []
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        # Follow symlinks such as /usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin.
        candidates.append(Path(os.path.realpath(pg_ctl)).parent)
        candidates.append(Path(pg_ctl).parent)
    candidates.extend(postgres_bin_dirs())
    for bin_dir in candidates:
        if all(os.access(bin_dir / name, os.X_OK) for name in REQUIRED_BINARIES):
            return bin_dir
    return None


def _traversable_by_others(path: Path) -> bool:
    return all(part.stat().st_mode & 0o001 for part in (path, *path.parents))


def _tail(path: Path, start: int = 0, lines: int = 40) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(start)
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


class PostgresServer:
    """Own one PostgreSQL instance: `start()`, hand out databases, `stop()`."""

    START_ATTEMPTS = 3
    START_TIMEOUT = 60

    def __init__(self, bin_dir: Path | None = None) -> None:
        found = bin_dir or find_postgres_bin_dir()
        if found is None:
            raise PostgresUnavailable(
                "PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql"
            )
        self.bin_dir = Path(found)
        self.port: int | None = None
        self.base_dir: Path | None = None
        self._run_as: dict[str, object] = {}
        self._owner_pid = os.getpid()
        self._running = False

        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(UNPRIVILEGED_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, but user {UNPRIVILEGED_USER!r} (needed because "
                    "initdb refuses root) does not exist"
                ) from None
            self._uid, self._gid = account.pw_uid, account.pw_gid
            # extra_groups=[] drops root's supplementary groups as well.
            self._run_as = {"user": self._uid, "group": self._gid, "extra_groups": []}

    # -- paths ---------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "socket"

    @property
    def log_file(self) -> Path:
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "postgres.log"

    @property
    def url(self) -> str:
        """URL of the maintenance database `postgres`."""
        assert self.port is not None, "server not started"
        return self.url_for("postgres")

    def url_for(self, dbname: str) -> str:
        assert self.port is not None, "server not started"
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    # -- life cycle ----------------------------------------------------------

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # A fixed C locale keeps initdb independent of whatever LANG the host
        # has (a missing locale makes it abort), and keeps messages in English.
        # PG* variables are dropped so a developer's PGDATA/PGPORT cannot
        # redirect pg_ctl to some other cluster.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return subprocess.run(
            args,
            cwd=self.base_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=check,
            timeout=self.START_TIMEOUT + 30,
            **self._run_as,  # type: ignore[arg-type]
        )

    def _prepare_dirs(self) -> None:
        parent = None
        if self._run_as and not _traversable_by_others(Path(tempfile.gettempdir())):
            # TMPDIR may sit under /root; the unprivileged server could not reach it.
            parent = "/tmp"
        self.base_dir = Path(tempfile.mkdtemp(prefix="fraisier-pg-", dir=parent))
        self.data_dir.mkdir(mode=0o700)
        self.socket_dir.mkdir(mode=0o700)
        self.log_file.touch(mode=0o600)
        if self._run_as:
            # mkdtemp makes the directory 0700 (root only); the server user must
            # be able to walk into it to reach its data, socket and log.
            self.base_dir.chmod(0o755)
            for path in (self.data_dir, self.socket_dir, self.log_file):
                os.chown(path, self._uid, self._gid)

    def start(self) -> PostgresServer:
        if self._running:
            return self
        self._prepare_dirs()
        # Registered before anything is launched so an interrupted start is
        # cleaned up too; stop() is idempotent.
        atexit.register(self.stop)
        try:
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def _initdb(self) -> None:
        result = self._run(
            str(self.bin_dir / "initdb"),
            "-D", str(self.data_dir),
            "-A", "trust",
            "-U", "postgres",
            "--no-sync",
            "-E", "UTF8",
            "--locale=C",
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresStartError(
                f"initdb failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )

    def _start_server(self) -> None:
        for attempt in range(1, self.START_ATTEMPTS + 1):
            self.port = free_port()
            log_offset = self.log_file.stat().st_size
            # Durability settings are off: the data is thrown away anyway and
            # fsyncs dominate the run time of database-heavy tests.
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            result = self._run(
                str(self.bin_dir / "pg_ctl"),
                "-w",
                "-t", str(self.START_TIMEOUT),
                "-D", str(self.data_dir),
                "-l", str(self.log_file),
                "-o", options,
                "start",
                check=False,
            )  # fmt: skip
            if result.returncode == 0:
                self._running = True
                return
            log = _tail(self.log_file, log_offset)
            # The port was free when picked but another process may have taken
            # it before the server bound it; that race is worth another try.
            if "Address already in use" in log and attempt < self.START_ATTEMPTS:
                continue
            raise PostgresStartError(
                f"PostgreSQL did not start (pg_ctl exit {result.returncode}).\n"
                f"pg_ctl: {result.stdout.strip()} {result.stderr.strip()}\n"
                f"--- tail of {self.log_file} ---\n{log}"
            )

    def stop(self) -> None:
        """Shut the server down and delete its files. Safe to call repeatedly."""
        # A test that forks would otherwise run this from the child's atexit
        # and kill the parent's server.
        if os.getpid() != self._owner_pid:
            return
        atexit.unregister(self.stop)
        if self.base_dir is None:
            return
        if self.data_dir.is_dir():
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "-D", str(self.data_dir),
                    "-m", "immediate",
                    "-w",
                    "stop",
                    check=False,
                )  # fmt: skip
            self._kill_leftover_postmaster()
        self._running = False
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None

    def _kill_leftover_postmaster(self) -> None:
        # Last resort when pg_ctl could not stop it: signal the postmaster
        # recorded in *this* server's pid file, never anything found by name.
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            with contextlib.suppress(AssertionError):  # still there after SIGQUIT: SIGKILL
                wait_for(lambda: _exited(pid), 5, f"postmaster {pid} to exit")
                return

    # -- databases -----------------------------------------------------------

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url_for(dbname), autocommit=True, connect_timeout=10)

    def create_database(self, name: str) -> str:
        """Create database `name` and return its URL."""
        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"unsupported database name: {name!r}")
        # CREATE DATABASE cannot run inside a transaction block.
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        # FORCE ends sessions a test forgot to close, which would otherwise
        # make the drop fail with "database is being accessed by other users".
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _exited(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
