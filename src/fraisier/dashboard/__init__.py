"""The web dashboard: static pages (plain ES modules and one stylesheet, shipped in the package)
that talk only to the public GraphQL API. `fraisier serve` adds `dashboard_pages(path)` (the
page) to its routes and mounts `dashboard_assets()` (the files) at `asset_mount(path)`;
`explorer_html()` is the query page served at `GET /graphql`."""

from fraisier.dashboard.app import (
    asset_mount,
    dashboard_assets,
    dashboard_pages,
    explorer_html,
    security_headers,
)

__all__ = ["asset_mount", "dashboard_assets", "dashboard_pages", "explorer_html",
           "security_headers"]
