"""Loading fraises.yaml from disk: parsing, file-level errors, defaults filled in."""

from __future__ import annotations

from pathlib import Path

import pytest
from _config_support import MINIMAL

from fraisier.config import ConfigError, FraiseConfig, load_config
from fraisier.domain import FraiseType


def test_minimal_config_loads_with_defaults(write_config, tmp_path: Path):
    config = load_config(write_config(MINIMAL), environ={})

    assert config.name == "fraisier"
    assert config.config_path == (tmp_path / "fraises.yaml").resolve()
    assert config.config_dir == tmp_path.resolve()
    assert config.data_dir == tmp_path.resolve() / ".fraisier"
    assert config.state.url == f"sqlite:///{tmp_path.resolve()}/.fraisier/state.db"
    assert config.state.sqlite_path == tmp_path.resolve() / ".fraisier" / "state.db"
    assert config.worker.concurrency == 2
    assert config.webhook.max_body_bytes == 1_048_576
    web = config.fraises["web"]
    assert isinstance(web, FraiseConfig)
    assert web.type is FraiseType.API
    assert web.environments["production"].keep_releases == 5
    assert web.environments["production"].timeout == 600


def test_directory_path_means_the_fraises_yaml_inside(write_config, tmp_path: Path):
    write_config(MINIMAL)
    assert "web" in load_config(tmp_path, environ={}).fraises


def test_missing_file_names_path_and_suggests_init(tmp_path: Path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert str(missing) in str(info.value)
    assert "fraisier init" in str(info.value)


def test_yaml_syntax_error_is_one_problem_with_its_line(write_config):
    path = write_config("fraises:\n  web:\n    repository: [unclosed\n  api: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    (problem,) = info.value.problems
    assert problem.message.startswith("invalid YAML")
    assert problem.line == 4
    assert str(path.resolve()) in str(info.value)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n"])
def test_top_level_must_be_a_mapping(problems_of, text):
    (problem,) = problems_of(text)
    assert "top level must be a mapping" in problem.message


def test_empty_file_is_rejected(problems_of):
    (problem,) = problems_of("# nothing here\n")
    assert "empty" in problem.message


def test_duplicate_keys_are_reported_with_both_lines(problems_of):
    text = MINIMAL + "name: one\nname: two\n"
    (problem,) = problems_of(text)
    assert problem.path == "name"
    assert problem.line == 9
    assert "first defined at line 8" in problem.message


def test_yaml_merge_keys_are_not_mistaken_for_duplicates(load):
    config = load("""\
        fraises:
          web:
            repository: https://example.com/web.git
            environments:
              staging: &base
                branch: develop
                app_path: /srv/staging
              production:
                <<: *base
                branch: main
                app_path: /srv/production
        """)
    production = config.fraises["web"].environments["production"]
    assert production.branch == "main"
    assert str(production.app_path) == "/srv/production"


def test_unsafe_yaml_tags_are_refused(problems_of):
    (problem,) = problems_of("name: !!python/object/apply:os.system ['true']\n")
    assert problem.message.startswith("invalid YAML")


def test_relative_sqlite_url_is_anchored_to_config_dir(load, tmp_path: Path):
    config = load("state:\n  url: sqlite:///db/state.db\n" + MINIMAL)
    assert config.state.url == f"sqlite:///{tmp_path.resolve()}/db/state.db"


def test_postgres_url_is_kept_verbatim(load):
    config = load("state:\n  url: postgresql://u:p@db/fraisier\n" + MINIMAL)
    assert config.state.url == "postgresql://u:p@db/fraisier"
    assert config.state.sqlite_path is None


def test_custom_data_dir_moves_default_state_db(load, tmp_path: Path):
    config = load("data_dir: var\n" + MINIMAL)
    assert config.data_dir == tmp_path.resolve() / "var"
    assert config.state.url == f"sqlite:///{tmp_path.resolve()}/var/state.db"


def test_problem_and_error_render_path_message_and_line(problems_of):
    problems = problems_of("fraises: {}\nworker:\n  concurrency: 0\n")
    assert [str(p) for p in problems] == ["worker.concurrency: must be at least 1 (line 3)"]
