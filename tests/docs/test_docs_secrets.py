"""docs/secrets.md must stay true to the code: every ```yaml example loads as written (its
references checked, nothing fetched), then each backend's example is resolved against a real
counterpart (files, a credentials directory, a script on PATH, moto's AWS server) or, for
Vault, the stand-in server of tests/secrets/vault_standin.py driven by hvac."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from fraisier.config import load_config
from fraisier.domain.redaction import MIN_SECRET_LENGTH, REDACTOR
from fraisier.secrets import clear_cache, resolve_target
from tests.secrets.moto_support import moto_server
from tests.secrets.vault_standin import VaultStandIn, VaultState

DOC = Path(__file__).resolve().parents[2] / "docs" / "secrets.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```yaml\n(.*?)^```", TEXT, re.MULTILINE | re.DOTALL)
VARIABLES = {"OP_SERVICE_ACCOUNT_TOKEN": "ops-token", "VAULT_TOKEN": "root-token",
             "BAO_SECRET_ID": "bao-secret-id"}


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    clear_cache()
    REDACTOR.forget_all()
    yield
    clear_cache()
    REDACTOR.forget_all()


def _block(kind: str) -> str:
    found = [block for block in BLOCKS if f"type: {kind}" in block]
    if kind == "credential":
        found = [block for block in BLOCKS if "${secret:credential:" in block]
    assert len(found) == 1, kind
    return found[0]


def _load(tmp_path: Path, text: str):
    text = text.replace("/srv/shop", str(tmp_path / "app"))
    (tmp_path / "fraises.yaml").write_text(text)
    config = load_config(tmp_path / "fraises.yaml", environ=VARIABLES)
    return config, config.target("shop", "production")


def test_every_yaml_example_loads_without_fetching(tmp_path: Path) -> None:
    assert len(BLOCKS) == 5
    for index, block in enumerate(BLOCKS):
        folder = tmp_path / str(index)
        folder.mkdir()
        _load(folder, block)  # the vault, aws and op hosts do not exist: nothing is fetched


def test_the_documented_minimum_length_is_the_code_s() -> None:
    assert f"shorter than **{MIN_SECRET_LENGTH} characters**" in TEXT


def test_file_example(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "shop_db").write_text("db-pass-1\n")
    (tmp_path / "stripe.json").write_text(json.dumps({"secret_key": "sk_live_1"}))
    text = _block("file").replace("/run/secrets", str(tmp_path / "run")).replace(
        "/etc/shop/stripe.json", str(tmp_path / "stripe.json"))
    config, target = _load(tmp_path, text)
    assert resolve_target(config, target).env == {"DATABASE_PASSWORD": "db-pass-1",
                                                  "STRIPE_KEY": "sk_live_1"}


def test_credential_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "shop_db").write_text("cred-pass-2")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    config, target = _load(tmp_path, _block("credential"))
    assert resolve_target(config, target).env == {"DATABASE_PASSWORD": "cred-pass-2"}


def test_command_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    op = bin_dir / "op"  # a stand-in for 1Password's CLI, with its `op read URI` interface
    op.write_text('#!/bin/sh\ntest "$1" = read && test "$OP_SERVICE_ACCOUNT_TOKEN" = ops-token'
                  ' && test "$2" = op://Production/shop/db_password && echo op-pass-3\n')
    op.chmod(op.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    config, target = _load(tmp_path, _block("command"))
    assert resolve_target(config, target).env == {"DATABASE_PASSWORD": "op-pass-3"}


def test_vault_example(tmp_path: Path) -> None:
    state = VaultState(secrets={"secret/apps/shop": {"db_password": "vault-pass-4"},
                                "kv/apps/shop": {"api_key": "bao-key-5", "other": "x"}},
                       tokens={"root-token": {"secret/apps/shop"}},
                       roles={("fraisier-deployer", "bao-secret-id"): {"kv/apps/shop"}})
    with VaultStandIn(state) as vault:
        text = _block("vault").replace("https://vault.example.com:8200", vault.url).replace(
            "https://bao.example.com:8200", vault.url)
        config, target = _load(tmp_path, text)
        assert resolve_target(config, target).env == {"DATABASE_PASSWORD": "vault-pass-4",
                                                      "API_KEY": "bao-key-5"}


def test_aws_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto_server() as endpoint:
        client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="eu-west-1")
        client.create_secret(Name="prod/shop", SecretString=json.dumps({"stripe_key": "sk-6"}))
        client.create_secret(Name="prod/shop/database_url",
                             SecretString="postgresql://shop:pw-7777@db/shop")
        text = _block("aws").replace("region: eu-west-1",
                                     f"region: eu-west-1\n    endpoint_url: {endpoint}")
        config, target = _load(tmp_path, text)
        assert resolve_target(config, target).env == {
            "STRIPE_KEY": "sk-6", "DATABASE_URL": "postgresql://shop:pw-7777@db/shop"}
