"""Encryption at ingestion: bodies sealed into whole segments exactly as the format says,
however the file is cut into requests; interrupted bodies; the data key kept for the
upload under the platform's secret only; the read-back of a completed file, which checks
every segment and feeds clamd when it is configured."""

import hashlib
import io
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.files.storage import default_storage
from django.http import UnreadablePostError
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from deposits import crypto, ingest
from deposits.models import ScanResult
from deposits.services.deposits import deposit_finalize
from deposits.services.sealing import SealRefused, files_read_back
from deposits.services.uploads import deposit_file_create, deposit_file_receive
from tests.deposits.test_tus import (
    MARKER,
    SEGMENT,
    decrypted,
    offer_envelope,
    stored_objects,
    text_bytes,
    upload,
)
from tests.messaging.conftest import CLAMD_STREAM_MAX, EICAR, EICAR_FOUND, clamd_url  # noqa: F401

SMALL_SEGMENT = 1024
KEY = bytes(range(32))
PREFIX = bytes.fromhex("a0a1a2a3a4a5a6")


def reference(plaintext: bytes, segment_size: int = SMALL_SEGMENT) -> bytes:
    """The file as deposits/crypto.py writes it in one go, with the same key and prefix."""
    encryptor = crypto.StreamEncryptor(KEY, segment_size, nonce_prefix=PREFIX)
    return encryptor.header + bytes(encryptor.update(plaintext)) + encryptor.finalize()


def reader(data: bytes, *, most: int | None = None, stop_after: int | None = None, fail: bool = False):
    """``read(n)`` over ``data``: at most ``most`` bytes a call; the body ends (or the read
    fails, as when the client went away) after ``stop_after`` bytes."""
    position = 0

    def read(size: int) -> bytes:
        nonlocal position
        limit = len(data) if stop_after is None else stop_after
        if position >= limit:
            if fail:
                raise UnreadablePostError("connexion interrompue")
            return b""
        size = min(size, most or size, limit - position)
        chunk = data[position : position + size]
        position += len(chunk)
        return chunk

    return read


def receive(plaintext: bytes, offset: int, end: int, *, name: str, **options) -> ingest.Received:
    body = plaintext[offset:end]
    return ingest.receive(
        options.pop("read", None) or reader(body, most=options.pop("most", None)),
        content_length=len(body),
        data_key=KEY,
        nonce_prefix=PREFIX,
        segment_size=SMALL_SEGMENT,
        offset=offset,
        size=len(plaintext),
        object_name=name,
        **options,
    )


def stored(name: str | None) -> bytes:
    if name is None:
        return b""
    with default_storage.open(name, "rb") as handle:
        return handle.read()


# --- The data key while the file arrives ------------------------------------------------


def test_the_upload_key_opens_only_for_its_upload_and_its_secret(settings):
    sealed = ingest.upload_key_seal(KEY, upload_id="11111111-1111-1111-1111-111111111111")
    assert KEY not in sealed
    assert ingest.upload_key_open(sealed, upload_id="11111111-1111-1111-1111-111111111111") == KEY
    with pytest.raises(ingest.UploadKeyLost):
        ingest.upload_key_open(sealed, upload_id="22222222-2222-2222-2222-222222222222")
    # A new SECRET_KEY loses it, unless the old one is kept as a fallback.
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "une-autre-clé-secrète-" + "x" * 40
    with pytest.raises(ingest.UploadKeyLost):
        ingest.upload_key_open(sealed, upload_id="11111111-1111-1111-1111-111111111111")
    settings.SECRET_KEY_FALLBACKS = [old]
    assert ingest.upload_key_open(sealed, upload_id="11111111-1111-1111-1111-111111111111") == KEY


# --- Sealing across requests -------------------------------------------------------------


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.integers(min_value=1, max_value=6 * SMALL_SEGMENT + 3),
    data=st.data(),
)
def test_parts_sent_in_any_requests_make_exactly_the_file_the_format_describes(size, data):
    # GIVEN a file cut into requests on segment boundaries, each body read in short pieces
    plaintext = os.urandom(size)
    segments = ingest.segment_count(size, SMALL_SEGMENT)
    cuts = sorted(data.draw(st.sets(st.integers(1, segments - 1), max_size=4)) if segments > 1 else set())
    bounds = [0, *(cut * SMALL_SEGMENT for cut in cuts), size]
    most = data.draw(st.integers(min_value=1, max_value=3000))
    token = os.urandom(6).hex()
    # WHEN each request is received
    parts = []
    for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        received = receive(plaintext, start, end, name=f"essais/{token}/{number:06d}", most=most)
        assert received.kept == end - start and received.body_complete
        parts.append(stored(received.object_name))
    # THEN header + parts is byte for byte what the one-go encryptor writes
    assert ingest.header_of(PREFIX, SMALL_SEGMENT) + b"".join(parts) == reference(plaintext)


def test_the_last_segment_is_sealed_as_the_last_one():
    plaintext = os.urandom(2 * SMALL_SEGMENT + 10)
    received = receive(plaintext, 0, len(plaintext), name="essais/dernier")
    header = ingest.header_of(PREFIX, SMALL_SEGMENT)
    last = stored(received.object_name)[2 * (SMALL_SEGMENT + crypto.TAG_SIZE) :]
    aead = AESGCM(KEY)
    assert aead.decrypt(PREFIX + (2).to_bytes(4, "big") + b"\x01", last, header) == plaintext[-10:]
    with pytest.raises(InvalidTag):
        aead.decrypt(PREFIX + (2).to_bytes(4, "big") + b"\x00", last, header)


@pytest.mark.parametrize("fail", [False, True], ids=["body-ends", "read-fails"])
def test_an_interrupted_body_keeps_the_whole_segments_it_brought(fail):
    # GIVEN a body announced as 5 segments, of which 2.5 arrive before the client goes away
    plaintext = os.urandom(5 * SMALL_SEGMENT)
    read = reader(plaintext, most=700, stop_after=2 * SMALL_SEGMENT + 512, fail=fail)
    received = receive(plaintext, 0, len(plaintext), name="essais/coupe", read=read)
    # THEN two segments are stored, the half segment is dropped
    assert not received.body_complete
    assert received.received == 2 * SMALL_SEGMENT + 512
    assert received.kept == 2 * SMALL_SEGMENT
    assert (
        stored(received.object_name) == reference(plaintext)[crypto.HEADER_SIZE :][: 2 * (SMALL_SEGMENT + 16)]
    )


def test_a_body_too_short_for_one_segment_stores_nothing():
    plaintext = os.urandom(3 * SMALL_SEGMENT)
    read = reader(plaintext, stop_after=500)
    received = receive(plaintext, 0, len(plaintext), name="essais/rien", read=read)
    assert received.kept == 0 and received.object_name is None
    assert not default_storage.exists("essais/rien")


def test_the_content_check_sees_the_first_bytes_before_anything_is_sealed():
    seen = []

    def refuse(head: bytes) -> None:
        seen.append(head)
        raise ingest.ContentRefused("non")

    plaintext = b"MZ" + os.urandom(20_000)
    with pytest.raises(ingest.ContentRefused):
        receive(plaintext, 0, len(plaintext), name="essais/refus", content_check=refuse, most=100)
    assert seen == [plaintext[:8192]]
    assert not default_storage.exists("essais/refus")


def test_a_checksum_is_judged_over_the_whole_body():
    plaintext = os.urandom(3 * SMALL_SEGMENT + 100)
    body = plaintext[: 2 * SMALL_SEGMENT + 50]
    good = receive(
        plaintext,
        0,
        len(body),
        name="essais/somme-ok",
        checksum=(hashlib.sha256, hashlib.sha256(body).digest()),
    )
    assert good.checksum_matches is True and good.kept == 2 * SMALL_SEGMENT
    bad = receive(plaintext, 0, len(body), name="essais/somme-ko", checksum=(hashlib.sha1, b"\x00" * 20))
    assert bad.checksum_matches is False


# --- Completion: the read-back -----------------------------------------------------------


def test_a_file_sent_in_several_requests_is_read_back_by_the_sealing_not_by_its_last_request(
    deposit, company_user, settings
):
    settings.CLAMD_URL = ""
    content = text_bytes(2 * SEGMENT + 10)
    deposit_file = send_in_two(deposit, company_user.user, "note.txt", content, read_back=False)
    # The last request completes the file without reading it all back: the data key waits, sealed.
    assert deposit_file.is_complete and deposit_file.sha256 == "" and deposit_file.upload_key
    files_read_back(deposit)
    deposit_file.refresh_from_db()
    assert deposit_file.sha256 == hashlib.sha256(content).hexdigest()
    assert deposit_file.upload_key is None


def test_a_part_altered_in_storage_is_caught_when_the_file_is_read_back(deposit, company_user):
    # GIVEN a file sent in two requests, then one of its stored parts altered
    content = text_bytes(3 * SEGMENT)
    deposit_file = send_in_two(deposit, company_user.user, "note.txt", content, read_back=False)
    path = stored_objects()[0]
    altered = bytearray(path.read_bytes())
    altered[1000] ^= 1
    path.write_bytes(bytes(altered))
    # WHEN the sealing reads it back
    with pytest.raises(SealRefused) as refused:
        files_read_back(deposit)
    # THEN it is called altered, and no hash is recorded for it
    assert "altéré" in refused.value.message
    deposit_file.refresh_from_db()
    assert deposit_file.sha256 == "" and deposit_file.upload_key


def send_in_two(deposit, user, name: str, content: bytes, *, read_back: bool = True):
    """Two requests, then (unless told not to) the read-back from storage that the sealing does."""
    deposit_file = deposit_file_create(
        deposit=deposit, envelope=offer_envelope(deposit), user=user, name=name, size=len(content)
    )
    deposit_file = deposit_file_receive(
        deposit_file=deposit_file, user=user, offset=0, read=io.BytesIO(content).read, content_length=SEGMENT
    )
    deposit_file = deposit_file_receive(
        deposit_file=deposit_file,
        user=user,
        offset=SEGMENT,
        read=io.BytesIO(content[SEGMENT:]).read,
        content_length=len(content) - SEGMENT,
    )
    if read_back:
        files_read_back(deposit)
        deposit_file.refresh_from_db()
    return deposit_file


def test_without_clamd_a_file_is_recorded_as_not_scanned(deposit, company_user, settings):
    settings.CLAMD_URL = ""
    content = text_bytes(SEGMENT + 10)
    deposit_file = send_in_two(deposit, company_user.user, "note.txt", content)
    assert deposit_file.scan == ScanResult.NOT_SCANNED
    assert deposit_file.sha256 == hashlib.sha256(content).hexdigest()


def test_clamd_finds_a_virus_the_file_is_kept_marked_and_the_deposit_still_finalised(
    deposit,
    company_user,
    settings,
    clamd_url,  # noqa: F811
):
    # GIVEN clamd knows the EICAR test file, hidden in the middle of a text file sent in two requests
    settings.CLAMD_URL = clamd_url
    content = b"Notes\n" * 15_000 + EICAR + b"\nfin\n" * 10
    deposit_file = send_in_two(deposit, company_user.user, "notes.txt", content)
    # THEN the detection is recorded on the complete file, which is not refused
    assert deposit_file.is_complete
    assert (deposit_file.scan, deposit_file.scan_detail) == (ScanResult.INFECTED, EICAR_FOUND)
    assert deposit_file.sha256 == hashlib.sha256(content).hexdigest()
    clean = upload(deposit, company_user.user, "propre.txt", text_bytes(5000))
    files_read_back(deposit)
    clean.refresh_from_db()
    assert clean.scan == ScanResult.CLEAN
    # AND the deposit may be finalised: the detection is shown at the opening
    assert deposit_finalize(deposit=deposit, user=company_user.user).received_at is not None


def test_a_file_clamd_cannot_judge_is_marked_so_and_its_hash_is_still_whole(
    deposit,
    company_user,
    settings,
    clamd_url,  # noqa: F811
):
    # GIVEN a file larger than clamd accepts in one stream
    settings.CLAMD_URL = clamd_url
    content = text_bytes(CLAMD_STREAM_MAX + 3 * SEGMENT)
    deposit_file = upload(deposit, company_user.user, "gros.txt", content)
    files_read_back(deposit)
    deposit_file.refresh_from_db()
    # THEN once read back it is complete, marked « analysis impossible », and hashed over all its bytes
    assert deposit_file.is_complete
    assert deposit_file.scan == ScanResult.FAILED and deposit_file.scan_detail
    assert deposit_file.sha256 == hashlib.sha256(content).hexdigest()
    assert decrypted(deposit_file) == content


def test_a_clamd_that_does_not_answer_does_not_stop_a_deposit(deposit, company_user, settings, tmp_path):
    settings.CLAMD_URL = f"unix://{tmp_path}/absent.sock"
    content = text_bytes(2 * SEGMENT)
    deposit_file = send_in_two(deposit, company_user.user, "note.txt", content)
    assert deposit_file.is_complete and deposit_file.scan == ScanResult.FAILED
    assert MARKER in content and decrypted(deposit_file) == content
