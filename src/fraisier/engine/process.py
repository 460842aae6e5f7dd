"""Run one command: argv list, own process group, timeout that kills the group, output
streamed line by line.

Outside values (commit, branch, paths) reach commands only through `env`, never by being
pasted into a command line.

Every command gets an explicit environment (`child_environment`): a small base taken from
Fraisier's own (BASE_VARIABLES), then what the caller passes (FRAISIER_* values and the
configured `env`). Nothing else of Fraisier's environment — webhook secrets, the state
database password, API tokens — reaches a command or the application it starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fraisier.domain.redaction import redact

TAIL_LINES = 40
# After the command exits, how long to wait for the rest of its output. A command that starts
# a daemon may leave a grandchild holding the pipe open; we must not wait for that one.
DRAIN_SECONDS = 2.0
KILL_GRACE_SECONDS = 3.0

# What a command inherits from Fraisier's own environment; documented in docs/secrets.md.
BASE_VARIABLES = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "USER", "LOGNAME", "SHELL",
                  "TMPDIR", "TERM")
BASE_PREFIXES = ("LC_",)
# Fraisier's own tools (git, ssh, nginx, pg_dump) also get what they need to reach hosts.
TOOL_VARIABLES = ("SSH_AUTH_SOCK", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_CONFIG_GLOBAL",
                  "GIT_CONFIG_NOSYSTEM", "SSL_CERT_FILE", "SSL_CERT_DIR", "http_proxy",
                  "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def child_environment(extra: Mapping[str, str], *, tool: bool = False) -> dict[str, str]:
    """The whole environment of a command: the documented base of ours, then `extra`."""
    names = BASE_VARIABLES + (TOOL_VARIABLES if tool else ())
    env = {name: value for name, value in os.environ.items()
           if name in names or name.startswith(BASE_PREFIXES)}
    env.setdefault("PATH", os.defpath)
    env.update(extra)
    return env


@dataclass
class ProcessResult:
    argv: list[str]
    returncode: int | None
    output_tail: str
    duration_seconds: float
    timed_out: bool = False
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.cancelled

    def describe(self) -> str:
        name = Path(self.argv[0]).name if self.argv else "command"
        if self.timed_out:
            return f"{name} timed out after {self.duration_seconds:.1f}s (process group killed)"
        if self.cancelled:
            return f"{name} was cancelled (process group killed)"
        if self.returncode is not None and self.returncode < 0:
            return f"{name} was killed by signal {-self.returncode}"
        return f"{name} exited with status {self.returncode}"


class CommandNotFound(Exception):
    pass


@dataclass(frozen=True)
class StartedProcess:
    """A command's process group, as recorded in the ledger while it runs. `start_ticks`
    (field 22 of /proc/PID/stat) tells that process apart from a later one given the same
    pid."""

    pid: int
    start_ticks: int


def start_ticks(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


def stop_group(process: StartedProcess, *, grace: float = KILL_GRACE_SECONDS,
               timeout: float = 10.0) -> bool:
    """Stop the process group a dead worker left running: SIGTERM, then SIGKILL after
    `grace`, and wait until its leader is gone. False if it could not be stopped in time.
    A pid now used by another process is left alone."""
    if start_ticks(process.pid) != process.start_ticks:
        return True  # already gone (its pid free, or reused by someone else)
    deadline = time.monotonic() + timeout
    for sig, until in ((signal.SIGTERM, time.monotonic() + grace), (signal.SIGKILL, deadline)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return True
        while time.monotonic() < until:
            if start_ticks(process.pid) != process.start_ticks or _is_zombie(process.pid):
                _kill_rest(process.pid)
                return True
            time.sleep(0.05)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def _kill_rest(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_command(argv: Sequence[str], *, cwd: str | Path, env: Mapping[str, str],
                timeout: float, on_line: Callable[[str], None] | None = None,
                cancel: threading.Event | None = None,
                stdin_data: bytes | None = None,
                on_start: Callable[[StartedProcess], None] | None = None,
                tool: bool = False) -> ProcessResult:
    """Run argv to completion (or timeout/cancel) and return what happened. `on_start`
    learns the process group as soon as it exists (the ledger records it).

    `env` is what this command adds to the base environment (`child_environment`); `tool`
    marks Fraisier's own programs (ssh, nginx, git), which also get TOOL_VARIABLES.
    """
    argv = [str(part) for part in argv]
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, cwd=str(cwd), env=child_environment(env, tool=tool),
            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # own session => own process group, killable as a whole
        )
    except FileNotFoundError as exc:
        raise CommandNotFound(f"command not found: {argv[0]!r}") from exc
    except PermissionError as exc:
        raise CommandNotFound(f"command not executable: {argv[0]!r}") from exc

    if on_start is not None:
        try:
            on_start(StartedProcess(proc.pid, start_ticks(proc.pid) or 0))
        except BaseException:
            kill_group(proc)
            raise
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    reader = threading.Thread(target=_pump, args=(proc, tail, on_line), daemon=True)
    reader.start()
    if stdin_data is not None and proc.stdin is not None:
        try:
            proc.stdin.write(stdin_data)
            proc.stdin.close()
        except BrokenPipeError:
            pass

    timed_out = cancelled = False
    deadline = started + timeout
    exited = _exit_waiter(proc)
    while True:
        if exited(0.05):
            break
        if cancel is not None and cancel.is_set():
            cancelled = True
        elif time.monotonic() >= deadline:
            timed_out = True
        if timed_out or cancelled:
            kill_group(proc)
            break
    reader.join(DRAIN_SECONDS)
    if proc.stdout is not None and reader.is_alive():
        # A grandchild still holds the pipe: stop listening, leave it running.
        try:
            proc.stdout.close()
        except OSError:
            pass
    return ProcessResult(argv=argv, returncode=proc.returncode, output_tail="\n".join(tail),
                         duration_seconds=time.monotonic() - started, timed_out=timed_out,
                         cancelled=cancelled)


def _exit_waiter(proc: subprocess.Popen[bytes]) -> Callable[[float], bool]:
    """A wait of at most `seconds` that returns True as soon as the process has exited.

    Popen.wait(timeout) polls with sleeps growing to 50 ms, so a 25 ms command could be
    seen to end up to 16 ms late; a pidfd (Linux 5.3+) becomes readable at the exit itself."""

    def polling(seconds: float) -> bool:
        try:
            proc.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        return polling
    import select
    import weakref

    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    weakref.finalize(proc, os.close, pidfd)  # closed with the process object

    def on_exit(seconds: float) -> bool:
        poller.poll(seconds * 1000)
        return proc.poll() is not None

    return on_exit


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole group, then SIGKILL what is left after a grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            # The leader is gone; make sure the rest of its group is too.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
        except subprocess.TimeoutExpired:
            continue


def _pump(proc: subprocess.Popen[bytes], tail: deque[str], on_line: Callable[[str], None] | None) -> None:
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            # Every command's output passes here: known secrets never go further.
            line = redact(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            tail.append(line)
            if on_line is not None:
                on_line(line)
    except (OSError, ValueError):
        pass  # the pipe was closed under us after the command exited
