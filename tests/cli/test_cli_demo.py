"""`fraisier demo` as a real process: deploy, deploy, broken deploy rolled back, all stopped."""

from __future__ import annotations

import json
from pathlib import Path

from _cli_support import pid_is_alive, run_fraisier

from fraisier.demo import Workspace


def test_demo_runs_end_to_end_and_leaves_nothing_running(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    app_path = root / "srv" / "hello"
    started: list[int] = []
    try:
        result = run_fraisier(tmp_path / "unused.yaml", "demo", "--quiet", "--dir", str(root))
        log = (app_path / "app.log").read_text() if (app_path / "app.log").exists() else ""
        assert result.exit_code == 0, result.stderr + result.stdout
        out = " ".join(result.stdout.split())
        assert "rolled_back" in out
        assert "v1: deployment 1 succeeded" in out
        assert "v2: deployment 2 succeeded" in out
        assert "v3: deployment 3 rolled_back" in out
        assert "serving: v2 (the previous release, restored)" in out
        # Every app process the demo started is named in a deployment log ("... as pid N").
        for deployment in ("1", "2", "3"):
            shown = run_fraisier(root / "fraises.yaml", "logs", deployment, "--json")
            for row in json.loads(shown.stdout)["logs"]:
                if row["line"].startswith("started ") and " as pid " in row["line"]:
                    started.append(int(row["line"].rsplit(" ", 1)[1]))
        # v1, v2, broken v3, and v2 again after the rollback.
        assert len(started) == 4, log
        assert not (app_path / "app.pid").exists()
        assert [pid for pid in started if pid_is_alive(pid)] == []
    finally:
        if (app_path / "app.pid").exists():
            Workspace(root=root, repo=root / "repo", app_path=app_path,
                      config_path=root / "fraises.yaml", port=0).stop_app()


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    result = run_fraisier(tmp_path / "unused.yaml", "demo", "--dir", str(tmp_path / "busy"))
    assert result.exit_code != 0
    assert "is not empty" in result.stderr
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["file"]
