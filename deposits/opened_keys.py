"""The platform's opened-data key: how an opened file stays readable by the buying team.

At the opening the agent's private key unwraps each file's data key in memory; the key is
then sealed again, here, with ``config.secret_box`` under this module's own purpose
(distinct from the upload key of ``deposits/ingest.py``), bound to the file's upload id: a
sealed key copied onto another file does not open there. The buying team downloads the
opened documents later without the PKCS#12; a file that was not opened, or was found
altered, never gets one.

``SECRET_KEY`` rotation: the old secret must stay in ``SECRET_KEY_FALLBACKS`` for the opened
files to stay readable (re-sealing them under the new secret is a management task to come).
"""

from config import secret_box

_PURPOSE = b"salle-des-marches/deposits/opened-data-key/v1"


class OpenedKeyLost(Exception):
    """The opened file's data key cannot be recovered (the platform's secret changed)."""


def opened_key_seal(data_key: bytes, *, upload_id) -> bytes:
    """``nonce (12) || AES-256-GCM(data key)``, under the platform's opened-data key."""
    return secret_box.seal(data_key, purpose=_PURPOSE, bound_to=upload_id)


def opened_key_open(sealed: bytes, *, upload_id) -> bytes:
    try:
        return secret_box.open_sealed(sealed, purpose=_PURPOSE, bound_to=upload_id)
    except secret_box.SecretChanged:
        raise OpenedKeyLost from None
