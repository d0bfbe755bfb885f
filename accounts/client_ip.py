"""The client's address, as seen through the reverse proxies the platform trusts.

``DJANGO_TRUSTED_PROXY_COUNT`` says how many proxies stand in front (0: clients
connect directly). Each proxy appends the address it saw to X-Forwarded-For, so
the client is the entry that many places from the end; anything before it was
written by the client and is not believed.
"""

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.ipv6 import clean_ipv6_address

from config import clock


def _normalise(address: str) -> str | None:
    address = address.strip()
    if ":" in address:
        try:
            return clean_ipv6_address(address)
        except ValidationError:
            return None
    return address or None


def client_ip(request) -> str | None:
    if request is None:
        return None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [a for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= proxies:
            return _normalise(forwarded[-proxies])
    return _normalise(request.META.get("REMOTE_ADDR", ""))


def axes_client_ip(request) -> str | None:
    return client_ip(request)


def axes_username(request, credentials) -> str:
    """The lock counts an address however its case is typed: login ignores case too."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(username).strip().lower()


def throttled_source(address: str | None) -> str:
    """What a throttle counts by: one IPv4 address, or one IPv6 /64 block (a single
    subscriber holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "inconnue"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        # « ::ffff:a.b.c.d »: an IPv4 client seen by a dual-stack server, counted alone.
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def attempt_reserve(count_key: str, since_key: str, *, limit: int, window: timedelta) -> bool:
    """Count one more attempt; False once ``limit`` attempts were made in the window.

    The counter goes up before the work is done (an atomic increment, in Redis in
    production), so parallel requests cannot get past the limit. The window is read on
    the platform's clock."""
    now = clock.now()
    timeout = int(window.total_seconds())
    since = cache.get(since_key)
    if since is None or now - since >= window:
        cache.set_many({since_key: now, count_key: 0}, timeout)
    try:
        count = cache.incr(count_key)
    except ValueError:
        cache.set(count_key, 1, timeout)
        count = 1
    return count <= limit
