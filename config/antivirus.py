"""Scanning files with clamd over its socket (INSTREAM), when ``CLAMD_URL`` is set.

Off by default in the embedded platform, and said so on the pages that take files.
A file is streamed to clamd in chunks: never held whole in memory.
"""

from urllib.parse import urlsplit

from clamav_client.clamd import ClamdError, ClamdNetworkSocket, ClamdUnixSocket
from django.conf import settings


class AntivirusUnavailable(Exception):
    """clamd is configured but could not give a verdict."""


def antivirus_enabled() -> bool:
    return bool(settings.CLAMD_URL)


def _client():
    url = urlsplit(settings.CLAMD_URL)
    if url.scheme == "unix":
        return ClamdUnixSocket(path=url.path, timeout=settings.CLAMD_TIMEOUT)
    return ClamdNetworkSocket(
        host=url.hostname or "127.0.0.1", port=url.port or 3310, timeout=settings.CLAMD_TIMEOUT
    )


def scan(fileobj) -> str | None:
    """The name of the virus found in the file, or None when it is clean.

    Raises ``AntivirusUnavailable`` when clamd cannot answer: a file is never called
    clean without a verdict. The file is read from its current position.
    """
    try:
        result = _client().instream(fileobj)
    except (ClamdError, OSError) as error:
        raise AntivirusUnavailable(str(error)) from error
    status, signature = result.get("stream", ("ERROR", None))
    if status == "FOUND":
        return signature or "?"
    if status == "OK":
        return None
    raise AntivirusUnavailable(signature or status)
