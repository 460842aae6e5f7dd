"""The `command` backend: `argv + [reference]` prints the secret (op read, bw, pass, sops -d…).

The program runs like every command Fraisier starts: an argv list, its own process group,
the base environment plus the backend's `env`, a timeout that kills the group. Its standard
output is the value (one trailing newline removed); its standard error, the reason it gives
when it fails.
"""

from __future__ import annotations

import subprocess

from fraisier.config.secrets import CommandBackend
from fraisier.engine.process import child_environment, kill_group
from fraisier.secrets.errors import BackendError


def run_secret_command(backend: CommandBackend, reference: str) -> str:
    argv = [*backend.command, reference]
    try:
        proc = subprocess.Popen(argv, env=child_environment(backend.env, tool=True),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except FileNotFoundError:
        raise BackendError(f"command not found: {argv[0]!r}") from None
    except PermissionError:
        raise BackendError(f"permission denied running {argv[0]!r}") from None
    try:
        out, err = proc.communicate(timeout=backend.timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        proc.communicate()
        raise BackendError(f"{argv[0]} timed out after {backend.timeout:g}s "
                           "(process group killed)") from None
    if proc.returncode != 0:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        detail = f": {lines[-1][:300]}" if lines else ""
        raise BackendError(f"{argv[0]} exited with status {proc.returncode}{detail}")
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        raise BackendError(f"{argv[0]} printed something that is not UTF-8 text") from None
    return text.removesuffix("\n").removesuffix("\r")
