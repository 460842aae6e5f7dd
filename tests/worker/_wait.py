import time


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    """Poll until predicate() is truthy; the timeout only bounds a hung test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
