"""Two `fraisier deploy` processes at once, for two environments of one fraise."""

from __future__ import annotations

import json
import re

from _cli_support import current_release, serving, start_fraisier

from fraisier.demo import Workspace
from fraisier.demo.workspace import free_port


def two_environments(workspace: Workspace) -> tuple[dict[str, int], str]:
    """The workspace config with `staging` next to `production` (own path and port)."""
    text = workspace.config_path.read_text()
    ports = {"production": workspace.port, "staging": free_port()}
    # PORT moves from the fraise to each environment, so the two apps do not collide.
    text = re.sub(r"    env:\n      PORT: \"\d+\"\n", "", text)
    head, production = text.split("    environments:\n")
    production_block = production.replace(
        "      production:\n", f"      production:\n        env:\n          PORT: \"{ports['production']}\"\n")
    staging_block = (production_block
                     .replace("      production:\n", "      staging:\n")
                     .replace(f"PORT: \"{ports['production']}\"", f"PORT: \"{ports['staging']}\"")
                     .replace(f"127.0.0.1:{ports['production']}/", f"127.0.0.1:{ports['staging']}/")
                     .replace(str(workspace.app_path), str(workspace.root / "srv" / "staging")))
    return ports, head + "    environments:\n" + production_block + staging_block


def test_two_environments_deploy_at_once(workspace: Workspace) -> None:
    ports, text = two_environments(workspace)
    config = workspace.root / "two.yaml"
    config.write_text(text)
    staging_path = workspace.root / "srv" / "staging"
    try:
        procs = {env: start_fraisier(config, "deploy", "hello", env, "--json", "--quiet")
                 for env in ("production", "staging")}
        results = {env: proc.communicate(timeout=110) for env, proc in procs.items()}
        for env, proc in procs.items():
            assert proc.returncode == 0, results[env][1]
            assert "Traceback" not in results[env][1]
        records = {env: json.loads(out) for env, (out, _) in results.items()}
        assert {env: r["status"] for env, r in records.items()} == {
            "production": "succeeded", "staging": "succeeded"}
        assert records["production"]["commit_sha"] == records["staging"]["commit_sha"]
        assert records["production"]["id"] != records["staging"]["id"]
        assert current_release(workspace.app_path) == records["production"]["release"]
        assert current_release(staging_path) == records["staging"]["release"]
        assert serving(ports["production"]) == "v1"
        assert serving(ports["staging"]) == "v1"
    finally:
        staging = Workspace(root=workspace.root, repo=workspace.repo, app_path=staging_path,
                            config_path=config, port=ports["staging"])
        staging.stop_app()
