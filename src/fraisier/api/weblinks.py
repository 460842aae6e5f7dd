"""Links to a commit on the repository's web site, when the repository URL names one.

Only well-known hosting sites are recognised (github.com, gitlab.com, bitbucket.org, codeberg.org
and any host whose name starts with `gitea.`, `forgejo.` or `gitlab.`); a local path or an
unknown host gets no link rather than a guessed one.
"""

from __future__ import annotations

import re

_SCP = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)$")
_URL = re.compile(r"^(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host>[\w.-]+)(?::\d+)?/(?P<path>.+)$")


def _commit_path(host: str) -> str | None:
    if host == "github.com" or host == "codeberg.org" or host.startswith(("gitea.", "forgejo.")):
        return "commit"
    if host == "gitlab.com" or host.startswith("gitlab."):
        return "-/commit"
    if host == "bitbucket.org":
        return "commits"
    return None


def repository_web_url(repository: str) -> str | None:
    """`https://host/owner/name` for a repository URL on a known site, else None."""
    found = _URL.match(repository) or _SCP.match(repository)
    if found is None:
        return None
    host = found["host"].lower()
    if _commit_path(host) is None:
        return None
    path = found["path"].strip("/").removesuffix(".git")
    if not re.fullmatch(r"[\w.-]+(?:/[\w.-]+)+", path):
        return None
    return f"https://{host}/{path}"


def commit_web_url(repository: str, sha: str | None) -> str | None:
    if not sha or not re.fullmatch(r"[0-9a-f]{7,64}", sha):
        return None
    web = repository_web_url(repository)
    if web is None:
        return None
    host = web.split("/")[2]
    return f"{web}/{_commit_path(host)}/{sha}"
