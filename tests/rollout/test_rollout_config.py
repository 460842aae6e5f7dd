"""The rollout keys of fraises.yaml: defaults, resolution into Target, errors by key path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fraisier.config import ConfigError, load_config
from fraisier.rollout.strategies.rolling import waves_of

BASE = """\
fraises:
  web:
    repository: https://example.invalid/web.git
    environments:
      production:
        branch: main
        app_path: /srv/web
"""


def _load(tmp_path: Path, extra: str):
    path = tmp_path / "fraises.yaml"
    path.write_text(BASE + textwrap.indent(textwrap.dedent(extra), " " * 8))
    return load_config(path)


def _error(tmp_path: Path, extra: str) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, extra)
    return str(caught.value)


def test_without_hosts_or_strategy_the_environment_stays_local(tmp_path):
    config = load_config(_write(tmp_path, BASE))
    assert config.target("web", "production").rollout is None


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fraises.yaml"
    path.write_text(text)
    return path


def test_hosts_default_to_rolling_and_resolve_into_the_target(tmp_path):
    config = _load(tmp_path, """\
        ssh: {identity_file: keys/deploy, known_hosts: keys/known_hosts}
        batch_size: 2
        waves: [[canary], [eu, us]]
        pause_between_waves: 1m
        hosts:
          - {name: c1, address: 10.0.0.1, region: canary}
          - {name: e1, address: 10.0.0.2, region: eu, port: 2222, user: deploy}
          - {name: e2, address: 10.0.0.3, region: eu}
          - {name: u1, address: 10.0.0.4, region: us}
        """)
    rollout = config.target("web", "production").rollout
    assert rollout.effective_strategy == "rolling"
    assert rollout.ssh.identity_file == tmp_path / "keys" / "deploy"
    assert rollout.pause_between_waves == 60.0
    assert rollout.migrate_on == "first_host" and rollout.release_source == "upload"
    assert waves_of(rollout) == [[["c1"]], [["e1", "e2"], ["u1"]]]


@pytest.mark.parametrize("extra, expected", [
    ("strategy: rolling\n", "strategy rolling needs hosts"),
    ("strategy: blue_green\n", "needs slots"),
    ("hosts: [{name: a, address: h}, {name: a, address: h2}]\n", "duplicate host name(s) a"),
    ("hosts: [{name: a, address: h, region: eu}]\nwaves: [[us]]\n",
     "host a (region eu) is in no wave"),
    ("hosts: [{name: a, address: h}]\nssh: {options: [UserKnownHostsFile=/dev/null]}\n",
     "production.ssh.options"),
    ("hosts: [{name: a, address: h, port: 0}]\n", "production.hosts.0.port"),
    ("hosts: [{name: a, address: h, colour: red}]\n", "production.hosts.0.colour"),
    ("strategy: canary\nslots: {blue: {port: 1}, green: {port: 2}}\n"
     "load_balancer: {nginx: {upstream_file: u.conf}}\n"
     "canary: {steps: [{weight: 50}, {weight: 10}]}\n", "canary weights must rise"),
    ("strategy: canary\nslots: {blue: {port: 1}, green: {port: 2}}\n"
     "load_balancer: {nginx: {upstream_file: u.conf}}\n"
     "canary: {steps: [{weight: 10, pause: soon}]}\n", "production.canary.steps.0.pause"),
    ("strategy: blue_green\nslots: {blue: {port: 8001}, green: {port: 8001}}\n"
     "load_balancer: {nginx: {upstream_file: u.conf}}\n", "blue and green need different"),
])
def test_bad_rollout_settings_are_named(tmp_path, extra, expected):
    assert expected in _error(tmp_path, extra)


def test_canary_steps_end_at_full_weight(tmp_path):
    config = _load(tmp_path, """\
        strategy: canary
        slots: {blue: {port: 8001}, green: {port: 8002}}
        load_balancer: {nginx: {upstream_file: upstream.conf}}
        canary:
          steps: [{weight: 10, pause: 30s}, {weight: 50, pause: 500ms}]
          analysis: {prometheus: {url: "http://127.0.0.1:9090", query: "up", max: 1}}
        """)
    canary = config.target("web", "production").rollout.canary
    assert [(s.weight, s.pause) for s in canary.steps] == [(10, 30.0), (50, 0.5), (100, 0.0)]
    nginx = config.target("web", "production").rollout.load_balancer.nginx
    assert nginx.upstream_file == tmp_path / "upstream.conf"
