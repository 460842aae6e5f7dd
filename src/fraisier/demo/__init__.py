"""A self-contained sample: a tiny web app in a local git repository, a fraises.yaml that
deploys it, and the narrated `fraisier demo` that shows a deploy and an automatic rollback."""

from fraisier.demo.workspace import Workspace, make_workspace

__all__ = ["Workspace", "make_workspace"]
