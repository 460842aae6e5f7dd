"""Each backend against a real counterpart (files, scripts, moto's AWS server) or, for Vault,
a stand-in HTTP server driven by the real hvac client; and each failure named clearly."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from fraisier.config import ConfigError
from fraisier.domain.redaction import redact
from fraisier.secrets import SecretError, check_references, resolve_target, resolve_text
from tests.secrets.moto_support import moto_server
from tests.secrets.vault_standin import VaultStandIn, VaultState


def test_file_backend_reads_the_file_and_a_json_key(tmp_path: Path, config_with) -> None:
    (tmp_path / "db").write_text("pw-from-file\n")
    (tmp_path / "shop.json").write_text(json.dumps({"api_key": "key-123456", "n": 5}))
    config = config_with("", {"A": f"${{secret:file:{tmp_path}/db}}",
                              "B": f"x=${{secret:file:{tmp_path}/shop.json#api_key}};"})
    target = resolve_target(config, config.target("shop", "production"))
    assert target.env == {"A": "pw-from-file", "B": "x=key-123456;"}
    # what was fetched is redacted from now on
    assert redact("log: pw-from-file and key-123456") == "log: *** and ***"


def test_file_backend_failures_name_reference_and_key_path(tmp_path: Path, config_with) -> None:
    secret = tmp_path / "locked"
    secret.write_text("nope")
    secret.chmod(0)
    (tmp_path / "plain").write_text("not json")
    config = config_with("", {"MISSING": f"${{secret:file:{tmp_path}/absent}}",
                              "DENIED": f"${{secret:file:{tmp_path}/locked}}",
                              "NOKEY": f"${{secret:file:{tmp_path}/plain#k}}"})
    count, failures = check_references(config)
    assert count == 3
    text = "\n".join(failures)
    assert f"fraises.shop.env.MISSING: ${{secret:file:{tmp_path}/absent}}: file: no such file" in text
    assert f"fraises.shop.env.NOKEY: ${{secret:file:{tmp_path}/plain#k}}: file: #k: the secret is not JSON" in text
    if os.geteuid() != 0:  # root reads a 0000 file anyway
        assert "fraises.shop.env.DENIED" in text and "permission denied" in text


def test_credential_backend_reads_credentials_directory(tmp_path: Path, config_with,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "shop_db").write_text("cred-value-1")
    config = config_with("", {"DB": "${secret:credential:shop_db}"})
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(SecretError, match=r"\$\{secret:credential:shop_db\} \(shop/production"
                                          r"\.env\.DB\): credential: CREDENTIALS_DIRECTORY"):
        resolve_target(config, config.target("shop", "production"))
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert resolve_target(config, config.target("shop", "production")).env["DB"] == "cred-value-1"


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_command_backend_gets_the_reference_as_last_argument(tmp_path: Path, config_with) -> None:
    tool = _script(tmp_path / "op", 'test "$1" = read || exit 3\n'
                                    'test "$TOOL_TOKEN" = sa-token || exit 4\n'
                                    'echo "value for $2"\n')
    config = config_with(f"""\
        op:
          type: command
          command: [{tool}, read]
          env: {{TOOL_TOKEN: sa-token}}
        """, {"DB": "${secret:op:op://Prod/shop/db}"})
    assert resolve_target(config, config.target("shop", "production")).env["DB"] == \
        "value for op://Prod/shop/db"


def test_command_backend_failure_and_timeout(tmp_path: Path, config_with) -> None:
    failing = _script(tmp_path / "failing", 'echo "item $1 not found" >&2; exit 1\n')
    slow = _script(tmp_path / "slow", "sleep 30\n")
    config = config_with(f"""\
        bad: {{type: command, command: [{failing}]}}
        slow: {{type: command, command: [{slow}], timeout: 0.5}}
        gone: {{type: command, command: [{tmp_path}/missing-tool]}}
        """, {"A": "${secret:bad:x}", "B": "${secret:slow:y}", "C": "${secret:gone:z}"})
    count, failures = check_references(config)
    assert count == 3
    assert failures == [
        f"fraises.shop.env.A: ${{secret:bad:x}}: bad: {failing} exited with status 1: "
        "item x not found",
        f"fraises.shop.env.B: ${{secret:slow:y}}: slow: {slow} timed out after 0.5s "
        "(process group killed)",
        f"fraises.shop.env.C: ${{secret:gone:z}}: gone: command not found: "
        f"'{tmp_path}/missing-tool'",
    ]


def test_vault_token_and_approle_with_real_hvac(tmp_path: Path, config_with) -> None:
    state = VaultState(secrets={"secret/apps/shop": {"db_password": "vault-pw-1", "api": "k-9"}},
                       tokens={"root-token": {"secret/apps/shop"}},
                       roles={("deployer", "s3cr3t-id"): {"secret/apps/shop"}})
    with VaultStandIn(state) as vault:
        config = config_with(f"""\
            vault:
              type: vault
              url: {vault.url}
              token: root-token
            bao:
              type: vault
              url: {vault.url}
              approle: {{role_id: deployer, secret_id: s3cr3t-id}}
            """, {"A": "${secret:vault:apps/shop#db_password}",
                  "B": "${secret:bao:apps/shop#api}"})
        target = resolve_target(config, config.target("shop", "production"))
        assert target.env == {"A": "vault-pw-1", "B": "k-9"}
        assert "POST /v1/auth/approle/login" in state.requests
        assert "GET /v1/secret/data/apps/shop" in state.requests


def test_vault_failures(tmp_path: Path, config_with) -> None:
    state = VaultState(secrets={"secret/apps/shop": {"a": "1234", "b": "5678"}},
                       tokens={"good": {"secret/apps/shop", "secret/apps/none"}},
                       roles={})
    with VaultStandIn(state) as vault:
        config = config_with(f"""\
            vault: {{type: vault, url: {vault.url}, token: good}}
            badtoken: {{type: vault, url: {vault.url}, token: wrong}}
            role: {{type: vault, url: {vault.url}, approle: {{role_id: r, secret_id: s}}}}
            """, {"MISSINGKEY": "${secret:vault:apps/shop#c}",
                  "NOKEY": "${secret:vault:apps/shop}",
                  "ABSENT": "${secret:vault:apps/none#a}",
                  "DENIED": "${secret:vault:apps/other#a}",
                  "TOKEN": "${secret:badtoken:apps/shop#a}",
                  "ROLE": "${secret:role:apps/shop#a}"})
        _, failures = check_references(config)
    assert failures == [
        "fraises.shop.env.MISSINGKEY: ${secret:vault:apps/shop#c}: vault: no key 'c' in the "
        "secret (it has: a, b)",
        "fraises.shop.env.NOKEY: ${secret:vault:apps/shop}: vault: the secret has several keys "
        "(a, b): name one with #KEY",
        "fraises.shop.env.ABSENT: ${secret:vault:apps/none#a}: vault: no secret at "
        "secret/apps/none",
        "fraises.shop.env.DENIED: ${secret:vault:apps/other#a}: vault: permission denied "
        "reading secret/apps/other",
        "fraises.shop.env.TOKEN: ${secret:badtoken:apps/shop#a}: badtoken: permission denied: "
        "the token was refused",
        "fraises.shop.env.ROLE: ${secret:role:apps/shop#a}: role: request refused: invalid "
        "role or secret ID",
    ]


def test_vault_unreachable(tmp_path: Path, config_with) -> None:
    from fraisier.demo.workspace import free_port

    config = config_with(f"vault: {{type: vault, url: 'http://127.0.0.1:{free_port()}', "
                         "token: t, timeout: 2}\n", {"A": "${secret:vault:apps/shop#a}"})
    with pytest.raises(SecretError) as caught:
        resolve_text(config, config.fraises["shop"].env["A"], "fraises.shop.env.A")
    assert str(caught.value).startswith(
        "secret ${secret:vault:apps/shop#a} (fraises.shop.env.A): vault: unreachable")


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    with moto_server() as endpoint:
        yield endpoint


def test_aws_secrets_manager_through_moto_server(tmp_path: Path, config_with,
                                                 moto_endpoint: str) -> None:
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="eu-west-1")
    client.create_secret(Name="prod/shop", SecretString=json.dumps({"api_key": "aws-key-77"}))
    client.create_secret(Name="prod/token", SecretString="plain-token-88")
    config = config_with(f"aws: {{type: aws, region: eu-west-1, endpoint_url: '{moto_endpoint}'}}\n",
                         {"KEY": "${secret:aws:prod/shop#api_key}",
                          "TOKEN": "${secret:aws:prod/token}",
                          "MISSING": "${secret:aws:prod/none}",
                          "NOKEY": "${secret:aws:prod/shop#other}"})
    count, failures = check_references(config)
    assert count == 4
    assert failures == [
        "fraises.shop.env.MISSING: ${secret:aws:prod/none}: aws: no such secret",
        "fraises.shop.env.NOKEY: ${secret:aws:prod/shop#other}: aws: no key 'other' in the "
        "secret (it has: api_key)",
    ]
    assert resolve_text(config, "${secret:aws:prod/token}") == "plain-token-88"
    client.update_secret(SecretId="prod/token", SecretString="rotated-token-99")
    from fraisier.secrets import clear_cache

    clear_cache()  # what the cache's few seconds do: the next deployment gets the new value
    fresh = resolve_text(config, "${secret:aws:prod/token}")
    assert fresh == "rotated-token-99"


def test_aws_unreachable(tmp_path: Path, config_with, monkeypatch: pytest.MonkeyPatch) -> None:
    from fraisier.demo.workspace import free_port

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    config = config_with(f"aws: {{type: aws, region: eu-west-1, timeout: 2, "
                         f"endpoint_url: 'http://127.0.0.1:{free_port()}'}}\n",
                         {"A": "${secret:aws:prod/shop}"})
    _, failures = check_references(config)
    assert failures == ["fraises.shop.env.A: ${secret:aws:prod/shop}: aws: unreachable: "
                        "cannot connect to the Secrets Manager endpoint"]


@pytest.mark.parametrize(("value", "message"), [
    ("${secret:vault}", "malformed secret reference '${secret:vault}'"),
    ("${secret:vault:}", "nothing after 'vault'"),
    ("${secret:vault:apps/shop#}", "empty key after '#'"),
    ("${secret:Bad Name:x}", "malformed secret reference"),
    ("${secret:nowhere:x}", "no secret backend 'nowhere' (configured: credential, file)"),
])
def test_malformed_references_are_refused_with_key_path(tmp_path: Path, config_with, value: str,
                                                        message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with("", {"A": value})
    text = str(caught.value)
    assert "fraises.shop.env.A" in text and message in text


def test_a_secret_in_a_command_line_is_refused(tmp_path: Path, config_with) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with("", {}, build="'deploy --token ${secret:file:/run/secrets/t}'")
    assert "fraises.shop.build.2: a secret cannot be part of a command line" in str(caught.value)


def test_a_secret_in_a_repository_url_is_refused(tmp_path: Path, config_with) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with("", {}, repository="'https://ci:${secret:file:/run/t}@git.example/x.git'")
    assert "fraises.shop.repository: a repository URL cannot reference a secret" in \
        str(caught.value)
