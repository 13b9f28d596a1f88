"""The client's address behind proxies, and counters shared by every web process."""

import threading
import uuid

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings

from crm.ratelimit import client_ip, counter_increment, rate_limit_hit


def _request(remote="198.51.100.7", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.5", "198.51.100.7"),  # no proxy trusted: the header is the client's word
        (1, None, "198.51.100.7"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # a forged entry on the left is ignored
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "203.0.113.5", "203.0.113.5"),  # fewer entries than proxies: the leftmost
        (1, "not-an-ip", "198.51.100.7"),
        (1, " , ", "198.51.100.7"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(proxies, forwarded, expected):
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_ip(_request(forwarded=forwarded)) == expected


def test_a_limit_lets_exactly_that_many_through():
    key = uuid.uuid4().hex

    results = [rate_limit_hit(scope="test", key=key, limit=3, window=3600) for _ in range(5)]

    assert results == [False, False, False, True, True]


def test_concurrent_increments_lose_no_count():
    """Fifty requests at once each get a distinct count, so no more than a limit get through.
    (Atomic on Redis, the production cache; the suite also runs against it in CI.)"""
    from django.conf import settings

    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("atomic across processes only on Redis; the file cache is for one machine")
    key = uuid.uuid4().hex
    counts, barrier = [], threading.Barrier(50)

    def hit():
        barrier.wait()
        counts.append(counter_increment(scope="concurrent", key=key, window=3600))

    threads = [threading.Thread(target=hit) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(counts) == list(range(1, 51))


def test_counters_counted_together_agree_with_counting_them_one_by_one():
    from crm.ratelimit import counters_increment

    scope = f"test-{uuid.uuid4().hex[:8]}"
    items = [(scope, "203.0.113.9"), (scope, "example.org")]

    assert counters_increment(items=items, window=3600) == [1, 1]
    assert counters_increment(items=items, window=3600) == [2, 2]
    assert counter_increment(scope=scope, key="example.org", window=3600) == 3
    assert counters_increment(items=[(scope, "203.0.113.9")], window=3600) == [3]


@pytest.mark.skipif(
    "redis" not in settings.CACHES["default"]["BACKEND"].lower(), reason="counts in Redis"
)
def test_counters_counted_together_expire_after_their_window():
    from django.core.cache import cache

    from crm.ratelimit import counters_increment

    scope = f"test-{uuid.uuid4().hex[:8]}"
    counters_increment(items=[(scope, "example.org")], window=3600)
    counters_increment(items=[(scope, "example.org")], window=3600)

    client = cache._cache.get_client(write=True)
    keys = client.keys(f"*ratelimit:{scope}:*")
    assert len(keys) == 1
    assert 3600 < client.ttl(keys[0]) <= 3660
