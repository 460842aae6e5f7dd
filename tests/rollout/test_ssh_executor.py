"""The SSH executor against a real sshd: quoting, private environment, host keys, timeouts."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from fraisier.config.rollouts import HostConfig, SshConfig
from fraisier.rollout.nginx import NginxError, Server, render_upstream
from fraisier.rollout.ssh import HostUnreachable, SshExecutor, control_dir
from tests.support.services import require_binary
from tests.support.sshd import SSHD, start_fleet


@pytest.fixture
def one_host(tmp_path: Path):
    require_binary(SSHD)
    require_binary("ssh")
    fleet = start_fleet(tmp_path / "hosts", ["h1"])
    yield fleet
    fleet.stop()


@pytest.fixture
def sockets():
    """A short control-socket directory (socket paths are limited to ~100 bytes)."""
    path = control_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _executor(fleet, sockets: Path, **ssh) -> SshExecutor:
    host = fleet.hosts[0]
    config = HostConfig(name=host.name, address="127.0.0.1", port=host.port, user=fleet.user)
    settings = SshConfig(identity_file=fleet.identity, known_hosts=ssh.pop(
        "known_hosts", fleet.known_hosts), connect_timeout=5, **ssh)
    return SshExecutor(config, settings, sockets)


def test_hostile_values_arrive_literally_and_secrets_stay_off_the_command_line(
        one_host, sockets):
    executor = _executor(one_host, sockets)
    try:
        env_file = str(one_host.hosts[0].base / "app" / ".fraisier" / "env")
        executor.put_env({"API_SECRET": "top'secret $(touch /tmp/nope)"}, env_file)
        assert stat.S_IMODE(Path(env_file).stat().st_mode) == 0o600
        weird = "a b; echo INJECTED $(id) `id` 'q' \"d\""
        result = executor.run(["printf", "%s|%s|%s", weird, "$API_SECRET", ""],
                              env={"FRAISIER_COMMIT": "$(reboot)"}, timeout=30)
        assert result.ok, result.output_tail
        assert result.output_tail == weird + "|$API_SECRET|"
        shown = executor.run(["sh", "-c", 'printf "%s/%s" "$API_SECRET" "$FRAISIER_COMMIT"'],
                             timeout=30)
        assert shown.output_tail == "top'secret $(touch /tmp/nope)/"
        line = executor.remote_line(["true"], None, {"FRAISIER_COMMIT": "abc"})
        assert "top'secret" not in line and "API_SECRET" not in line
        # Connection reuse: the control socket of this deployment exists.
        assert Path(executor.control_path).exists()
    finally:
        executor.close()
    assert not Path(executor.control_path).exists()


def test_an_unknown_host_key_is_refused(one_host, sockets, tmp_path):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    executor = _executor(one_host, sockets, known_hosts=empty)
    with pytest.raises(HostUnreachable, match="(?i)host key"):
        executor.run(["true"], timeout=30)


def test_a_remote_command_that_hangs_is_killed_at_its_timeout(one_host, sockets):
    executor = _executor(one_host, sockets)
    try:
        result = executor.run(["sleep", "30"], timeout=1)
        assert result.timed_out and not result.ok
    finally:
        executor.close()


def test_upstream_rendering_refuses_an_upstream_without_live_server():
    text = render_upstream("app", [Server("127.0.0.1:1", weight=90), Server("127.0.0.1:2",
                                                                            weight=10)])
    assert "server 127.0.0.1:1 weight=90;" in text and "server 127.0.0.1:2 weight=10;" in text
    with pytest.raises(NginxError):
        render_upstream("app", [Server("127.0.0.1:1", down=True)])
