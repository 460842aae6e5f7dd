"""The threads the API runs on: its database threads, and the GraphQL loop.

The database layer is synchronous: called from a resolver on the event loop, one slow query
(or SQLite's busy wait behind a writer) would stall every other request of the server,
webhooks and `/healthz` included. So resolvers hand their store calls to this pool and await
them. The pool is small and fixed: the store opens one connection per thread (store/db.py),
so the API holds at most `API_DB_THREADS` connections however many requests arrive; the
rest wait their turn here, off the event loop.

Queries and mutations over HTTP are executed on a second event loop in its own thread (see
`on_graphql_loop`); subscriptions stay on the server's loop, where they mostly wait.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

API_DB_THREADS = 4

# How often the interpreter hands the GIL to another thread (Python's default: 5 ms). A
# server process sets it (`share_interpreter_fairly`): while the GraphQL loop builds a large
# answer, the server's loop then waits at most this long for each of the several turns a
# webhook request needs, instead of 5 ms each.
SWITCH_INTERVAL_SECONDS = 0.0005


def share_interpreter_fairly() -> None:
    """For processes that serve the API beside webhooks (`fraisier serve`)."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)

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


_graphql_loop: asyncio.AbstractEventLoop | None = None


def _loop() -> asyncio.AbstractEventLoop:
    """The GraphQL loop: one daemon thread running an event loop, started on first use."""
    global _graphql_loop
    with _pool_lock:
        if _graphql_loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="graphql-loop",
                             daemon=True).start()
            _graphql_loop = loop
        return _graphql_loop


async def on_graphql_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Await `coroutine` run on the GraphQL loop (cancelled there if the caller is).

    Executing a query is CPU work on whatever loop runs it: parsing, validation, and
    graphql-core building every object of the answer (a few thousand deployments take a
    second on a small machine). On the server's loop that work would come between a webhook
    and its answer; on its own thread it only shares the interpreter, which switches threads
    every few milliseconds."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, _loop()))
