"""`fraisier setup`: the files it writes are accepted by the programs that read them —
`systemd-analyze verify` for the units, `visudo -cf` for the sudoers drop-in, `nginx -t` for
the TLS site (with a certificate made here by openssl) — and a request goes through that
nginx, over TLS, to a running `fraisier serve`."""

from __future__ import annotations

import os
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from fraisier.demo.workspace import free_port
from tests.cli._cli_support import fraisier_executable, invoke
from tests.support.services import require, require_binary
from tests.support.waiting import wait_for
from tests.webhooks._server import Server

CONFIG = """\
data_dir: {root}/state
webhook:
  max_body_bytes: 4096
  trusted_proxies: [127.0.0.1]
git:
  github:
    webhook_secret: ${{GITHUB_SECRET}}
fraises:
  web:
    repository: https://git.example.com/acme/web.git
    environments:
      production:
        branch: main
        app_path: {root}/srv/web
        systemd_service: web
        backup_dir: {root}/backups/web
      staging:
        branch: develop
        app_path: {root}/srv/web-staging
        systemd_service: "web@staging:blue"
  tool:
    repository: https://git.example.com/acme/tool.git
    environments:
      production:
        branch: main
        app_path: {root}/srv/tool
        restart: [pkill, -HUP, tool]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "fraises.yaml"
    path.write_text(CONFIG.format(root=tmp_path))
    (tmp_path / ".env").write_text("GITHUB_SECRET=" + "s" * 40 + "\n")
    return path


def _setup(config: Path, out: Path, *args: str):
    outcome = invoke(config, "setup", "--out", str(out), "--executable", fraisier_executable(),
                     *args)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    return outcome


def test_units_are_verified_by_systemd_and_confine_fraisier(config, tmp_path):
    require_binary("systemd-analyze")
    out = tmp_path / "out"
    outcome = _setup(config, out, "--separate-worker")
    units = sorted((out / "etc/systemd/system").iterdir())
    assert [u.name for u in units] == ["fraisier-scheduler.service", "fraisier-worker.service",
                                       "fraisier.service"]
    verify = subprocess.run(["systemd-analyze", "verify", *map(str, units)],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.strip() == "" and verify.stderr.strip() == ""

    server = (out / "etc/systemd/system/fraisier.service").read_text()
    worker = (out / "etc/systemd/system/fraisier-worker.service").read_text()
    for unit in (server, worker):
        assert "User=fraisier" in unit and "StateDirectory=fraisier" in unit
        assert "ProtectSystem=strict" in unit and "PrivateTmp=yes" in unit
        assert "Restart=on-failure" in unit
        assert "EnvironmentFile=/etc/fraisier/fraisier.env" in unit
        writable = sorted(line.split("=", 1)[1] for line in unit.splitlines()
                          if line.startswith("ReadWritePaths="))
        # app paths, the backup directory outside them, the data directory; nothing else
        assert writable == sorted(str(tmp_path / p) for p in (
            "backups/web", "srv/tool", "srv/web", "srv/web-staging", "state"))
    # Only the unit that restarts services may use sudo; the internet-facing one may not.
    assert "NoNewPrivileges=yes" in server and "--no-worker" in server
    assert "NoNewPrivileges=no" in worker
    assert 'Environment="FRAISIER_SYSTEMCTL=/usr/bin/sudo -n /usr/bin/systemctl"' in worker
    # The restart command of `tool` is not systemctl: said, and not granted.
    assert "tool/production: its restart command (pkill -HUP tool) is not a systemctl" in (
        outcome.stderr)
    assert os.stat(out / "etc/fraisier/fraisier.env").st_mode & 0o777 == 0o600
    assert (out / "etc/fraisier/fraisier.env").read_text().splitlines()[-1] == "GITHUB_SECRET="


def test_sudoers_drop_in_is_accepted_by_visudo_and_names_only_the_units(config, tmp_path):
    require_binary("visudo")
    out = tmp_path / "out"
    _setup(config, out)
    sudoers = out / "etc/sudoers.d/fraisier"
    assert os.stat(sudoers).st_mode & 0o777 == 0o440
    check = subprocess.run(["visudo", "-cf", str(sudoers)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    text = sudoers.read_text()
    commands = [line.strip().rstrip(", \\") for line in text.splitlines()
                if line.strip().startswith("/usr/bin/systemctl")]
    expected = {f"/usr/bin/systemctl {verb} {unit}"
                for verb in ("start", "stop", "restart", "reload")
                for unit in ("web", "web.service", "web@staging\\:blue",
                             "web@staging\\:blue.service")}
    assert set(commands) == expected
    assert "*" not in text and "ALL=(root) NOPASSWD: FRAISIER_UNITS" in text

    # A sudoers file visudo refuses is never put in place by `--install`-like writes.
    from fraisier.selfhost.files import SetupError, apply_plan
    from fraisier.selfhost.plan import Plan, PlannedFile

    broken = Plan(files=[PlannedFile(Path("/etc/sudoers.d/broken"), "fraisier ALL=(\n", 0o440,
                                     check=("visudo", "-cf"))], directories=[])
    with pytest.raises(SetupError, match="visudo -cf refused it"):
        apply_plan(broken, tmp_path / "root")
    assert not (tmp_path / "root/etc/sudoers.d/broken").exists()


def _certificate(directory: Path) -> tuple[Path, Path]:
    require_binary("openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_nginx_site_terminates_tls_in_front_of_a_running_server(config, tmp_path):
    require_binary("nginx")
    cert, key = _certificate(tmp_path)
    https_port = free_port()
    server = Server(config, log=tmp_path / "serve.log")  # picks its own loopback port
    out = tmp_path / "out"
    _setup(config, out, "--server-name", "localhost", "--https-port", str(https_port),
           "--http-port", "0", "--no-ipv6", "--port", str(server.port),
           "--tls-cert", str(cert), "--tls-key", str(key))
    site = out / "etc/nginx/sites-available/fraisier.conf"
    assert "client_max_body_size 4096;" in site.read_text()  # webhook.max_body_bytes
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(f"{user}worker_processes 1;\nevents {{ worker_connections 64; }}\n"
                    f"http {{\n    access_log off;\n    include {site};\n}}\n")
    argv = ["nginx", "-p", str(prefix), "-c", str(conf), "-g",
            f"daemon off; pid {prefix}/nginx.pid; error_log stderr;"]
    tested = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30)
    if tested.returncode != 0:
        server.stop()
    assert tested.returncode == 0, tested.stderr

    nginx = subprocess.Popen(argv, stderr=subprocess.PIPE)
    try:
        base = f"https://127.0.0.1:{https_port}"
        tls = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=tls, timeout=5) as client:
            answer = _first_answer(client, f"{base}/healthz", nginx)
            assert answer.status_code == 200 and answer.json() == {"status": "ok"}
            # The webhook path reaches Fraisier, which refuses an unsigned GitHub delivery.
            refused = client.post(f"{base}/webhook", content=b"{}",
                                  headers={"X-GitHub-Event": "push",
                                           "Content-Type": "application/json"})
            assert refused.status_code in (400, 401, 403), refused.text
            assert "signature" in refused.text.lower() or "secret" in refused.text.lower()
            # nginx enforces webhook.max_body_bytes before the proxy.
            too_big = client.post(f"{base}/webhook", content=b"x" * 5000)
            assert too_big.status_code == 413 and "nginx" in too_big.text
            graphql = client.post(f"{base}/graphql", json={"query": "{ __typename }"})
            assert graphql.headers["content-type"].startswith("application/json")
        # The WebSocket upgrade of subscriptions passes through.
        from websockets.sync.client import connect

        # open_timeout only bounds a hang (the handshake waited past 10 s once on a loaded
        # machine).
        with connect(f"wss://127.0.0.1:{https_port}/graphql", ssl=tls, open_timeout=60,
                     subprotocols=["graphql-transport-ws"]) as socket:
            assert socket.subprotocol == "graphql-transport-ws"
    finally:
        nginx.terminate()
        nginx.wait(10)
        server.stop()


def _first_answer(client: httpx.Client, url: str, nginx: subprocess.Popen) -> httpx.Response:
    def answer() -> httpx.Response | None:
        assert nginx.poll() is None, nginx.stderr.read().decode() if nginx.stderr else ""
        try:
            return client.get(url)
        except httpx.TransportError:
            return None

    return wait_for(answer, 60, f"nginx to answer at {url}")


def test_check_shows_what_differs_from_what_would_be_written(config, tmp_path):
    out = tmp_path / "out"
    _setup(config, out)
    clean = invoke(config, "setup", "--check", "--out", str(out),
                   "--executable", fraisier_executable())
    assert clean.exit_code == 0, clean.stdout
    assert "✓ 4 file(s) match" in clean.stdout

    unit = out / "etc/systemd/system/fraisier.service"
    unit.write_text(unit.read_text().replace("PrivateTmp=yes", "PrivateTmp=no"))
    (out / "etc/sudoers.d/fraisier").unlink()
    secrets = out / "etc/fraisier/fraisier.env"
    secrets.write_text("GITHUB_SECRET=operator-value\n")
    secrets.chmod(0o644)
    drifted = invoke(config, "setup", "--check", "--out", str(out),
                     "--executable", fraisier_executable())
    assert drifted.exit_code == 1
    assert "✗ /etc/systemd/system/fraisier.service: differs" in drifted.stdout
    assert "-PrivateTmp=no\n+PrivateTmp=yes" in drifted.stdout
    assert "✗ /etc/sudoers.d/fraisier: missing" in drifted.stdout
    assert "✗ /etc/fraisier/fraisier.env: mode 0644, expected 0600" in drifted.stdout
    assert "operator-value" not in drifted.stdout  # secrets are never shown

    # Writing again repairs the files and keeps the operator's secrets.
    _setup(config, out)
    assert secrets.read_text() == "GITHUB_SECRET=operator-value\n"
    assert invoke(config, "setup", "--check", "--out", str(out),
                  "--executable", fraisier_executable()).exit_code == 0


def test_setup_needs_one_mode(config):
    outcome = invoke(config, "setup")
    assert outcome.exit_code == 2 and "choose one of --out DIR, --install or --check" in (
        outcome.stderr)


def test_install_writes_in_place_and_makes_the_writable_directories(config, tmp_path):
    """--install, into a trial root (the hidden --root) rather than /, as the existing user
    `nobody`: files with their modes, the app paths created and owned by the user."""
    require_binary("visudo")
    import pwd

    require(os.geteuid() == 0, "--install needs root")
    account = pwd.getpwnam("nobody")
    root = tmp_path / "root"
    outcome = invoke(config, "setup", "--install", "--root", str(root), "--user", "nobody",
                     "--executable", fraisier_executable())
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert os.stat(root / "etc/sudoers.d/fraisier").st_mode & 0o777 == 0o440
    assert "User=nobody" in (root / "etc/systemd/system/fraisier.service").read_text()
    for relative in ("srv/web", "srv/web-staging", "srv/tool", "backups/web", "state"):
        made = root / str(tmp_path / relative).lstrip("/")
        assert made.is_dir(), made
        assert (made.stat().st_uid, made.stat().st_gid) == (account.pw_uid, account.pw_gid)
    assert "systemctl daemon-reload && systemctl enable --now fraisier.service" in (
        outcome.stdout)
    assert invoke(config, "setup", "--check", "--out", str(root), "--user", "nobody",
                  "--executable", fraisier_executable()).exit_code == 0
