"""`notifications:`, `notifier:`, `server:` and the provider API keys in fraises.yaml: which
list is in force where, clear errors that name the key, URLs and tokens never echoed."""

from __future__ import annotations

import pytest

from fraisier.config import ConfigError, load_config
from fraisier.notify.channels import all_channels, channels_for
from fraisier.notify.git import provider_target
from tests.notify._support import make_repository, write_config

LAYERS = """\
notifications:
  - name: top
    url: json://top.example
environments:
  staging:
    notifications:
      - name: staging-default
        url: json://staging.example
fraises:
  web:
    repository: {repo}
    notifications:
      - name: web
        url: json://web.example
    environments:
      production: {{branch: main, app_path: {root}/a}}
      quiet: {{branch: quiet, app_path: {root}/b, notifications: []}}
  api:
    repository: {repo}
    environments:
      production: {{branch: main, app_path: {root}/c}}
      staging: {{branch: develop, app_path: {root}/d}}
      canary:
        branch: canary
        app_path: {root}/e
        notifications:
          - name: canary
            url: json://canary.example
            events: [deployment.started]
            fraises: [api]
"""


def load(tmp_path, text, **environ):
    path = tmp_path / "fraises.yaml"
    path.write_text(text)
    return load_config(path, environ=environ)


def test_the_most_specific_list_written_is_in_force(tmp_path):
    repo = make_repository(tmp_path)
    config = load(tmp_path, LAYERS.format(repo=repo, root=tmp_path))

    def names(fraise, env):
        return [c.name for c in channels_for(config, fraise, env)]

    assert names("web", "production") == ["web"]
    assert names("web", "quiet") == []
    assert names("api", "production") == ["top"]
    assert names("api", "staging") == ["staging-default"]
    assert names("api", "canary") == ["canary"]
    assert names(None, None) == ["top"]  # webhook.rejected has no target
    assert sorted(all_channels(config)) == ["canary", "staging-default", "top", "web"]
    canary = all_channels(config)["canary"]
    assert canary.wants("deployment.started", "api", "canary")
    assert not canary.wants("deployment.failed", "api", "canary")
    assert not canary.wants("deployment.started", "web", "canary")


def test_an_etl_fraise_keeps_the_seeds_notifications_mapping(tmp_path):
    repo = make_repository(tmp_path)
    config = load(tmp_path, f"""\
fraises:
  loader:
    type: etl
    repository: {repo}
    script: [python, -c, "pass"]
    notifications:
      on_success: [echo, ok]
      on_failure: [echo, failed]
    environments:
      production: {{branch: main, app_path: {tmp_path}/l}}
""")
    target = config.target("loader", "production")
    assert target.kind.on_success.argv == ["echo", "ok"]
    assert target.kind.on_failure.argv == ["echo", "failed"]
    assert channels_for(config, "loader", "production") == []


@pytest.mark.parametrize(("channel", "message"), [
    ("{name: a, url: 'hooks.example.com/tok-SECRET-123'}",
     "notifications.0.url: not an Apprise URL (expected scheme://..., e.g. slack://...)"),
    ("{name: a, url: 'json://x', events: [deployment.exploded]}",
     "notifications.0.events: unknown event(s) 'deployment.exploded'"),
    ("{name: a, url: 'json://x', events: []}",
     "notifications.0.events: list at least one event"),
    ("{name: Bad Name, url: 'json://x'}", "notifications.0.name"),
    ("{name: a, url: 'json://x', colour: red}", "notifications.0.colour: unknown key"),
])
def test_bad_channels_are_refused_with_the_key_path(tmp_path, channel, message):
    repo = make_repository(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"notifications:\n  - {channel}\n" + f"""\
fraises:
  web:
    repository: {repo}
    environments:
      production: {{branch: main, app_path: {tmp_path}/a}}
""")
    text = str(caught.value)
    assert message in text
    assert "SECRET" not in text


def test_two_channels_of_one_name_are_refused(tmp_path):
    repo = make_repository(tmp_path)
    with pytest.raises(ConfigError, match="two channels are named 'ops'"):
        load(tmp_path, f"""\
notifications:
  - {{name: ops, url: 'json://a'}}
  - {{name: ops, url: 'json://b'}}
fraises:
  web:
    repository: {repo}
    environments:
      production: {{branch: main, app_path: {tmp_path}/a}}
""")


def test_urls_take_variables_and_are_never_shown(tmp_path):
    repo = make_repository(tmp_path)
    config = load(tmp_path, f"""\
notifications:
  - name: chat
    url: slack://${{SLACK_TOKEN}}/#deploys
fraises:
  web:
    repository: {repo}
    environments:
      production: {{branch: main, app_path: {tmp_path}/a}}
""", SLACK_TOKEN="T000/B000/XXXXSECRETXXXX")
    [channel] = config.notifications
    assert channel.url.get_secret_value() == "slack://T000/B000/XXXXSECRETXXXX/#deploys"
    assert "XXXXSECRETXXXX" not in repr(config) and "XXXXSECRETXXXX" not in str(channel)


def test_the_provider_follows_the_repository_host_and_overrides(tmp_path):
    path = write_config(tmp_path, tmp_path / "unused", """\
git:
  github:
    api_token: gh
  gitlab:
    api_token: gl
    api_url: https://gitlab.internal.example/api/v4
""")
    text = path.read_text().replace(
        f"repository: {tmp_path / 'unused'}",
        "repository: git@gitlab.internal.example:team/sub/web.git")
    text += """\
  site:
    repository: https://github.com/Acme/Site.git
    environments:
      production:
        branch: main
        app_path: site
        git:
          github:
            commit_status: false
            issue_on_failure: true
"""
    path.write_text(text)
    config = load_config(path)
    web = provider_target(config.target("web", "production"))
    assert web is not None and (web.provider, web.repository) == ("gitlab", "team/sub/web")
    assert web.commit_status and not web.deployments and not web.issue_on_failure
    site = provider_target(config.target("site", "production"))
    assert site is not None and (site.provider, site.repository) == ("github", "acme/site")
    assert not site.commit_status and site.deployments and site.issue_on_failure


def test_no_token_no_provider(tmp_path):
    repo = make_repository(tmp_path)
    config = load_config(write_config(tmp_path, repo, ""))
    assert provider_target(config.target("web", "production")) is None


def test_a_token_for_another_provider_is_not_used(tmp_path):
    path = write_config(tmp_path, tmp_path / "unused", "git:\n  gitlab:\n    api_token: gl\n")
    path.write_text(path.read_text().replace(f"repository: {tmp_path / 'unused'}",
                                             "repository: https://github.com/acme/web.git"))
    assert provider_target(load_config(path).target("web", "production")) is None
