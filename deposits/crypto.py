"""Encryption of deposited files, in the format written down in docs/deposit-format.md.

Everything streams: a bid of several gigabytes passes through with at most a couple of
segments in memory, so the plaintext never needs to reach disk. The segments follow the
STREAM construction (the nonce binds the segment index and a last-segment flag), which is
what makes reordering, dropping, truncating or extending an encrypted file detectable and
not only flipping its bits. tools/deposit_decrypt.py re-implements the reading side
without this module, from the document: keep the three in step.
"""

import base64
import hashlib
import json
import os
import re
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"SDMPENC1"
VERSION = 1
SEGMENT_SIZE = 65536
SEGMENT_SIZE_MIN = 1024
SEGMENT_SIZE_MAX = 16 * 1024 * 1024
HEADER_SIZE = 20
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 7
DATA_KEY_SIZE = 32
RSA_MIN_BITS = 3072
KEY_FILE_FORMAT = "sdmp-enc-1"

HEADER_STRUCT = struct.Struct(">8sI7sB")  # magic, segment size, nonce prefix, version
_LAST_INDEX = 2**32 - 1  # the index is 4 bytes of the nonce: it must never wrap around
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
_HEX64 = re.compile(r"[0-9a-f]{64}")


class DecryptionError(Exception):
    """The file cannot be read back; the message is French and shown to the user as is.

    ``segment`` is the index (from 0, as in the format) of the segment that failed, if any.
    """

    def __init__(self, message: str, *, segment: int | None = None):
        super().__init__(message)
        self.message = message
        self.segment = segment


class WrongKeyError(DecryptionError):
    def __init__(self, message: str = "Cette clé ne permet pas d'ouvrir ce fichier."):
        super().__init__(message)


def data_key_new() -> bytes:
    return os.urandom(DATA_KEY_SIZE)


def encrypted_size(plaintext_size: int, segment_size: int = SEGMENT_SIZE) -> int:
    """Size of the encrypted object, so that what storage holds can be checked without a key."""
    segments = max(1, -(-plaintext_size // segment_size))  # an empty file is still one segment
    return HEADER_SIZE + plaintext_size + segments * TAG_SIZE


def _check_segment_size(segment_size: int) -> None:
    if not SEGMENT_SIZE_MIN <= segment_size <= SEGMENT_SIZE_MAX:
        raise ValueError(f"segment_size must be between {SEGMENT_SIZE_MIN} and {SEGMENT_SIZE_MAX}")


def _check_data_key(data_key: bytes) -> None:
    if len(data_key) != DATA_KEY_SIZE:
        raise ValueError(f"a data key is {DATA_KEY_SIZE} bytes")


def segment_nonce(prefix: bytes, index: int, last: bool) -> bytes:
    """Segment ``index``'s 12-byte nonce: prefix, 32-bit counter, last flag (the STREAM construction)."""
    return prefix + struct.pack(">IB", index, 1 if last else 0)


class StreamEncryptor:
    """Encrypts one file pushed to it chunk by chunk, as an upload handler receives it.

    Write ``header`` first, then what each ``update()`` returns (bytes-like, possibly empty),
    then what ``finalize()`` returns. A full segment is held back until more data arrives,
    because only the end of the input tells whether it is the last one (its nonce says so).
    """

    def __init__(
        self, data_key: bytes, segment_size: int = SEGMENT_SIZE, *, nonce_prefix: bytes | None = None
    ):
        # nonce_prefix exists for the known-answer tests of the format; a fresh data key per
        # file already makes nonces unique, the random prefix is a second safety.
        _check_data_key(data_key)
        _check_segment_size(segment_size)
        prefix = os.urandom(NONCE_PREFIX_SIZE) if nonce_prefix is None else nonce_prefix
        if len(prefix) != NONCE_PREFIX_SIZE:
            raise ValueError(f"a nonce prefix is {NONCE_PREFIX_SIZE} bytes")
        self._aead = AESGCM(data_key)
        self._segment_size = segment_size
        self._prefix = prefix
        self._header = HEADER_STRUCT.pack(MAGIC, segment_size, prefix, VERSION)
        self._pending = bytearray()
        self._index = 0
        self._size = 0
        self._sha256 = hashlib.sha256()
        self._finished = False

    @property
    def header(self) -> bytes:
        return self._header

    @property
    def plaintext_size(self) -> int:
        return self._size

    @property
    def plaintext_sha256(self) -> str:
        if not self._finished:
            raise RuntimeError("the SHA-256 of the plaintext is known after finalize()")
        return self._sha256.hexdigest()

    def _seal(self, chunk, *, last: bool) -> bytes:
        if self._index == _LAST_INDEX and not last:
            raise ValueError("a file cannot have more than 2**32 segments")
        sealed = self._aead.encrypt(segment_nonce(self._prefix, self._index, last), chunk, self._header)
        self._index += 1
        return sealed

    def update(self, data: bytes) -> bytearray:
        """The sealed segments that ``data`` completes, in a new buffer the caller keeps.

        A bytearray filled in place rather than ``b"".join()`` of the segments: holding two
        copies of a multi-MiB chunk made glibc return and re-fault the memory on every call,
        which cost more than the encryption itself (bench/deposit_crypto.py).
        """
        if self._finished:
            raise RuntimeError("update() after finalize()")
        view = memoryview(data)
        self._size += len(view)
        self._sha256.update(view)
        size, sealed_size = self._segment_size, self._segment_size + TAG_SIZE
        take = min(size - len(self._pending), len(view))
        self._pending += view[:take]
        view = view[take:]
        if not view:
            return bytearray()
        # More data follows, so the held-back segment (now full) is not the last one; of the
        # rest, everything but the final 1 … size bytes is sealed now, straight from ``data``.
        out = bytearray(sealed_size * (1 + (len(view) - 1) // size))
        out[:sealed_size] = self._seal(self._pending, last=False)
        self._pending.clear()
        position = sealed_size
        while len(view) > size:
            out[position : position + sealed_size] = self._seal(view[:size], last=False)
            position += sealed_size
            view = view[size:]
        self._pending += view
        return out

    def finalize(self) -> bytes:
        if self._finished:
            raise RuntimeError("finalize() called twice")
        last = self._seal(self._pending, last=True)
        self._pending.clear()
        self._finished = True
        return last


def encrypt_stream(
    chunks: Iterable[bytes], data_key: bytes, segment_size: int = SEGMENT_SIZE
) -> Iterator[bytes]:
    encryptor = StreamEncryptor(data_key, segment_size)
    yield encryptor.header
    for chunk in chunks:
        sealed = encryptor.update(chunk)
        if sealed:
            yield sealed
    yield encryptor.finalize()


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    # Files, sockets and storage backends may all return less than asked before the end.
    data = read(size)
    if not data or len(data) == size:
        return data or b""
    parts = [data]
    missing = size - len(data)
    while missing:
        more = read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


def _parse_header(header: bytes) -> tuple[int, bytes]:
    if len(header) < HEADER_SIZE or not header.startswith(MAGIC):
        raise DecryptionError("Ce fichier n'est pas un fichier chiffré de la plateforme.")
    _magic, segment_size, prefix, version = HEADER_STRUCT.unpack(header)
    if version != VERSION:
        raise DecryptionError(f"Ce fichier chiffré utilise une version de format inconnue ({version}).")
    if not SEGMENT_SIZE_MIN <= segment_size <= SEGMENT_SIZE_MAX:
        raise DecryptionError("L'en-tête du fichier chiffré est altéré.")
    return segment_size, prefix


def decrypt_stream(source: Callable[[int], bytes] | BinaryIO, data_key: bytes) -> Iterator[bytes]:
    """Yields the plaintext segment by segment, each one only once its tag is verified.

    A failure raises DecryptionError after the earlier, verified segments were yielded: a
    caller writes to a temporary place and keeps the result only if iteration completes.
    """
    _check_data_key(data_key)
    read = source.read if hasattr(source, "read") else source
    header = _read_exactly(read, HEADER_SIZE)
    segment_size, prefix = _parse_header(header)
    aead = AESGCM(data_key)
    sealed_size = segment_size + TAG_SIZE
    current = _read_exactly(read, sealed_size)
    index = 0
    while True:
        # A segment is the last one when nothing follows it: read one ahead to know.
        following = _read_exactly(read, sealed_size) if len(current) == sealed_size else b""
        last = not following
        if index > _LAST_INDEX:
            raise DecryptionError("Le fichier chiffré compte trop de segments.", segment=index)
        try:
            plaintext = aead.decrypt(segment_nonce(prefix, index, last), current, header)
        except InvalidTag:
            raise DecryptionError(
                f"Le fichier chiffré est altéré ou tronqué (segment {index}).", segment=index
            ) from None
        if plaintext:
            yield plaintext
        if last:
            return
        current = following
        index += 1


def _public_key(key):
    # A certificate or a private key names the same opening key as its public key.
    if isinstance(key, x509.Certificate) or hasattr(key, "private_bytes"):
        return key.public_key()
    return key


def key_fingerprint(public_key) -> str:
    der = _public_key(public_key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def wrap_key(data_key: bytes, public_key) -> bytes:
    _check_data_key(data_key)
    public_key = _public_key(public_key)
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("Une clé d'ouverture doit être une clé RSA.")
    if public_key.key_size < RSA_MIN_BITS:
        raise ValueError(
            f"Une clé d'ouverture RSA doit compter au moins {RSA_MIN_BITS} bits "
            f"(celle-ci en compte {public_key.key_size})."
        )
    return public_key.encrypt(data_key, _OAEP)


def unwrap_key(wrapped: bytes, private_key) -> bytes:
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise WrongKeyError()
    try:
        data_key = private_key.decrypt(wrapped, _OAEP)
    except ValueError:
        raise WrongKeyError() from None
    if len(data_key) != DATA_KEY_SIZE:
        raise WrongKeyError()
    return data_key


def key_file_document(
    *, name: str, size: int, sha256: str | None, recipients: list[tuple[str, bytes]]
) -> bytes:
    """The key file that travels beside an encrypted file for the stand-alone tool."""
    if sha256 is not None and not _HEX64.fullmatch(sha256):
        raise ValueError("sha256 is 64 lowercase hexadecimal digits, or None")
    if not recipients or any(not _HEX64.fullmatch(fingerprint) for fingerprint, _ in recipients):
        raise ValueError("recipients are (fingerprint, wrapped key) pairs, at least one")
    document = {
        "format": KEY_FILE_FORMAT,
        "name": name,
        "size": size,
        "sha256": sha256,
        "recipients": [
            {"fingerprint": fingerprint, "wrapped_key": base64.b64encode(wrapped).decode("ascii")}
            for fingerprint, wrapped in recipients
        ],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
