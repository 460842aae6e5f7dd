"""A full disk under the state database: commands say `Error: ...` (no traceback) and
`/readyz` stops saying ready until space is back. The disk is a real, small tmpfs."""

from __future__ import annotations

from pathlib import Path

import httpx
from _cli_support import run_fraisier

from tests.support.full_disk import small_disk
from tests.support.waiting import wait_for
from tests.webhooks._server import Server

CONFIG = """\
state:
  url: sqlite:///{disk}/state.db
fraises:
  web:
    repository: https://example.com/web.git
    environments:
      production: {{branch: main, app_path: {root}/srv/web}}
"""


def _readyz(url: str) -> httpx.Response:
    return httpx.get(f"{url}/readyz", timeout=30)


def test_a_full_disk_is_an_error_message_and_not_ready(tmp_path: Path):
    with small_disk(tmp_path / "disk", size="2m") as disk:
        config = tmp_path / "fraises.yaml"
        config.write_text(CONFIG.format(disk=disk.path, root=tmp_path))
        assert run_fraisier(config, "tokens", "create", "before", "--scope", "read").exit_code == 0
        server = Server(config, "--no-worker", log=tmp_path / "serve.log")
        try:
            assert _readyz(server.url).status_code == 200
            disk.fill()

            created = run_fraisier(config, "tokens", "create", "ci-bot", "--scope", "read")
            assert created.exit_code == 1, created
            assert created.stderr.startswith("Error: "), created.stderr
            assert "disk is full" in created.stderr
            assert "Traceback" not in created.stderr

            refused = _readyz(server.url)
            assert refused.status_code == 503, refused.text
            assert "disk is full" in refused.json()["reason"]

            disk.free()
            wait_for(lambda: _readyz(server.url).status_code == 200, 30,
                     "/readyz to answer 200 once the disk has room", interval=0.1)
            again = run_fraisier(config, "tokens", "create", "ci-bot", "--scope", "read")
            assert again.exit_code == 0, again
        finally:
            server.stop()
