"""docs/cli.md must describe exactly the commands and options the program has.

- every command and subcommand reachable from `fraisier` has exactly one
  ``### `fraisier <path>` `` heading, and every such heading names a real command;
- each section shows the command's usage line exactly as `--help` prints it;
- each section names every long option of the command, local and (for the commands that
  `--server` sends to the API) remote;
- the global options, their environment variables and the remote commands are in the intro;
- every field of a deployment record's JSON is listed.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fraisier.cli.main import COMMANDS, REMOTE_COMMANDS, cli
from fraisier.store.records import DeploymentRecord, StepRecord

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
TEXT = DOC.read_text(encoding="utf-8")

_HEADING = re.compile(r"^(#{1,6}) (.*)$", re.MULTILINE)
_COMMAND_HEADING = re.compile(r"^`fraisier(?: ([^`]+))?`$")
_USAGE_BLOCK = re.compile(r"```text\n(Usage: [^\n]*)\n```")


def _sections() -> list[tuple[str, str]]:
    """(heading text, body up to the next heading) for every heading of the page."""
    found = []
    matches = list(_HEADING.finditer(TEXT))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(TEXT)
        found.append((match.group(2).strip(), TEXT[match.end():end]))
    return found


SECTIONS = _sections()


def _command_sections() -> list[tuple[str, str]]:
    """(command path, body) for each ### heading naming a `fraisier ...` command."""
    found = []
    for match in _HEADING.finditer(TEXT):
        heading = match.group(2).strip()
        if match.group(1) == "###" and heading.startswith("`fraisier"):
            named = _COMMAND_HEADING.match(heading)
            assert named and named.group(1), f"malformed command heading: {heading!r}"
    for heading, body in SECTIONS:
        named = _COMMAND_HEADING.match(heading)
        if named and named.group(1):
            found.append((named.group(1), body))
    return found


COMMAND_SECTIONS = _command_sections()


def _walk(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"`fraisier {' '.join((*prefix, name))}` cannot be loaded"
        path = (*prefix, name)
        yield path, command
        if isinstance(command, click.Group):
            yield from _walk(command, click.Context(command, info_name=name, parent=ctx), path)


ROOT_CTX = click.Context(cli, info_name="fraisier")
LOCAL = {" ".join(path): command for path, command in _walk(cli, ROOT_CTX)}


def _long_options(command: click.Command) -> set[str]:
    return {opt for param in command.params if isinstance(param, click.Option) and not param.hidden
            for opt in (*param.opts, *param.secondary_opts)
            if opt.startswith("--") and opt != "--help"}


def _section(path: str) -> str:
    bodies = [body for named, body in COMMAND_SECTIONS if named == path]
    assert len(bodies) == 1, f"`fraisier {path}` needs exactly one section, found {len(bodies)}"
    return bodies[0]


def _usage(args: list[str]) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="fraisier")
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[0]


def test_the_walk_finds_every_command():
    assert set(COMMANDS) | set(REMOTE_COMMANDS) <= set(LOCAL)
    assert {"backup run", "backup list", "backup restore", "webhook send", "tokens create",
            "graphql schema"} <= set(LOCAL)


def test_every_command_has_exactly_one_section():
    headings = [path for path, _ in COMMAND_SECTIONS]
    missing = sorted(set(LOCAL) - set(headings))
    assert not missing, f"commands without a ### `fraisier ...` section in docs/cli.md: {missing}"
    repeated = sorted({path for path in headings if headings.count(path) > 1})
    assert not repeated, f"commands with more than one section: {repeated}"


def test_every_section_names_a_real_command():
    unknown = sorted({path for path, _ in COMMAND_SECTIONS} - set(LOCAL))
    assert not unknown, f"docs/cli.md has sections for commands that do not exist: {unknown}"


@pytest.mark.parametrize("path", sorted(LOCAL))
def test_usage_line_matches_help(path):
    body = _section(path)
    usage = _USAGE_BLOCK.search(body)
    assert usage, f"the section of `fraisier {path}` needs its usage line in a ```text block"
    expected = _usage(path.split())
    assert usage.group(1) == expected
    assert LOCAL[path].get_usage(click.Context(LOCAL[path], info_name=path.split()[-1],
                                               parent=ROOT_CTX)).startswith("Usage: ")


@pytest.mark.parametrize("name", sorted(REMOTE_COMMANDS))
def test_remote_usage_line_matches_too(name):
    usage = _USAGE_BLOCK.search(_section(name))
    assert usage and usage.group(1) == _usage(["--server", "http://127.0.0.1:9", name])


def _options_of(path) -> set[str]:
    """The long options of `fraisier PATH` (one command, local or with --server)."""
    return _long_options(LOCAL[path])


@pytest.mark.parametrize("path", sorted(LOCAL))
def test_every_option_is_documented(path):
    body = _section(path)
    options = _options_of(path)
    missing = sorted(opt for opt in options if not re.search(rf"`{re.escape(opt)}[ `]", body))
    assert not missing, f"options of `fraisier {path}` missing from its section: {missing}"


@pytest.mark.parametrize("path", sorted(LOCAL))
def test_documented_options_exist(path):
    """An option written in an option table row exists."""
    body = _section(path)
    options = _options_of(path)
    rows = [line for line in body.splitlines() if line.startswith("| `-")]
    documented = {opt for row in rows
                  for opt in re.findall(r"`(--[a-z][a-z0-9-]*)", row.split("|")[1])}
    assert documented <= options, f"not options of `fraisier {path}`: {documented - options}"


def test_global_options_are_in_the_intro():
    intro = TEXT[:TEXT.index("\n## Set-up")]
    for param in cli.params:
        for opt in (*param.opts, *param.secondary_opts):
            assert f"`{opt}" in intro or f" {opt}" in intro, f"global option {opt} not described"
        envvar = getattr(param, "envvar", None)
        if envvar:
            assert f"`{envvar}`" in intro, f"{envvar} not described"
    for name in REMOTE_COMMANDS:
        assert f"`{name}`" in intro, f"remote command {name} not listed in the intro"


def test_deployment_json_fields_are_listed():
    def blank(cls):
        return cls(**{f.name: None for f in dataclasses.fields(cls)
                      if f.default is dataclasses.MISSING
                      and f.default_factory is dataclasses.MISSING})

    step = blank(StepRecord)
    record = blank(DeploymentRecord)
    record.steps = [step]
    intro = TEXT[:TEXT.index("\n## Set-up")]
    for key in [*record.to_json(), *step.to_json()]:
        assert f"`{key}`" in intro, f"deployment JSON field {key} not listed"
