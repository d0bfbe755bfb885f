"""The platform's opened-data key: how an opened file stays readable by the buying team.

At the opening the agent's private key unwraps each file's data key in memory; the key is
then sealed again, here, under a key derived from ``SECRET_KEY`` by HKDF-SHA256 for this one
purpose (distinct from the upload key of ``deposits/ingest.py``), with AES-256-GCM and the
file's upload id as associated data: a sealed key copied onto another file does not open
there. The buying team downloads the opened documents later without the PKCS#12; a file that
was not opened, or was found altered, never gets one.

``SECRET_KEY`` rotation: the old secret must stay in ``SECRET_KEY_FALLBACKS`` for the opened
files to stay readable (re-sealing them under the new secret is a management task to come).
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PURPOSE = b"salle-des-marches/deposits/opened-data-key/v1"
_NONCE_SIZE = 12


class OpenedKeyLost(Exception):
    """The opened file's data key cannot be recovered (the platform's secret changed)."""


def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret.encode("utf-8"))


def _associated_data(upload_id) -> bytes:
    return _PURPOSE + b"/" + str(upload_id).encode("ascii")


def opened_key_seal(data_key: bytes, *, upload_id) -> bytes:
    """``nonce (12) || AES-256-GCM(data key)``, under the platform's opened-data key."""
    nonce = os.urandom(_NONCE_SIZE)
    return nonce + AESGCM(_key(settings.SECRET_KEY)).encrypt(nonce, data_key, _associated_data(upload_id))


def opened_key_open(sealed: bytes, *, upload_id) -> bytes:
    sealed = bytes(sealed)
    nonce, body = sealed[:_NONCE_SIZE], sealed[_NONCE_SIZE:]
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        try:
            return AESGCM(_key(secret)).decrypt(nonce, body, _associated_data(upload_id))
        except InvalidTag:
            continue
    raise OpenedKeyLost
