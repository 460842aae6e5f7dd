"""A bare mirror per repository under Fraisier's data dir; fetch, resolve, materialize.

Releases are materialized with `git archive`, so a release directory holds the tree of one
exact commit and no `.git`.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fraisier.domain.redaction import redact, url_without_password
from fraisier.engine.process import child_environment

GIT_TIMEOUT = 600
SHA_RE = re.compile(r"^[0-9a-f]{4,64}\Z")


class GitError(Exception):
    pass


def _git_env() -> dict[str, str]:
    # git is Fraisier's own tool, so it also gets the SSH agent and git's own settings; never
    # the rest of Fraisier's environment (webhook secrets, database passwords).
    env = child_environment({}, tool=True)
    env["GIT_TERMINAL_PROMPT"] = "0"  # never hang on a password prompt
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def git(*args: str, cwd: Path | None = None, timeout: float = GIT_TIMEOUT) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=_git_env(), capture_output=True,
                              timeout=timeout, start_new_session=True)
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} timed out after {timeout:.0f}s") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        # git's message may quote a clone URL with its credentials.
        raise GitError(redact(f"git {args[0]} failed: {message[-1] if message else done.returncode}"))
    return done.stdout.decode("utf-8", "replace")


def remote_heads(repository: str, timeout: float = 60) -> dict[str, str]:
    """Branch name -> sha, from `git ls-remote --heads` with the credentials deployments use
    (poll mode, `fraisier doctor`)."""
    heads: dict[str, str] = {}
    for line in git("ls-remote", "--heads", "--", repository, timeout=timeout).splitlines():
        sha, _, ref = line.partition("\t")
        heads[ref.removeprefix("refs/heads/")] = sha
    return heads


class Mirror:
    """A bare mirror of one repository, shared by every fraise that deploys from it."""

    def __init__(self, data_dir: Path, repository: str):
        self.repository = repository
        digest = hashlib.sha256(repository.encode()).hexdigest()[:12]
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", repository.rstrip("/").split("/")[-1])
        self.path = Path(data_dir) / "mirrors" / f"{stem.removesuffix('.git')}-{digest}.git"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialize fetches: two deployments of one repository share this mirror."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / f"{self.path.name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def fetch(self) -> None:
        with self.locked():
            if not (self.path / "HEAD").exists():
                tmp = self.path.with_name(self.path.name + ".partial")
                if tmp.exists():
                    subprocess.run(["rm", "-rf", str(tmp)], check=False)
                git("clone", "--mirror", "--quiet", self.repository, str(tmp))
                tmp.rename(self.path)
            else:
                git("fetch", "--prune", "--quiet", "--force", "origin", cwd=self.path)

    def resolve(self, ref: str) -> str:
        """The full sha of a branch, tag or (possibly abbreviated) commit."""
        candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}", ref]
        for candidate in candidates:
            try:
                return git("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}",
                           cwd=self.path).strip()
            except GitError:
                continue
        raise GitError(f"{ref!r} is not a branch, tag or commit of "
                       f"{url_without_password(self.repository)}")

    def commit_info(self, sha: str) -> dict[str, str]:
        out = git("log", "-1", "--format=%H%x00%an <%ae>%x00%aI%x00%s", sha, cwd=self.path)
        full, author, when, subject = (out.rstrip("\n").split("\x00") + ["", "", "", ""])[:4]
        return {"sha": full, "author": author, "date": when, "message": subject}

    def materialize(self, sha: str, destination: Path) -> None:
        """Write the tree of `sha` into `destination` (which must not exist yet)."""
        destination.mkdir(parents=True)
        archive = subprocess.Popen(["git", "archive", "--format=tar", sha], cwd=self.path,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=_git_env(), start_new_session=True)
        untar = subprocess.run(["tar", "-x", "-C", str(destination)], stdin=archive.stdout,
                               capture_output=True, timeout=GIT_TIMEOUT)
        assert archive.stdout is not None
        archive.stdout.close()
        archive_err = archive.stderr.read().decode("utf-8", "replace") if archive.stderr else ""
        archive.wait(timeout=GIT_TIMEOUT)
        if archive.returncode != 0 or untar.returncode != 0:
            detail = archive_err.strip() or untar.stderr.decode("utf-8", "replace").strip()
            raise GitError(f"could not materialize {sha[:12]}: {detail}")
