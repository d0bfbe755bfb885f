"""The client's address, as seen through the reverse proxies the platform trusts.

``DJANGO_TRUSTED_PROXY_COUNT`` says how many proxies stand in front (0: clients
connect directly). Each proxy appends the address it saw to X-Forwarded-For, so
the client is the entry that many places from the end; anything before it was
written by the client and is not believed.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.ipv6 import clean_ipv6_address


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
