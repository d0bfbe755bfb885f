"""Encryption of tus PATCH bodies on their way to storage, and the read-back of a completed file.

The request body is read in chunks (``request.read``), never through Django's upload
handlers: the plaintext exists in memory one chunk and one segment at a time and never
reaches disk or object storage. Segments are sealed exactly as docs/deposit-format.md
says, with the helpers of ``deposits/crypto.py``; what differs from ``StreamEncryptor``
is that a file arrives over several requests, possibly on several web nodes, so:

- The file's size is known from the start (Upload-Length), hence the index of its last
  segment: a segment is sealed as soon as its bytes are there, with the last flag when
  it is the last one. No segment is held back for a look-ahead.
- A request stores only whole segments. The bytes of a segment still incomplete when the
  body ends (an interrupted PATCH, or a chunk that does not end on a segment boundary)
  are dropped: they cannot be kept without keeping plaintext, and the client sends them
  again from the offset the server answers (tus lets the server accept less than the body).
- While a file arrives, and until the sealing reads it back, its data key is kept in the
  database sealed under the platform's upload key (``config.secret_box``: AES-256-GCM with a
  key derived from ``SECRET_KEY`` for this one purpose, bound to the upload's id). Then it is
  erased; from then on only the RSA-wrapped copies exist. A file still arriving when
  ``SECRET_KEY`` changes resumes if the old key is in ``SECRET_KEY_FALLBACKS``; otherwise
  its upload has to start again.
- The SHA-256 of the plaintext is not computed while the file arrives (hashlib's running
  state cannot be kept between requests). Once the deposit is finalised, the sealing reads
  every file back from storage (``verify_stored``): each segment decrypted and
  authenticated, the whole hashed, and fed to clamd when it is configured (clamd's INSTREAM
  is one connection, which cannot span requests served by different nodes). Then the data
  key is erased.
"""

import hashlib
import hmac
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.files.storage import default_storage
from django.http import UnreadablePostError

from config import antivirus, secret_box
from config.filetypes import SNIFF_BYTES
from deposits import crypto
from deposits.models import ScanResult

# Bytes asked of the request at a time: several segments, so that sealing works on large
# slices; small enough to stay far below any memory concern.
READ_SIZE = 1024 * 1024
_UPLOAD_KEY_PURPOSE = b"salle-des-marches/deposits/upload-data-key/v1"


class UploadKeyLost(Exception):
    """The data key of an upload in progress cannot be recovered (the platform's secret changed)."""


class ContentRefused(Exception):
    """The first bytes of the file are not those its name announces; ``message`` says why, in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- The data key while the file arrives ------------------------------------------------


def upload_key_seal(data_key: bytes, *, upload_id) -> bytes:
    """``nonce (12) || AES-256-GCM(data key)``, under the platform's upload key."""
    return secret_box.seal(data_key, purpose=_UPLOAD_KEY_PURPOSE, bound_to=upload_id)


def upload_key_open(sealed: bytes, *, upload_id) -> bytes:
    try:
        return secret_box.open_sealed(sealed, purpose=_UPLOAD_KEY_PURPOSE, bound_to=upload_id)
    except secret_box.SecretChanged:
        raise UploadKeyLost from None


# --- The format's pieces -----------------------------------------------------------------


def header_of(nonce_prefix: bytes, segment_size: int) -> bytes:
    """The 20-byte header of the file's encrypted object (docs/deposit-format.md)."""
    return crypto.HEADER_STRUCT.pack(crypto.MAGIC, segment_size, nonce_prefix, crypto.VERSION)


def segment_count(size: int, segment_size: int) -> int:
    return max(1, -(-size // segment_size))


class _Sealer:
    """Seals the segments of one file from a given segment on, as their bytes arrive."""

    def __init__(self, data_key: bytes, nonce_prefix: bytes, segment_size: int, *, offset: int, size: int):
        if offset % segment_size:
            raise ValueError("an upload resumes on a segment boundary")
        self._aead = AESGCM(data_key)
        self._prefix = nonce_prefix
        self._header = header_of(nonce_prefix, segment_size)
        self._segment_size = segment_size
        self._size = size
        self._last_index = segment_count(size, segment_size) - 1
        self.index = offset // segment_size
        self._pending = bytearray()
        self.sealed_plaintext = 0
        self.sealed_bytes = 0

    def _expected(self) -> int:
        if self.index == self._last_index:
            return self._size - self.index * self._segment_size
        return self._segment_size

    def _seal(self, chunk) -> bytes:
        last = self.index == self._last_index
        sealed = self._aead.encrypt(crypto.segment_nonce(self._prefix, self.index, last), chunk, self._header)
        self.index += 1
        self.sealed_plaintext += len(chunk)
        self.sealed_bytes += len(sealed)
        return sealed

    def feed(self, data) -> Iterator[bytes]:
        view = memoryview(data)
        while view:
            if self.index > self._last_index:
                raise ValueError("more bytes than the file's size")
            expected = self._expected()
            if not self._pending and len(view) >= expected:
                # A whole segment in the chunk: sealed straight from it, no copy.
                chunk, view = view[:expected], view[expected:]
                yield self._seal(chunk)
                continue
            take = min(expected - len(self._pending), len(view))
            self._pending += view[:take]
            view = view[take:]
            if len(self._pending) == expected:
                sealed = self._seal(self._pending)
                self._pending = bytearray()
                yield sealed

    @property
    def dropped(self) -> int:
        """Bytes of an incomplete segment at the end of the body, not kept."""
        return len(self._pending)


# --- Reading the body --------------------------------------------------------------------


def body_chunks(read: Callable[[int], bytes], length: int) -> Iterator[bytes]:
    """The request body, ``READ_SIZE`` at a time; stops early when the client went away."""
    remaining = length
    while remaining > 0:
        try:
            chunk = read(min(READ_SIZE, remaining))
        except UnreadablePostError:
            return
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk


class _IteratorReader(io.RawIOBase):
    """A read-only binary stream over an iterator of bytes: storage backends and clamd read it."""

    def __init__(self, pieces: Iterable[bytes]):
        super().__init__()
        self._pieces = iter(pieces)
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._current:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._current = memoryview(piece)
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count

    def chunks(self, chunk_size=None) -> Iterator[bytes]:
        # FileSystemStorage writes what chunks() yields: the sealed segments as they come
        # (bytes, which it needs to open its file in binary mode).
        if self._current:
            yield bytes(self._current)
            self._current = memoryview(b"")
        yield from self._pieces

    def drain(self) -> None:
        for _piece in self._pieces:
            pass
        self._current = memoryview(b"")

    def exhausted(self) -> bool:
        if self._current:
            return False
        piece = next(self._pieces, None)
        if piece is None:
            return True
        self._current = memoryview(piece)
        return False


@dataclass(frozen=True)
class Received:
    """What one PATCH brought: ``kept`` plaintext bytes stored as ``object_name`` (None if none)."""

    kept: int
    received: int
    body_complete: bool
    object_name: str | None
    stored_size: int
    # Whether the Upload-Checksum matched the body; None when none was given.
    checksum_matches: bool | None


def receive(
    read: Callable[[int], bytes],
    *,
    content_length: int,
    data_key: bytes,
    nonce_prefix: bytes,
    segment_size: int,
    offset: int,
    size: int,
    object_name: str,
    content_check: Callable[[bytes], None] | None = None,
    checksum: tuple[Callable, bytes] | None = None,
) -> Received:
    """Encrypt the body of one PATCH into one stored object, whole segments only.

    ``content_check(first bytes)`` runs before anything is encrypted or stored, when the
    body starts the file; it raises ``ContentRefused``. ``checksum`` is (hash constructor,
    expected digest) from Upload-Checksum, computed over the whole body; on a mismatch the
    caller deletes the stored object.
    """
    body_digest = checksum[0]() if checksum else None
    received = 0

    def hashed(chunks: Iterable[bytes]) -> Iterator[bytes]:
        nonlocal received
        for chunk in chunks:
            received += len(chunk)
            if body_digest is not None:
                body_digest.update(chunk)
            yield chunk

    chunks = hashed(body_chunks(read, content_length))
    if offset == 0 and content_check is not None:
        # The format is judged on the file's first bytes, before a single one is encrypted.
        wanted = min(SNIFF_BYTES, size)
        head: list[bytes] = []
        have = 0
        for chunk in chunks:
            head.append(chunk)
            have += len(chunk)
            if have >= wanted:
                break
        if have >= wanted:
            content_check(b"".join(head)[:SNIFF_BYTES])
        else:
            # The body ended first: too short to keep a segment anyway, so nothing is judged yet.
            head = []
            for _chunk in chunks:
                pass
        chunks = itertools.chain(head, chunks)

    sealer = _Sealer(data_key, nonce_prefix, segment_size, offset=offset, size=size)
    sealed = (piece for chunk in chunks for piece in sealer.feed(chunk))
    first = next(sealed, None)
    stored_name = None
    if first is not None:
        stream = _IteratorReader(itertools.chain([first], sealed))
        try:
            stored_name = default_storage.save(object_name, stream)
            if not stream.exhausted():
                # Never happens with the storages the platform uses; if it did, the part
                # would lack segments that were sealed: refuse it rather than drop them.
                raise RuntimeError("the storage backend stopped reading the encrypted part")
        except BaseException:
            default_storage.delete(stored_name or object_name)
            raise
    body_complete = received == content_length
    matches = None
    if checksum is not None:
        matches = body_complete and hmac.compare_digest(body_digest.digest(), checksum[1])
    return Received(
        kept=sealer.sealed_plaintext,
        received=received,
        body_complete=body_complete,
        object_name=stored_name,
        stored_size=sealer.sealed_bytes,
        checksum_matches=matches,
    )


# --- Reading a stored file back ----------------------------------------------------------


class _StoredObjects:
    """``read(n)`` over header || the stored parts, opened one after the other."""

    def __init__(self, header: bytes, object_names: list[str]):
        self._header = io.BytesIO(header)
        self._names = list(object_names)
        self._current = None

    def read(self, size: int) -> bytes:
        data = self._header.read(size)
        if data:
            return data
        while True:
            if self._current is None:
                if not self._names:
                    return b""
                self._current = default_storage.open(self._names.pop(0), "rb")
            data = self._current.read(size)
            if data:
                return data
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None


def stored_plaintext(header: bytes, object_names: list[str], data_key: bytes) -> Iterator[bytes]:
    """The file decrypted from storage, each segment verified before it is given."""
    objects = _StoredObjects(header, object_names)
    try:
        yield from crypto.decrypt_stream(objects.read, data_key)
    finally:
        objects.close()


@dataclass(frozen=True)
class Verified:
    size: int
    sha256: str
    scan: str
    scan_detail: str


def verify_stored(header: bytes, object_names: list[str], data_key: bytes) -> Verified:
    """Decrypt the stored file once: every segment checked, its SHA-256, and clamd's verdict.

    Raises ``crypto.DecryptionError`` if what storage gives back does not decrypt.
    """
    digest = hashlib.sha256()
    size = 0

    def plaintext() -> Iterator[bytes]:
        nonlocal size
        for piece in stored_plaintext(header, object_names, data_key):
            digest.update(piece)
            size += len(piece)
            yield piece

    stream = _IteratorReader(plaintext())
    scan, detail = ScanResult.NOT_SCANNED, ""
    if antivirus.antivirus_enabled():
        try:
            virus = antivirus.scan(stream)
        except antivirus.AntivirusUnavailable as error:
            # The bid is not refused for the platform's antivirus failing: the file says so.
            scan, detail = ScanResult.FAILED, str(error)[:255]
        else:
            scan, detail = (ScanResult.INFECTED, virus[:255]) if virus else (ScanResult.CLEAN, "")
    # What clamd did not read (none, or all when it is off) still counts for the hash.
    stream.drain()
    return Verified(size=size, sha256=digest.hexdigest(), scan=scan, scan_detail=detail)
