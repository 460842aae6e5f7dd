"""Waiting for an event in a test: poll a predicate until it holds. The timeout only bounds a
hung test; it is never the thing measured.

A predicate may raise to fail at once (say, when the process it waits on has exited). `what`
names the awaited event in the timeout error; it may be a function, called only on timeout,
when the message should carry state read then (a process's output, the last value seen)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 60,
             what: str | Callable[[], str] = "condition", interval: float = 0.05) -> T:
    """Poll until predicate() is truthy and return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {_describe(what)}")


async def wait_for_async(predicate: Callable[[], T], timeout: float = 60,
                         what: str | Callable[[], str] = "condition",
                         interval: float = 0.05) -> T:
    """wait_for inside an event loop: between polls it sleeps without blocking the loop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {_describe(what)}")


def _describe(what: str | Callable[[], str]) -> str:
    return what if isinstance(what, str) else what()


def children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found
