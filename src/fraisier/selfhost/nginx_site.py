"""The nginx site in front of `fraisier serve`: TLS, then `/webhook`, `/graphql` (WebSocket
upgrade included), `/metrics` and the dashboard proxied to the loopback port.

Body limits match Fraisier's own (`webhook.max_body_bytes`, `api.max_body_bytes`), so an
oversized request is refused by nginx before it crosses the proxy. Fraisier sees the client
through X-Forwarded-For, which it believes only from `webhook.trusted_proxies` (127.0.0.1
here): `fraisier doctor` says so when it is missing.
"""

from __future__ import annotations

from fraisier.selfhost.options import SetupOptions

_PROXY = """\
        proxy_pass http://fraisier;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
"""


def render_site(options: SetupOptions, *, webhook_body_bytes: int, api_body_bytes: int) -> str:
    redirect = ""
    if options.http_port is not None:
        redirect = (
            "server {\n"
            f"    listen {options.http_port};\n"
            + (f"    listen [::]:{options.http_port};\n" if options.ipv6 else "") +
            f"    server_name {options.server_name};\n"
            "    return 301 https://$host$request_uri;\n"
            "}\n\n"
        )
    return (
        "# Written by `fraisier setup`; include it from nginx's http block (sites-enabled).\n"
        "upstream fraisier {\n"
        f"    server {options.listen_host}:{options.listen_port};\n"
        "    keepalive 16;\n"
        "}\n\n"
        "map $http_upgrade $fraisier_connection {\n"
        "    default upgrade;\n"
        "    ''      '';\n"
        "}\n\n"
        f"{redirect}"
        "server {\n"
        f"    listen {options.https_port} ssl;\n"
        + (f"    listen [::]:{options.https_port} ssl;\n" if options.ipv6 else "") +
        f"    server_name {options.server_name};\n"
        f"    ssl_certificate {options.certificate};\n"
        f"    ssl_certificate_key {options.certificate_key};\n"
        "    ssl_protocols TLSv1.2 TLSv1.3;\n"
        "    ssl_session_cache shared:fraisier_tls:1m;\n"
        "    add_header Strict-Transport-Security \"max-age=31536000\" always;\n\n"
        "    location /webhook {\n"
        f"        client_max_body_size {webhook_body_bytes};\n"
        "        proxy_set_header Connection \"\";\n"
        f"{_PROXY}"
        "    }\n\n"
        "    location /graphql {\n"
        f"        client_max_body_size {api_body_bytes};\n"
        "        proxy_set_header Upgrade $http_upgrade;\n"
        "        proxy_set_header Connection $fraisier_connection;\n"
        "        proxy_read_timeout 1h;  # subscriptions stay open\n"
        f"{_PROXY}"
        "    }\n\n"
        "    location / {\n"
        f"        client_max_body_size {api_body_bytes};\n"
        "        proxy_set_header Connection \"\";\n"
        f"{_PROXY}"
        "    }\n"
        "}\n"
    )
