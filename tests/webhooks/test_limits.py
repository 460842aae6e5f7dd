"""Pure pieces: client address behind proxies, the token bucket, path globs."""

from fraisier.ingest import RateLimiter, client_address
from fraisier.ingest.routing import paths_match


def test_forwarded_for_is_ignored_from_untrusted_peers():
    assert client_address("203.0.113.9", "10.0.0.1", ["127.0.0.1/32"]) == "203.0.113.9"


def test_forwarded_for_from_a_trusted_proxy_gives_the_first_untrusted_hop():
    proxies = ["127.0.0.1/32", "10.0.0.0/8"]
    assert client_address("127.0.0.1", "198.51.100.7", proxies) == "198.51.100.7"
    # A client writing its own X-Forwarded-For cannot pick its address: the hop the
    # trusted proxy appended (rightmost untrusted) is used.
    assert client_address("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.1.1.1", proxies) == \
        "198.51.100.7"
    assert client_address("127.0.0.1", "garbage", proxies) == "127.0.0.1"


def test_token_bucket_per_source():
    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b") is True
    now[0] += 20.0  # one token back per 20 s at 3/minute
    assert limiter.allow("a") is True
    assert limiter.allow("a") is False


def test_paths_match():
    assert paths_match(None, ("x",))
    assert paths_match(["app/*"], None)  # not told which files: deploy
    assert paths_match(["app/*"], ("README.md", "app/views.py"))
    assert not paths_match(["app/*"], ("README.md",))
    assert not paths_match(["app/*"], ())
