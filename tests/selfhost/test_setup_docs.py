"""docs/setup.md shows what `fraisier setup` writes: its configuration validates, and the unit
and sudoers excerpts are exactly what setup renders for it."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from tests.cli._cli_support import invoke

DOC = (Path(__file__).resolve().parents[2] / "docs" / "setup.md").read_text()


def _block(language: str, index: int = 0) -> str:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL)[index]


def _written(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "x" * 64)
    config = tmp_path / "fraises.yaml"
    config.write_text(_block("yaml"))
    assert invoke(config, "validate").exit_code == 0
    command = next(line for line in _block("sh", 2).splitlines() if " setup --out " in line)
    args = command.split(" setup ", 1)[1].split()
    args[args.index("--out") + 1] = str(tmp_path / "out")
    outcome = invoke(config, "setup", *args, "--executable", "/usr/local/bin/fraisier")
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    return config


def test_the_unit_shown_is_the_unit_written(tmp_path, monkeypatch):
    config = _written(tmp_path, monkeypatch)
    unit = (tmp_path / "out/etc/systemd/system/fraisier.service").read_text()
    unit = unit.replace(str(config), "/etc/fraisier/fraises.yaml")
    assert _block("ini") in unit


def test_the_sudoers_shown_is_the_sudoers_written(tmp_path, monkeypatch):
    _written(tmp_path, monkeypatch)
    sudoers = (tmp_path / "out/etc/sudoers.d/fraisier").read_text()
    assert _block("text") in sudoers


def test_the_site_uses_the_server_name(tmp_path, monkeypatch):
    _written(tmp_path, monkeypatch)
    site = (tmp_path / "out/etc/nginx/sites-available/fraisier.conf").read_text()
    assert "server_name deploy.example.com;" in site
    assert "/etc/letsencrypt/live/deploy.example.com/fullchain.pem" in site


def _fraisier_lines() -> list[list[str]]:
    import shlex

    found = []
    for block in re.findall(r"```sh\n(.*?)```", DOC, re.DOTALL):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            # The program, not `sudo -u fraisier`: it is followed by its -c option.
            starts = [i for i, word in enumerate(words[:-1])
                      if word == "fraisier" and words[i + 1] == "-c"]
            if starts:
                found.append(words[starts[0] + 1:])
    return found


def test_every_fraisier_command_of_the_page_parses():
    """Each `fraisier ...` line names a real command with real options (parsed, not run:
    `setup --install` would write into /etc)."""
    import click

    from fraisier.cli.main import cli

    lines = _fraisier_lines()
    assert {line[2] for line in lines} >= {"setup", "deploy", "tokens", "doctor"}
    def remaining(context: click.Context) -> list[str]:
        with warnings.catch_warnings():  # click 8.2+: the subcommand is in protected_args
            warnings.simplefilter("ignore", DeprecationWarning)
            return [*context.protected_args, *context.args]

    for args in lines:
        root = cli.make_context("fraisier", list(args), resilient_parsing=False)
        name, command, rest = cli.resolve_command(root, remaining(root))
        assert command is not None and name is not None, args
        context = command.make_context(name, rest, parent=root)
        if isinstance(command, click.Group):
            sub_name, sub, sub_rest = command.resolve_command(context, remaining(context))
            assert sub is not None and sub_name is not None, args
            sub.make_context(sub_name, sub_rest, parent=context)
