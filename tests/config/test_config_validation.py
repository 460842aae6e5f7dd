"""Every validation rule reports the key path and the line it applies to."""

from __future__ import annotations

import pytest
from _config_support import MINIMAL, line_of

from fraisier.config import ConfigError, FraisierConfig


def fraise_with(environment_body: str) -> str:
    """A one-fraise file whose production environment has the given extra lines."""
    indented = "".join(f"        {line}\n" for line in environment_body.splitlines())
    return (
        "fraises:\n"
        "  web:\n"
        "    repository: https://example.com/web.git\n"
        "    environments:\n"
        "      production:\n"
        "        branch: main\n"
        "        app_path: /srv/web\n" + indented
    )


def only(problems):
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_bad_health_check_url_has_path_and_line(problems_of):
    text = fraise_with("health_check:\n  url: ftp://example.com/health")
    problem = only(problems_of(text))
    assert str(problem) == (
        "fraises.web.environments.production.health_check.url: not a valid URL: expected "
        "http://HOST[:PORT]/PATH or https://... (the scheme is ftp://) (line 9)"
    )
    assert problem.line == line_of(text, "ftp://")


@pytest.mark.parametrize(
    "url", ["http://", "localhost:8000/health", "http://host:99999/", "http://a b/"]
)
def test_more_invalid_urls(problems_of, url):
    problem = only(problems_of(fraise_with(f"health_check:\n  url: '{url}'")))
    assert problem.message.startswith(
        "not a valid URL: expected http://HOST[:PORT]/PATH or https://...")
    if "://" not in url:
        assert problem.message.endswith("(there is no scheme)")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("health_check:\n  timeout: 3", "set exactly one of url, tcp or command"),
        (
            "health_check:\n  url: http://x/\n  tcp: x:1",
            "set exactly one of url, tcp or command (got url and tcp)",
        ),
    ],
)
def test_health_check_needs_exactly_one_probe(problems_of, body, message):
    problem = only(problems_of(fraise_with(body)))
    assert problem.path == "fraises.web.environments.production.health_check"
    assert problem.message == message


@pytest.mark.parametrize("tcp", ["localhost", "host:0", "host:65536", ":80", "host:http"])
def test_bad_tcp_address(problems_of, tcp):
    problem = only(problems_of(fraise_with(f"health_check:\n  tcp: '{tcp}'")))
    assert problem.path.endswith("health_check.tcp")
    assert "host:port" in problem.message


@pytest.mark.parametrize("tcp", ["127.0.0.1:5432", "[::1]:8000", "db.internal:1"])
def test_good_tcp_address(load, tcp):
    config = load(fraise_with(f"health_check:\n  tcp: '{tcp}'"))
    assert config.fraises["web"].environments["production"].health_check.kind == "tcp"


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ("health_check: {url: 'http://x/', timeout: 0}", "health_check.timeout", "must be greater than 0"),
        ("health_check: {url: 'http://x/', retries: 0}", "health_check.retries", "must be at least 1"),
        ("health_check: {url: 'http://x/', interval: -1}", "health_check.interval", "must be at least 0"),
        ("health_check: {url: 'http://x/', expect_status: 600}", "health_check.expect_status", "must be at most 599"),
        ("keep_releases: 0", "keep_releases", "must be at least 1"),
        ("timeout: 0", "timeout", "must be greater than 0"),
        ("timeout: soon", "timeout", "expected a number"),
        ("migrate: {tool: flyway}", "migrate.tool", "must be 'confiture', 'alembic' or 'django'"),
        ("env: {PORT: [1]}", "env.PORT", "expected a string"),
        ("env: {1BAD: x}", "env.1BAD", "invalid environment variable name '1BAD'"),
        ("paths: docs/**", "paths", "expected a list"),
        ("systemd_service: 'web; rm -rf /'", "systemd_service", "is not a systemd unit name"),
    ],
)
def test_environment_field_rules(problems_of, body, key, message):
    problem = only(problems_of(fraise_with(body)))
    assert problem.path == f"fraises.web.environments.production.{key}"
    assert message in problem.message
    assert problem.line == 8


def test_unknown_key_is_rejected_with_a_suggestion(problems_of):
    text = fraise_with("helth_check:\n  url: http://x/")
    problem = only(problems_of(text))
    assert str(problem) == (
        "fraises.web.environments.production.helth_check: "
        "unknown key (did you mean 'health_check'?) (line 8)"
    )


def test_unknown_top_level_key(problems_of):
    problem = only(problems_of(MINIMAL + "wokrer: {concurrency: 3}\n"))
    assert problem.path == "wokrer"
    assert problem.message == "unknown key (did you mean 'worker'?)"


def test_unknown_key_without_a_close_match(problems_of):
    problem = only(problems_of(MINIMAL + "webhook: {zzz: 1}\n"))
    assert (problem.path, problem.message) == ("webhook.zzz", "unknown key")


@pytest.mark.parametrize("name", ["Web App", "-web", "web.app", "Web"])
def test_invalid_fraise_names(problems_of, name):
    text = MINIMAL.replace("  web:", f"  '{name}':")
    problem = only(problems_of(text))
    assert problem.path == f"fraises.{name}"
    assert problem.message == (
        f"invalid name {name!r}: use lowercase letters, digits, '-' and '_', "
        "starting with a letter or digit"
    )
    assert problem.line == 2


def test_invalid_environment_names(problems_of):
    text = MINIMAL.replace("production:", "Prod:") + "environments:\n  'QA env': {}\n"
    problems = problems_of(text)
    assert {p.path for p in problems} == {"fraises.web.environments.Prod", "environments.QA env"}
    assert all(p.message.startswith("invalid name") for p in problems)


def test_restart_and_systemd_service_conflict(problems_of):
    text = fraise_with("restart: systemctl restart web\nsystemd_service: web")
    problem = only(problems_of(text))
    assert problem.path == "fraises.web.environments.production"
    assert "restart" in problem.message and "systemd_service" in problem.message
    assert problem.line == 5


def test_missing_required_keys(problems_of):
    problems = problems_of("fraises:\n  web:\n    environments:\n      production:\n        branch: main\n")
    assert {(p.path, p.message, p.line) for p in problems} == {
        ("fraises.web.repository", "required key is missing", 2),
        ("fraises.web.environments.production.app_path", "required key is missing", 4),
    }


def test_fraises_key_is_required(problems_of):
    problem = only(problems_of("name: x\n"))
    assert (problem.path, problem.message) == ("fraises", "required key is missing")


def test_fraise_needs_an_environment(problems_of):
    problem = only(problems_of("fraises:\n  web:\n    repository: x\n    environments: {}\n"))
    assert problem.path == "fraises.web.environments"
    assert "at least one environment" in problem.message


def test_unknown_fraise_type(problems_of):
    problem = only(problems_of(MINIMAL.replace("    repository:", "    type: cron\n    repository:")))
    assert problem.path == "fraises.web.type"
    assert problem.message == "must be 'api', 'etl', 'scheduled' or 'backup'"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/x", "unsupported state URL scheme 'mysql' (use sqlite:/// or postgresql://)"),
        ("sqlite://state.db", "sqlite URLs take three slashes"),
    ],
)
def test_state_url_scheme(problems_of, url, message):
    problem = only(problems_of(f"state:\n  url: '{url}'\n" + MINIMAL))
    assert problem.path == "state.url"
    assert message in problem.message
    assert problem.line == 2


def test_state_url_error_does_not_echo_password(problems_of):
    problem = only(problems_of("state:\n  url: 'mysql://root:hunter2@db/x'\n" + MINIMAL))
    assert "hunter2" not in str(problem)


def test_trusted_proxies_are_validated_one_by_one(problems_of):
    text = MINIMAL + "webhook:\n  trusted_proxies:\n    - 10.0.0.0/8\n    - ::1\n    - not-an-ip\n"
    problem = only(problems_of(text))
    assert str(problem) == (
        "webhook.trusted_proxies.2: 'not-an-ip' is not an IP address or CIDR network (line 12)"
    )


def test_webhook_retention_must_cover_the_duplicate_window(problems_of, load):
    text = MINIMAL + "webhook:\n  retention_days: 0.5\n"
    problem = only(problems_of(text))
    assert str(problem).startswith(
        "webhook: retention_days (0.5) is shorter than duplicate_window_seconds (86400 s)")
    assert load(MINIMAL).webhook.retention_days == 90
    assert load(MINIMAL + "webhook:\n  retention_days: null\n").webhook.retention_days is None
    shorter = load(MINIMAL + "webhook:\n  retention_days: 0.5\n  duplicate_window_seconds: 600\n")
    assert shorter.webhook.retention_days == 0.5
    problem = only(problems_of(MINIMAL + "webhook:\n  retention_days: 0\n"))
    assert str(problem).startswith("webhook.retention_days:")
    # Unset, it grows with a window longer than its default.
    longer = load(MINIMAL + "webhook:\n  duplicate_window_seconds: 8640000\n")
    assert longer.webhook.retention_days == 100


def test_branch_mapping_to_unknown_fraise(problems_of):
    text = MINIMAL + "branch_mapping:\n  main:\n    fraise: api\n    environment: production\n"
    problem = only(problems_of(text))
    assert problem.path == "branch_mapping.main.fraise"
    assert problem.message == "unknown fraise 'api' (known: web)"
    assert problem.line == line_of(text, "fraise: api")


def test_branch_mapping_to_unknown_environment_in_a_list(problems_of):
    text = MINIMAL + (
        "branch_mapping:\n"
        "  main:\n"
        "    - {fraise: web, environment: production}\n"
        "    - {fraise: web, environment: staging}\n"
    )
    problem = only(problems_of(text))
    assert problem.path == "branch_mapping.main.1.environment"
    assert "has no environment 'staging' (it has: production)" in problem.message
    assert problem.line == 11


def test_branch_mapping_typo_in_single_form_has_no_phantom_index(problems_of):
    text = MINIMAL + "branch_mapping:\n  main: {fraise: web, enviroment: production}\n"
    problems = {p.path: p.message for p in problems_of(text)}
    assert problems == {
        "branch_mapping.main.enviroment": "unknown key (did you mean 'environment'?)",
        "branch_mapping.main.environment": "required key is missing",
    }


def test_branch_mapping_single_form_is_stored_as_list(load):
    config = load(MINIMAL + "branch_mapping:\n  main: {fraise: web, environment: production}\n")
    (mapped,) = config.branch_mapping["main"]
    assert (mapped.fraise, mapped.environment) == ("web", "production")


def test_branch_may_come_from_top_level_defaults(load, problems_of):
    without_branch = MINIMAL.replace("        branch: main\n", "")
    problem = only(problems_of(without_branch))
    assert problem.path == "fraises.web.environments.production.branch"
    assert "environments.production.branch" in problem.message

    config = load(without_branch + "environments:\n  production:\n    branch: main\n")
    assert config.target("web", "production").branch == "main"


def test_defaults_for_an_environment_no_fraise_has(problems_of):
    problem = only(problems_of(MINIMAL + "environments:\n  prodution: {keep_releases: 3}\n"))
    assert problem.path == "environments.prodution"
    assert "no fraise has an environment named 'prodution'" in problem.message


def test_two_targets_cannot_share_an_app_path(problems_of):
    text = MINIMAL + "  api:\n    repository: x\n    environments:\n      production: {branch: main, app_path: /srv/web}\n"
    problem = only(problems_of(text))
    assert problem.path == "fraises.api.environments.production.app_path"
    assert "fraises.web.environments.production" in problem.message


def test_top_level_defaults_cannot_set_app_path(problems_of):
    problem = only(problems_of(MINIMAL + "environments:\n  production: {app_path: /srv}\n"))
    assert problem.path == "environments.production.app_path"
    assert problem.message == "app_path is set per fraise environment, not in shared defaults"


def test_many_problems_are_reported_at_once_in_file_order(problems_of):
    text = """\
        name: demo
        worker:
          concurrency: 0
        fraises:
          web:
            repository: https://example.com/web.git
            instal: make
            environments:
              production:
                branch: main
                app_path: /srv/web
                health_check:
                  url: nope
        webhook:
          max_body_bytes: -1
        """
    problems = problems_of(text)
    assert [(p.path, p.line) for p in problems] == [
        ("worker.concurrency", 3),
        ("fraises.web.instal", 7),
        ("fraises.web.environments.production.health_check.url", 13),
        ("webhook.max_body_bytes", 15),
    ]


def test_empty_secret_means_not_configured(load):
    config = load(MINIMAL + "git:\n  github:\n    webhook_secret: ''\n  gitlab:\n    secret_token: 1234\n")
    assert config.git.github.webhook_secret is None
    assert config.git.gitlab.secret_token.get_secret_value() == "1234"
    assert "1234" not in repr(config.git)


def test_empty_provider_section_is_allowed(load):
    config = load(MINIMAL + "git:\n  forgejo:\n")
    assert config.git.forgejo.webhook_secret is None


def test_cross_checks_also_apply_when_built_in_code():
    data = {
        "fraises": {"web": {"repository": "x", "environments": {"p": {"branch": "m", "app_path": "/a"}}}},
        "branch_mapping": {"main": {"fraise": "nope", "environment": "p"}},
    }
    with pytest.raises(ConfigError) as info:
        FraisierConfig.model_validate(data)
    assert [p.path for p in info.value.problems] == ["branch_mapping.main.0.fraise"]
