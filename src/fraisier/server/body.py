"""Read a request body without ever holding more than the limit in memory."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):  # noqa: N818 - reads better at the call site
    pass


async def read_capped(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is known to exceed `limit` bytes:
    from Content-Length before reading anything, else while streaming."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
