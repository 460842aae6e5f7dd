"""The examples in docs/rollouts.md work: the nginx configuration passes `nginx -t`, and
the YAML fragments validate."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from fraisier.config import load_config
from fraisier.demo.workspace import free_port
from fraisier.rollout.nginx import Server, render_upstream
from tests.support.nginx import NGINX
from tests.support.services import require_binary

DOC = Path(__file__).resolve().parents[2] / "docs" / "rollouts.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_documented_nginx_config_passes_nginx_t(tmp_path):
    require_binary(NGINX)
    (site,) = _blocks("nginx")
    upstream = tmp_path / "web-upstream.conf"
    upstream.write_text(render_upstream("web", [Server("127.0.0.1:8001", weight=90),
                                                Server("127.0.0.1:8002", weight=10)]))
    site = site.replace("/etc/nginx/fraisier/web-upstream.conf", str(upstream))
    site = site.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"{user}events {{}}\nhttp {{\n{site}\n}}\n")
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf), "-g",
                             f"pid {tmp_path / 'nginx.pid'}; error_log stderr;"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_documented_yaml_fragments_validate(tmp_path):
    blocks = _blocks("yaml")
    assert len(blocks) == 4
    full, *fragments = blocks
    hosts_part = full.split("        hosts:")[1]
    for fragment in ["", *fragments]:
        # Each strategy fragment replaces the rolling defaults of the full example.
        text = full.split("        hosts:")[0] + fragment
        if "strategy: rolling" in fragment or not fragment:
            text += "        hosts:" + hosts_part
            if fragment:
                text = text.replace("region: eu", "region: canary", 1)
        path = tmp_path / "fraises.yaml"
        path.write_text(text)
        target = load_config(path).target("web", "production")
        assert target.rollout is not None
        assert target.rollout.effective_strategy in ("rolling", "blue_green", "canary")
