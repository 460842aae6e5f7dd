"""The threads the API's resolvers read and write the state database on.

The database layer is synchronous: called from a resolver on the event loop, one slow query
(or SQLite's busy wait behind a writer) would stall every other request of the server,
webhooks and `/healthz` included. So resolvers hand their store calls to this pool and await
them. The pool is small and fixed: the store opens one connection per thread (store/db.py),
so the API holds at most `API_DB_THREADS` connections however many requests arrive; the
rest wait their turn here, off the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

API_DB_THREADS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=API_DB_THREADS,
                                       thread_name_prefix="api-db")
        return _pool


async def in_db_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` on one of the API's database threads."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), functools.partial(fn, *args, **kwargs))
