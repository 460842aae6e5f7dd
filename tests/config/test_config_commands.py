"""The three ways to write a command, and the ways to get one wrong."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from fraisier.config import CommandSpec
from fraisier.config.commands import Command

adapter = TypeAdapter(Command)


def test_list_form_is_the_argv():
    assert adapter.validate_python(["npm", "ci", "--omit", "dev"]) == CommandSpec(
        ["npm", "ci", "--omit", "dev"], False
    )


def test_list_form_accepts_numbers_as_text():
    assert adapter.validate_python(["sleep", 5]).argv == ["sleep", "5"]


def test_string_form_is_split_like_a_shell():
    spec = adapter.validate_python("pip install -r 'requirements prod.txt'")
    assert spec == CommandSpec(["pip", "install", "-r", "requirements prod.txt"], False)


def test_shell_form_runs_through_bin_sh():
    spec = adapter.validate_python({"shell": "make && make install"})
    assert spec == CommandSpec(["/bin/sh", "-c", "make && make install"], True)
    assert str(spec) == "make && make install"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty command"),
        ("   ", "empty command"),
        ([], "empty command"),
        ({"shell": " "}, "empty command"),
        ("echo 'unbalanced", "cannot split command"),
        ("make && make install", "shell operator '&&'"),
        ("cat log | grep x", "shell operator '|'"),
        (["ls", {"a": 1}], "must be strings"),
        ({"shell": "x", "cwd": "/"}, "unknown key 'cwd'"),
        ({"shell": 3}, "'shell' must be a string"),
        (42, "expected a command"),
    ],
)
def test_bad_commands_are_rejected(value, message):
    with pytest.raises(ValidationError) as info:
        adapter.validate_python(value)
    assert message in str(info.value)


def test_all_three_forms_in_a_file(load):
    config = load("""\
        fraises:
          web:
            repository: https://example.com/web.git
            install: [npm, ci]
            build: npm run build
            migrate:
              up: {shell: "./migrate.sh up > /tmp/out"}
            environments:
              production: {branch: main, app_path: /srv/web}
        """)
    web = config.fraises["web"]
    assert web.install == CommandSpec(["npm", "ci"], False)
    assert web.build == CommandSpec(["npm", "run", "build"], False)
    assert web.migrate.up == CommandSpec(["/bin/sh", "-c", "./migrate.sh up > /tmp/out"], True)


def test_empty_command_in_a_file_names_its_path(problems_of):
    (problem,) = problems_of("""\
        fraises:
          web:
            repository: https://example.com/web.git
            install: []
            environments:
              production: {branch: main, app_path: /srv/web}
        """)
    assert str(problem) == "fraises.web.install: empty command (line 4)"
