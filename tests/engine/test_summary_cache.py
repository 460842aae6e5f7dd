"""The read commands' cached summary of fraises.yaml follows every change it depends on."""

from fraisier.cli import summary


def _config(tmp_path, branch="${DEPLOY_BRANCH:-main}"):
    path = tmp_path / "fraises.yaml"
    path.write_text(
        "fraises:\n  web:\n    repository: /srv/git/web.git\n    environments:\n"
        f"      production:\n        branch: \"{branch}\"\n        app_path: /srv/web\n")
    return path


def _fresh(path):
    from fraisier.config import load_config

    result = summary.summarize(load_config(path))
    summary.save(path, result)
    return result


def test_summary_is_reused_until_an_input_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DEPLOY_BRANCH", raising=False)
    path = _config(tmp_path)
    assert summary.load_cached(path) is None
    saved = _fresh(path)
    assert saved.targets[0].branch == "main"
    assert summary.load_cached(path) == saved

    monkeypatch.setenv("DEPLOY_BRANCH", "release")  # a referenced variable changed
    assert summary.load_cached(path) is None
    assert _fresh(path).targets[0].branch == "release"

    (tmp_path / ".env").write_text("OTHER=1\n")  # the .env file changed
    assert summary.load_cached(path) is None
    _fresh(path)
    _config(tmp_path, branch="develop")  # the file itself changed
    assert summary.load_cached(path) is None
