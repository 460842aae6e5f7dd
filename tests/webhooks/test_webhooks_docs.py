"""docs/webhooks.md runs as written: its configuration example loads, and the curl + openssl
signing recipe, run by bash against a real `fraisier serve`, gets the answer it shows."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from fraisier.config import load_config
from tests.support.services import require_binary

from ._server import Server

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", TEXT, re.MULTILINE | re.DOTALL)
SECRET = "a-long-random-secret"

CONFIG = """\
git:
  github:
    webhook_secret: ${{GITHUB_WEBHOOK_SECRET}}
fraises:
  shop:
    repository: https://github.com/acme/shop.git
    environments:
      production: {{branch: main, app_path: {root}/srv/shop}}
"""


def test_every_yaml_example_is_a_valid_configuration(tmp_path: Path):
    examples = [body for info, body in BLOCKS if info == "yaml"]
    assert examples
    for body in examples:
        yaml.safe_load(body)  # the quoting is right
        path = tmp_path / "fraises.yaml"
        path.write_text(body)
        names = set(re.findall(r"\$\{([A-Z_]+)\}", body))
        config = load_config(path, environ={name: "s3cret" for name in names})
        assert list(config.targets())


def test_the_signing_recipe_gets_the_answer_it_shows(tmp_path: Path):
    require_binary("curl")
    require_binary("openssl")
    (recipe,) = [body for info, body in BLOCKS if info == "sh" and "openssl dgst" in body]
    (expected,) = [line[2:] for line in recipe.splitlines() if line.startswith("# {")]
    config = tmp_path / "fraises.yaml"
    config.write_text(CONFIG.format(root=tmp_path))
    (tmp_path / ".env").write_text(f"GITHUB_WEBHOOK_SECRET={SECRET}\n")  # the server's copy
    server = Server(config, "--no-worker", log=tmp_path / "serve.log")
    try:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c",
             recipe.replace("http://127.0.0.1:8080", server.url)],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "GITHUB_WEBHOOK_SECRET": SECRET})
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
