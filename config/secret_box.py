"""Small secrets sealed under the platform's ``SECRET_KEY``, one derived key per purpose.

A purpose (``b"salle-des-marches/…/v1"``) gets its own AES-256 key, derived from
``SECRET_KEY`` by HKDF-SHA256 with the purpose as info. ``seal`` writes
``nonce (12) || AES-256-GCM(data)`` with the purpose and the row it belongs to as associated
data, so a sealed value copied onto another row does not open there. ``open_sealed`` tries
``SECRET_KEY`` then each of ``SECRET_KEY_FALLBACKS``: a rotated secret keeps old values
readable as long as it stays among the fallbacks.

Used for a deposit file's data key while it is uploaded (``deposits/ingest.py``), after the
opening (``deposits/opened_keys.py``), and for the password of the platform's own keys
(``signatures/platform.py``).
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

NONCE_SIZE = 12


class SecretChanged(Exception):
    """Nothing opens the sealed value: the platform's secret changed without a fallback."""


def platform_secrets() -> list[str]:
    """The current secret, then the former ones still accepted."""
    return [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]


def derived_key(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret.encode("utf-8"))


def _associated_data(purpose: bytes, bound_to) -> bytes:
    return purpose + b"/" + str(bound_to).encode("ascii")


def seal(data: bytes, *, purpose: bytes, bound_to) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    key = derived_key(settings.SECRET_KEY, purpose)
    return nonce + AESGCM(key).encrypt(nonce, data, _associated_data(purpose, bound_to))


def open_sealed(sealed: bytes, *, purpose: bytes, bound_to) -> bytes:
    sealed = bytes(sealed)
    nonce, body = sealed[:NONCE_SIZE], sealed[NONCE_SIZE:]
    for secret in platform_secrets():
        try:
            return AESGCM(derived_key(secret, purpose)).decrypt(
                nonce, body, _associated_data(purpose, bound_to)
            )
        except InvalidTag:
            continue
    raise SecretChanged
