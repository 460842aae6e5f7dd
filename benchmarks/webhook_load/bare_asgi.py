"""Baseline (c): the least an HTTP endpoint can do for a webhook: read the body, verify the
HMAC in constant time, answer 202. Run with `uvicorn bare_asgi:app`; secret from BENCH_SECRET."""

import hashlib
import hmac
import os

SECRET = os.environ.get("BENCH_SECRET", "bench-secret").encode()


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    given = dict(scope["headers"]).get(b"x-hub-signature-256", b"")
    expected = b"sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest().encode()
    status = 202 if hmac.compare_digest(given, expected) else 401
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"status":"queued"}'})
