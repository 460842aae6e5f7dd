"""What a CLI command imports once its configuration is in the cache: the read commands
never load pydantic, and no command loads the YAML parser or the validators again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from fraisier.cli.main import main
sys.argv = ["fraisier", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
loaded = [name for name in ("pydantic", "yaml", "fraisier.config.loader",
                            "fraisier.engine.saga", "rich.table") if name in sys.modules]
print("LOADED=" + json.dumps(loaded))
"""


def _loaded(tmp_path: Path, *argv: str) -> tuple[list[str], str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "FRAISIER_CONFIG": str(tmp_path / "fraises.yaml")}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], env=env,
                          capture_output=True, text=True, timeout=120)
    marker = [line for line in done.stdout.splitlines() if line.startswith("LOADED=")]
    assert marker, done.stdout + done.stderr
    return json.loads(marker[0].removeprefix("LOADED=")), done.stdout


def test_commands_served_from_the_cache_skip_the_parser_and_validators(tmp_path: Path) -> None:
    (tmp_path / "fraises.yaml").write_text(
        f"state: {{url: \"sqlite:///{tmp_path}/state.db\"}}\n"
        "fraises:\n  web:\n    repository: https://git.example.org/web.git\n"
        f"    environments:\n      production: {{branch: main, app_path: {tmp_path}/srv}}\n")

    first, _ = _loaded(tmp_path, "status", "--json")  # validates, then keeps the result
    assert "yaml" in first and "fraisier.config.loader" in first

    status, out = _loaded(tmp_path, "status", "--json")
    assert '"environment": "production"' in out
    assert status == []  # no pydantic, no YAML, no engine, no table drawing for --json

    cancel, _ = _loaded(tmp_path, "cancel", "999")
    assert "yaml" not in cancel and "pydantic" not in cancel  # the store needs the summary only

    jobs, _ = _loaded(tmp_path, "jobs", "--json")
    assert "yaml" not in jobs and "fraisier.config.loader" not in jobs
    assert "pydantic" in jobs  # this command uses the whole configuration (unpickled)


def test_fraisier_run_from_the_cache_loads_no_models(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "etl.py").write_text("print('loaded')\n")
    identity = ["-c", "user.name=t", "-c", "user.email=t@localhost"]
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], [*identity, "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(repo), *argv], check=True, timeout=60)
    (tmp_path / "fraises.yaml").write_text(
        f"state: {{url: \"sqlite:///{tmp_path}/state.db\"}}\n"
        f"fraises:\n  loader:\n    type: etl\n    repository: {repo}\n"
        f"    script: [{sys.executable}, etl.py]\n"
        f"    environments:\n      production: {{branch: main, app_path: {tmp_path}/srv}}\n")
    _loaded(tmp_path, "deploy", "loader", "production", "--quiet")  # validates, keeps it

    loaded, out = _loaded(tmp_path, "run", "loader", "production")
    assert "loaded" in out.splitlines() and "loader/production script: succeeded" in out
    assert loaded == []  # no pydantic, no YAML, no engine, no table
