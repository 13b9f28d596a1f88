"""Who is asking, and how often: the client's address behind trusted proxies, and fixed-window
counters kept in the shared cache (Redis in production, where increments are atomic across every
web process)."""

from __future__ import annotations

import hashlib
import ipaddress
import time

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    """The address of the client that sent the request.

    With ``TRUSTED_PROXY_COUNT`` proxies in front of the app (``DJANGO_TRUSTED_PROXY_COUNT``), the
    client is the entry that many places from the right of ``X-Forwarded-For``: each proxy
    appends the address it received the request from, so entries further left are whatever the
    client chose to send. With none, or no header, it is ``REMOTE_ADDR``.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    if not entries:
        return remote
    candidate = entries[-proxies] if len(entries) >= proxies else entries[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


# One IPv6 subscriber (a home line, a cloud server) holds a whole /64 and can take a fresh
# address from it for every request: a per-address limit counts the /64.
IPV6_RATE_PREFIX = 64


def ip_rate_key(address) -> str:
    """The key under which a client address counts against a per-address limit: an IPv4
    address as it is, an IPv6 address by its /64 network (an IPv4-mapped IPv6 address as the
    IPv4 address it is). Anything unparsable is returned as given."""
    text = str(address or "").strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{IPV6_RATE_PREFIX}", strict=False))
    return str(ip)


def counter_increment(*, scope: str, key: str, window: int) -> int:
    """Counts one event for ``key`` in the current ``window``-second window; returns the count.

    Windows are aligned to the clock, so every process agrees which window is current. On Redis,
    ``add`` then ``incr`` are each atomic: concurrent requests never lose a count.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    bucket = int(time.time()) // window
    cache_key = f"ratelimit:{scope}:{bucket}:{digest}"
    cache.add(cache_key, 0, timeout=window + 60)
    try:
        return cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.add(cache_key, 1, timeout=window + 60)
        return 1


def rate_limit_hit(*, scope: str, key: str, limit: int, window: int) -> bool:
    """Counts one attempt; True when ``key`` has made more than ``limit`` in this window."""
    return counter_increment(scope=scope, key=key, window=window) > limit


# Counts every key given in one atomic step; a key's first count sets its expiry.
_INCREMENT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
    counts[i] = redis.call('INCR', key)
    if counts[i] == 1 then
        redis.call('EXPIRE', key, ARGV[1])
    end
end
return counts
"""
_increment_scripts: dict[str, object] = {}


def counters_increment(*, items: list[tuple[str, str]], window: int) -> list[int]:
    """``counter_increment`` for several (scope, key) pairs at once; returns the counts in order.

    On Redis: one command (a Lua script run by its digest, so each call sends only the keys),
    through one client per process and server, as Django's RedisCache builds a new client per
    call. Elsewhere (the file cache of a laptop or ``make test``) it counts them one by one.
    """
    backend = getattr(cache, "_cache", None)
    if not hasattr(backend, "get_client") or not hasattr(backend, "_servers"):
        return [counter_increment(scope=s, key=k, window=window) for s, k in items]
    server = backend._servers[0]
    script = _increment_scripts.get(server)
    if script is None:
        client = backend.get_client(write=True)
        script = _increment_scripts[server] = client.register_script(_INCREMENT_SCRIPT)
    bucket = int(time.time()) // window
    keys = [
        cache.make_and_validate_key(
            f"ratelimit:{scope}:{bucket}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
        )
        for scope, key in items
    ]
    return [int(count) for count in script(keys=keys, args=[window + 60])]
