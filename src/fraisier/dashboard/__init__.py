"""The web dashboard: static pages (plain ES modules and one stylesheet, shipped in the package)
that talk only to the public GraphQL API. `dashboard_app()` is the ASGI app `fraisier serve`
mounts at `dashboard.path`; `explorer_html()` is the query page served at `GET /graphql`."""

from fraisier.dashboard.app import dashboard_app, explorer_html, security_headers

__all__ = ["dashboard_app", "explorer_html", "security_headers"]
