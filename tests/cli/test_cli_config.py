"""`fraisier init` and `fraisier validate`."""

from __future__ import annotations

from pathlib import Path

from _cli_support import invoke, run_fraisier

from fraisier.demo import Workspace


def test_init_writes_a_file_that_validate_accepts(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "fraises.yaml"
    written = invoke(config, "init")
    assert written.exit_code == 0, written.stderr
    assert config.is_file()
    assert str(config) in written.stdout
    checked = invoke(config, "validate")
    assert checked.exit_code == 0, checked.stderr
    assert "OK" in checked.stdout


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    config = tmp_path / "fraises.yaml"
    config.write_text("mine\n")
    refused = invoke(config, "init")
    assert refused.exit_code != 0
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert config.read_text() == "mine\n"
    forced = invoke(config, "init", "--force")
    assert forced.exit_code == 0
    assert config.read_text() != "mine\n"
    assert invoke(config, "validate").exit_code == 0


def test_validate_accepts_the_demo_config(workspace: Workspace) -> None:
    result = run_fraisier(workspace.config_path, "validate")
    assert result.exit_code == 0, result.stderr
    assert f"{workspace.config_path}: OK (1 fraise(s), 1 environment(s))" in result.stdout


def test_validate_lists_every_problem_with_key_path_and_line(workspace: Workspace,
                                                             tmp_path: Path) -> None:
    text = workspace.config_path.read_text()
    lines = text.splitlines()
    url_line = next(i for i, line in enumerate(lines, 1) if "url: http" in line)
    keep_line = next(i for i, line in enumerate(lines, 1) if "keep_releases" in line)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(f"http://127.0.0.1:{workspace.port}/health", "not-a-url")
                   .replace("keep_releases", "keep_relases"))
    result = run_fraisier(bad, "validate")
    assert result.exit_code == 1
    assert f"2 problems in {bad.resolve()}:" in result.stderr
    assert (f"fraises.hello.environments.production.health_check.url: not a valid URL: "
            "expected http://HOST[:PORT]/PATH or https://... (there is no scheme) "
            f"(line {url_line})") in result.stderr
    assert "fraises.hello.environments.production.keep_relases: unknown key" in result.stderr
    assert "keep_releases" in result.stderr  # the suggestion
    assert f"(line {keep_line})" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_of_a_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "fraises.yaml"
    result = invoke(missing, "validate")
    assert result.exit_code == 1
    assert str(missing) in result.stderr
    assert "not found" in result.stderr
    assert "Error: configuration file not found" in result.stderr
    assert "problem" not in result.stderr  # a missing file is not "1 problem in the file"


def test_validate_refuses_a_local_repository_that_does_not_exist(tmp_path: Path) -> None:
    config = tmp_path / "fraises.yaml"
    config.write_text("fraises:\n  web:\n    repository: repos/web.git\n    environments:\n"
                      f"      production: {{branch: main, app_path: {tmp_path}/srv/web}}\n")
    result = invoke(config, "validate")
    assert result.exit_code == 1
    assert f"1 problem in {config.resolve()}:" in result.stderr
    assert (f"fraises.web.repository: {tmp_path.resolve()}/repos/web.git does not exist on "
            "this machine") in result.stderr
    (tmp_path / "repos" / "web.git").mkdir(parents=True)
    assert invoke(config, "validate").exit_code == 0
