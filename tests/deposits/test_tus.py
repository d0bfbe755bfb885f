"""The tus 1.0 endpoints, through real HTTP requests: creation, offsets, whole segments
only, termination, checksums, who may call, and one resumable upload with tuspy against a
live server. What is stored is checked by decrypting it with the opening key's private key.

The helpers at the top serve test_finalize.py and test_ingest.py as well."""

import base64
import hashlib
import io
import random
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.db import connection, connections
from django.test import Client
from django.utils.crypto import get_random_string

from consultations.models import EnvelopeKind, State
from deposits import crypto, ingest
from deposits.models import DepositFile, FilePart, KeyOrigin, OpeningKey, WrappedKey
from deposits.selectors import part_names
from deposits.services.deposits import deposit_finalize, deposit_start
from deposits.services.errors import DepositError
from deposits.services.uploads import deposit_file_create, deposit_file_receive
from tests.deposits import rsa_key, self_signed
from tests.factories import T0, CompanyUserFactory, LotFactory, consultation_online, opening_key_material

SEGMENT = crypto.SEGMENT_SIZE
ENDPOINT = "/depots/tus/"
TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_TYPE = "application/offset+octet-stream"
MARKER = b"MARQUEUR-DU-CONTENU-EN-CLAIR-2026"


# --- Helpers -----------------------------------------------------------------------------


def pdf_bytes(size: int, seed: int = 1) -> bytes:
    """A « PDF » of ``size`` bytes: the header, then random bytes with the marker every 50,000."""
    data = bytearray(b"%PDF-1.7\n" + random.Random(seed).randbytes(max(0, size - 9)))[:size]
    for position in range(20, max(21, size - len(MARKER)), 50_000):
        data[position : position + len(MARKER)] = MARKER
    return bytes(data[:size])


def text_bytes(size: int) -> bytes:
    """A text file: printable bytes, the marker inside when it fits."""
    line = (MARKER + b" ligne de texte\n") * (size // len(MARKER) + 1)
    return line[:size]


def metadata(**values) -> str:
    return ",".join(
        f"{key} {base64.b64encode(str(value).encode()).decode()}" for key, value in values.items()
    )


def offer_envelope(deposit):
    return deposit.envelopes.get(kind=EnvelopeKind.OFFER, lot__isnull=True)


def create(client, deposit, name, size, *, envelope=None, headers=None, **extra):
    envelope = envelope or offer_envelope(deposit)
    values = {"filename": name, "deposit": deposit.pk, "envelope": envelope.pk, **extra}
    return client.post(
        ENDPOINT,
        headers={**TUS, "Upload-Length": str(size), "Upload-Metadata": metadata(**values), **(headers or {})},
    )


def patch(client, url, offset, body, **headers):
    return client.patch(
        url, data=body, content_type=OFFSET_TYPE, headers={**TUS, "Upload-Offset": str(offset), **headers}
    )


def upload_http(client, deposit, name, content, *, chunk=None, envelope=None) -> DepositFile:
    """Create and send a whole file, continuing from the offset each answer gives."""
    response = create(client, deposit, name, len(content), envelope=envelope)
    assert response.status_code == 201, response.content.decode()
    url = response["Location"]
    offset = 0
    while offset < len(content):
        body = content[offset : offset + chunk] if chunk else content[offset:]
        answer = patch(client, url, offset, body)
        assert answer.status_code == 204, answer.content.decode()
        offset = int(answer["Upload-Offset"])
    return DepositFile.objects.get(upload_id=url.rstrip("/").rsplit("/", 1)[1])


def upload(deposit, user, name, content, *, envelope=None) -> DepositFile:
    """The same through the services, in one body: for tests about what comes after."""
    deposit_file = deposit_file_create(
        deposit=deposit, envelope=envelope or offer_envelope(deposit), user=user, name=name, size=len(content)
    )
    return deposit_file_receive(
        deposit_file=deposit_file,
        user=user,
        offset=0,
        read=io.BytesIO(content).read,
        content_length=len(content),
    )


def encrypted_bytes(deposit_file: DepositFile) -> bytes:
    """The file's encrypted object as the format describes it: header, then the stored parts in order."""
    parts = []
    for name in part_names(deposit_file):
        with default_storage.open(name, "rb") as stored:
            parts.append(stored.read())
    return deposit_file.encrypted_header() + b"".join(parts)


def decrypted(deposit_file: DepositFile, private_key=None) -> bytes:
    """What the holder of the private key reads: unwrap its copy of the data key, decrypt, verify."""
    private_key = private_key or opening_key_material()[0]
    wrapped = deposit_file.wrapped_keys.get(opening_key__fingerprint=crypto.key_fingerprint(private_key))
    data_key = crypto.unwrap_key(bytes(wrapped.wrapped), private_key)
    return b"".join(crypto.decrypt_stream(io.BytesIO(encrypted_bytes(deposit_file)), data_key))


def read_back(deposit_file: DepositFile) -> DepositFile:
    """The read-back of a file sent in several requests, as the sealing does it."""
    from deposits.services.sealing import files_read_back

    files_read_back(deposit_file.envelope.deposit)
    deposit_file.refresh_from_db()
    return deposit_file


def stored_objects() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT) / "deposits"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def backup_key_make(organisation, created_by) -> OpeningKey:
    private = rsa_key("secours")
    certificate = self_signed(private)
    from cryptography.hazmat.primitives import serialization

    return OpeningKey.objects.create(
        organisation=organisation,
        is_backup=True,
        label="Clé de secours",
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        fingerprint=crypto.key_fingerprint(certificate),
        key_size=3072,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        origin=KeyOrigin.IMPORTED,
        created_at=T0,
        created_by=created_by,
    )


# --- Fixtures ----------------------------------------------------------------------------


@pytest.fixture
def company_client(company_user):
    client = Client()
    client.force_login(company_user.user)
    return client


@pytest.fixture
def upload_url(company_client, deposit):
    """A 300,000-byte PDF declared, nothing sent yet."""
    response = create(company_client, deposit, "offre.pdf", 300_000)
    assert response.status_code == 201
    return response["Location"]


def upload_row(url) -> DepositFile:
    return DepositFile.objects.get(upload_id=url.rstrip("/").rsplit("/", 1)[1])


# --- Discovery and creation --------------------------------------------------------------


def test_options_says_what_the_server_supports_without_a_login(client, settings):
    settings.DEPOSIT_MAX_FILE_BYTES = 2048 * 1024 * 1024
    response = client.options(ENDPOINT)
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Resumable"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {"creation", "termination", "checksum", "expiration"}
    assert response["Tus-Max-Size"] == str(2048 * 1024 * 1024)
    assert set(response["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "sha256"}


def test_creation_answers_201_with_the_upload_url_and_head_gives_offset_and_length(
    company_client, deposit, company_user
):
    # GIVEN a company user's draft deposit
    # WHEN it declares a 300,000-byte PDF for the offer envelope
    response = create(company_client, deposit, "Mémoire technique.pdf", 300_000, document="Mémoire")
    # THEN the upload exists, with nothing received, its data key wrapped for the consultation's key
    assert response.status_code == 201
    url = response["Location"]
    assert url.startswith("/depots/tus/") and url.endswith("/")
    row = upload_row(url)
    assert (row.name, row.size, row.offset, row.document_label) == (
        "Mémoire technique.pdf",
        300_000,
        0,
        "Mémoire",
    )
    assert row.created_by == company_user.user and row.envelope == offer_envelope(deposit)
    assert row.wrapped_keys.count() == 1
    head = company_client.head(url, headers=TUS)
    assert head.status_code == 200
    assert (head["Upload-Offset"], head["Upload-Length"]) == ("0", "300000")
    assert head["Cache-Control"] == "no-store"
    assert head["Tus-Resumable"] == "1.0.0"
    assert (
        "filename " + base64.b64encode("Mémoire technique.pdf".encode()).decode() in head["Upload-Metadata"]
    )


def test_the_envelope_may_be_named_by_kind_and_lot_number(company_client, buyer, company_user, clock):
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    LotFactory(consultation=consultation, number=1)
    LotFactory(consultation=consultation, number=2)
    deposit = deposit_start(consultation=consultation, user=company_user.user)
    values = {"filename": "offre-lot2.pdf", "deposit": deposit.pk, "kind": "offer", "lot": 2}
    response = company_client.post(
        ENDPOINT, headers={**TUS, "Upload-Length": "1000", "Upload-Metadata": metadata(**values)}
    )
    assert response.status_code == 201
    assert upload_row(response["Location"]).envelope.lot.number == 2


@pytest.mark.parametrize(
    ("name", "size", "status", "message"),
    [
        ("vide.pdf", 0, 400, "Le fichier « vide.pdf » est vide."),
        ("", 10, 400, "Le nom du fichier manque"),
        ("dossier/offre.pdf", 10, 400, "contient des caractères interdits"),
        ("offre\x07.pdf", 10, 400, "contient des caractères interdits"),
        ("programme.exe", 10, 415, "Le type de fichier « .exe » n'est pas accepté"),
        ("énorme.pdf", 3 * 1024 * 1024, 413, "dépasse la taille maximale de 2,0"),
    ],
)
def test_a_file_the_rules_refuse_is_refused_at_creation_with_a_precise_message(
    company_client, deposit, settings, name, size, status, message
):
    settings.DEPOSIT_MAX_FILE_BYTES = 2 * 1024 * 1024
    response = create(company_client, deposit, name, size)
    assert response.status_code == status
    assert message in response.content.decode()
    assert not DepositFile.objects.exists()


def test_a_deferred_length_is_not_supported(company_client, deposit):
    values = metadata(filename="offre.pdf", deposit=deposit.pk, envelope=offer_envelope(deposit).pk)
    response = company_client.post(
        ENDPOINT, headers={**TUS, "Upload-Defer-Length": "1", "Upload-Metadata": values}
    )
    assert response.status_code == 400
    assert "Upload-Length" in response.content.decode()


def test_a_finalised_deposit_takes_no_new_file(company_client, deposit, company_user):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(1000))
    deposit_finalize(deposit=deposit, user=company_user.user)
    response = create(company_client, deposit, "autre.pdf", 1000)
    assert response.status_code == 403
    assert "Ce pli est déjà validé" in response.content.decode()


def test_a_consultation_no_longer_online_takes_no_new_file(company_client, deposit, consultation):
    consultation.state = State.OPENED
    consultation.save(update_fields=["state"])
    response = create(company_client, deposit, "offre.pdf", 1000)
    assert response.status_code == 403
    assert "n'est pas en ligne" in response.content.decode()


# --- Sending -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 3 * SEGMENT + 1000])
@pytest.mark.parametrize("chunk", [None, SEGMENT], ids=["one-request", "by-segment"])
def test_a_file_comes_back_identical_whatever_its_size_and_however_it_was_sent(
    company_client, deposit, size, chunk
):
    # GIVEN a text file around the segment boundaries
    content = text_bytes(size)
    # WHEN it is sent in one PATCH, or one segment per PATCH
    deposit_file = upload_http(company_client, deposit, "note.txt", content, chunk=chunk)
    # THEN it is complete, its hash (after the sealing's read-back when it came in several
    # requests) is the content's, and the opening key decrypts it exactly
    assert deposit_file.is_complete and deposit_file.offset == size
    deposit_file = read_back(deposit_file)
    assert deposit_file.sha256 == hashlib.sha256(content).hexdigest()
    assert len(encrypted_bytes(deposit_file)) == crypto.encrypted_size(size)
    assert decrypted(deposit_file) == content
    expected_parts = 1 if chunk is None else max(1, -(-size // SEGMENT))
    assert deposit_file.parts.count() == expected_parts


def test_an_offset_other_than_the_servers_is_a_conflict(company_client, upload_url):
    content = pdf_bytes(300_000)
    response = patch(company_client, upload_url, 65536, content[65536:])
    assert response.status_code == 409
    assert "Le serveur a reçu 0 octet de ce fichier" in response.content.decode()
    assert upload_row(upload_url).offset == 0
    assert stored_objects() == []


def test_a_patch_ending_inside_a_segment_keeps_whole_segments_and_the_client_continues_from_there(
    company_client, upload_url
):
    # GIVEN a 300,000-byte file
    content = pdf_bytes(300_000)
    # WHEN a PATCH brings its first 100,000 bytes
    response = patch(company_client, upload_url, 0, content[:100_000])
    # THEN one whole segment is kept, and said so
    assert response.status_code == 204
    assert response["Upload-Offset"] == str(SEGMENT)
    assert company_client.head(upload_url, headers=TUS)["Upload-Offset"] == str(SEGMENT)
    (part,) = FilePart.objects.all()
    assert (part.plaintext_offset, part.plaintext_size, part.stored_size) == (0, SEGMENT, SEGMENT + 16)
    # WHEN the client continues from there to the end
    response = patch(company_client, upload_url, SEGMENT, content[SEGMENT:])
    # THEN the file is complete and decrypts to the original (its last segment sealed as the last)
    assert response.status_code == 204
    assert response["Upload-Offset"] == "300000"
    deposit_file = read_back(upload_row(upload_url))
    assert deposit_file.sha256 == hashlib.sha256(content).hexdigest()
    assert decrypted(deposit_file) == content


def test_a_chunk_smaller_than_a_segment_that_does_not_end_the_file_is_refused(company_client, upload_url):
    response = patch(company_client, upload_url, 0, pdf_bytes(300_000)[:10_000])
    assert response.status_code == 400
    assert "morceaux d'au moins 64,0" in response.content.decode()
    assert upload_row(upload_url).offset == 0


def test_a_body_beyond_the_announced_size_is_refused(company_client, upload_url):
    response = patch(company_client, upload_url, 0, pdf_bytes(300_001))
    assert response.status_code == 400
    assert "dépasse la taille annoncée" in response.content.decode()


def test_a_patch_needs_the_offset_content_type(company_client, upload_url):
    response = company_client.patch(
        upload_url,
        data=pdf_bytes(300_000),
        content_type="application/pdf",
        headers={**TUS, "Upload-Offset": "0"},
    )
    assert response.status_code == 415


def test_a_patch_may_come_as_a_post_with_the_method_override(company_client, upload_url):
    content = pdf_bytes(300_000)
    response = company_client.post(
        upload_url,
        data=content,
        content_type=OFFSET_TYPE,
        headers={**TUS, "Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"},
    )
    assert response.status_code == 204
    assert decrypted(upload_row(upload_url)) == content


def test_content_that_is_not_what_the_name_says_is_refused_before_anything_is_stored(company_client, deposit):
    # GIVEN an executable named like a PDF
    executable = b"MZ\x90\x00" + bytes(70_000)
    response = create(company_client, deposit, "devis.pdf", len(executable))
    url = response["Location"]
    # WHEN its first bytes arrive
    answer = patch(company_client, url, 0, executable)
    # THEN it is refused with the reason, and neither the upload nor any byte of it remains
    assert answer.status_code == 415
    assert "ne correspond pas à un fichier « .pdf »" in answer.content.decode()
    assert not DepositFile.objects.exists()
    assert stored_objects() == []


def test_what_is_stored_holds_no_plaintext_and_the_in_progress_key_is_erased_once_read_back(
    company_client, upload_url
):
    content = pdf_bytes(300_000)
    assert content.count(MARKER) >= 5
    # WHEN the first two segments arrive
    patch(company_client, upload_url, 0, content[: 2 * SEGMENT])
    # THEN the data key is kept only encrypted for the upload: never as such
    in_progress = upload_row(upload_url)
    data_key = crypto.unwrap_key(bytes(in_progress.wrapped_keys.get().wrapped), opening_key_material()[0])
    assert in_progress.upload_key is not None and data_key not in bytes(in_progress.upload_key)
    # WHEN the rest arrives
    patch(company_client, upload_url, 2 * SEGMENT, content[2 * SEGMENT :])
    # THEN the file is complete; once the sealing has read it back, the in-progress key is
    # gone and only the RSA-wrapped copy remains
    complete = upload_row(upload_url)
    assert complete.is_complete and complete.upload_key is not None
    complete = read_back(complete)
    assert complete.upload_key is None
    assert complete.wrapped_keys.count() == 1
    # AND no stored byte shows the content
    objects = stored_objects()
    assert len(objects) == 2
    for path in objects:
        stored = path.read_bytes()
        assert MARKER not in stored and content[:64] not in stored
    assert decrypted(complete) == content


def test_a_file_is_wrapped_for_the_organisations_backup_key_too(
    company_client, buyer, consultation, company_user
):
    # GIVEN the organisation has a backup key besides the consultation's own key
    backup = backup_key_make(buyer.organisation, buyer.user)
    deposit = deposit_start(consultation=consultation, user=company_user.user)
    content = pdf_bytes(150_000)
    # WHEN a file is sent
    deposit_file = upload_http(company_client, deposit, "offre.pdf", content)
    # THEN its data key is wrapped twice, and either private key opens it
    assert WrappedKey.objects.filter(deposit_file=deposit_file).count() == 2
    assert set(deposit.keys.all()) == {consultation.opening_keys.get(), backup}
    assert decrypted(deposit_file) == content
    assert decrypted(deposit_file, rsa_key("secours")) == content


# --- Checksums ---------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_patch_with_a_matching_checksum_is_kept(company_client, upload_url, algorithm):
    content = pdf_bytes(300_000)
    digest = base64.b64encode(hashlib.new(algorithm, content).digest()).decode()
    response = patch(company_client, upload_url, 0, content, **{"Upload-Checksum": f"{algorithm} {digest}"})
    assert response.status_code == 204
    assert response["Upload-Offset"] == "300000"


def test_a_patch_whose_checksum_does_not_match_is_not_kept(company_client, upload_url):
    content = pdf_bytes(300_000)
    digest = base64.b64encode(hashlib.sha1(content[:-1] + b"!").digest()).decode()
    response = patch(company_client, upload_url, 0, content, **{"Upload-Checksum": f"sha1 {digest}"})
    assert response.status_code == 460
    assert upload_row(upload_url).offset == 0
    assert not FilePart.objects.exists() and stored_objects() == []


def test_an_unknown_checksum_algorithm_is_refused(company_client, upload_url):
    response = patch(company_client, upload_url, 0, pdf_bytes(300_000), **{"Upload-Checksum": "md5 AAAA"})
    assert response.status_code == 400


# --- Termination -------------------------------------------------------------------------


def test_termination_removes_the_upload_and_what_was_stored(
    company_client, upload_url, django_capture_on_commit_callbacks
):
    patch(company_client, upload_url, 0, pdf_bytes(300_000)[: 2 * SEGMENT])
    assert len(stored_objects()) == 1
    # The stored parts go once the removal is committed.
    with django_capture_on_commit_callbacks(execute=True):
        response = company_client.delete(upload_url, headers=TUS)
    assert response.status_code == 204
    assert not DepositFile.objects.exists() and not WrappedKey.objects.exists()
    assert stored_objects() == []
    assert company_client.head(upload_url, headers=TUS).status_code == 404


def test_a_file_of_a_finalised_deposit_cannot_be_terminated(company_client, deposit, company_user):
    deposit_file = upload_http(company_client, deposit, "offre.pdf", pdf_bytes(1000))
    deposit_finalize(deposit=deposit, user=company_user.user)
    response = company_client.delete(f"/depots/tus/{deposit_file.upload_id}/", headers=TUS)
    assert response.status_code == 403
    assert DepositFile.objects.filter(pk=deposit_file.pk).exists()


# --- Who may call ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["other company", "colleague"])
def test_someone_elses_upload_is_not_found(upload_url, company_user, other_company_user, who):
    intruder = (
        other_company_user if who == "other company" else CompanyUserFactory(company=company_user.company)
    )
    client = Client()
    client.force_login(intruder.user)
    assert client.head(upload_url, headers=TUS).status_code == 404
    assert patch(client, upload_url, 0, pdf_bytes(300_000)).status_code == 404
    assert client.delete(upload_url, headers=TUS).status_code == 404
    assert upload_row(upload_url).offset == 0


def test_another_companys_deposit_is_not_found_at_creation(deposit, other_company_user):
    client = Client()
    client.force_login(other_company_user.user)
    response = create(client, deposit, "offre.pdf", 1000)
    assert response.status_code == 404
    assert not DepositFile.objects.exists()


def test_without_a_session_or_as_an_agent_nothing_is_accepted(client, deposit, buyer, upload_url):
    assert create(client, deposit, "offre.pdf", 1000).status_code == 403
    assert client.head(upload_url, headers=TUS).status_code == 403
    client.force_login(buyer.user)
    response = create(client, deposit, "offre.pdf", 1000)
    assert response.status_code == 403
    assert "compte entreprise" in response.content.decode()


def test_every_request_must_speak_tus_1_0_0(company_client, deposit, upload_url):
    response = company_client.head(upload_url)
    assert response.status_code == 412
    assert response["Tus-Version"] == "1.0.0"
    response = company_client.post(ENDPOINT, headers={"Tus-Resumable": "0.2.2", "Upload-Length": "10"})
    assert response.status_code == 412


def test_a_write_with_the_session_needs_the_csrf_token(company_user, deposit):
    # GIVEN a browser that enforces CSRF like a real one, with the session and the CSRF cookie
    client = Client(enforce_csrf_checks=True)
    client.force_login(company_user.user)
    token = get_random_string(32)
    client.cookies[django_settings.CSRF_COOKIE_NAME] = token
    # WHEN a request comes without the header a page's script adds
    response = create(client, deposit, "offre.pdf", 1000)
    # THEN it is refused; with the header it passes
    assert response.status_code == 403
    assert "jeton de sécurité" in response.content.decode()
    response = create(client, deposit, "offre.pdf", 1000, headers={"X-CSRFToken": token})
    assert response.status_code == 201
    url = response["Location"]
    assert patch(client, url, 0, pdf_bytes(1000)).status_code == 403
    assert patch(client, url, 0, pdf_bytes(1000), **{"X-CSRFToken": token}).status_code == 204
    # AND a cross-site origin is refused even with the token
    response = create(
        client,
        deposit,
        "autre.pdf",
        1000,
        headers={"X-CSRFToken": token, "Origin": "https://ailleurs.example"},
    )
    assert response.status_code == 403


# --- Two PATCHes at once -----------------------------------------------------------------


def test_of_two_patches_from_the_same_offset_one_wins_and_the_other_gets_a_conflict(
    company_client, upload_url, monkeypatch
):
    # GIVEN a PATCH whose body is still arriving when a second PATCH of the same bytes completes
    content = pdf_bytes(300_000)
    original = ingest.body_chunks
    second = []

    def racing(read, length):
        if not second:
            second.append(None)
            second[0] = patch(company_client, upload_url, 0, content)
        yield from original(read, length)

    monkeypatch.setattr(ingest, "body_chunks", racing)
    # WHEN the first one ends
    first = patch(company_client, upload_url, 0, content)
    # THEN the second won, the first is a conflict, and its stored part is gone
    assert second[0].status_code == 204
    assert first.status_code == 409
    deposit_file = upload_row(upload_url)
    assert deposit_file.is_complete and deposit_file.parts.count() == 1
    assert len(stored_objects()) == 1
    assert decrypted(deposit_file) == content


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrence réelle : PostgreSQL seulement")
@pytest.mark.django_db(transaction=True)
def test_two_patches_at_the_same_moment_in_two_threads_one_wins_on_postgresql(buyer, company_user, clock):
    # GIVEN an upload, and two requests that both start streaming the same bytes from offset 0
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    deposit = deposit_start(consultation=consultation, user=company_user.user)
    content = pdf_bytes(3 * SEGMENT)
    declared = deposit_file_create(
        deposit=deposit,
        envelope=offer_envelope(deposit),
        user=company_user.user,
        name="offre.pdf",
        size=len(content),
    )
    barrier = threading.Barrier(2, timeout=30)
    outcomes = []

    def send() -> None:
        body = io.BytesIO(content)

        def read(size: int) -> bytes:
            if body.tell() == 0:
                barrier.wait()
            return body.read(size)

        try:
            deposit_file = DepositFile.objects.select_related("envelope__deposit__consultation").get(
                pk=declared.pk
            )
            deposit_file_receive(
                deposit_file=deposit_file,
                user=company_user.user,
                offset=0,
                read=read,
                content_length=len(content),
            )
            outcomes.append("won")
        except DepositError as error:
            outcomes.append(error.reason)
        finally:
            connections.close_all()

    # WHEN both end
    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN one was recorded and the other is a conflict whose part is gone
    assert sorted(outcomes) == ["conflict", "won"]
    deposit_file = DepositFile.objects.get(pk=declared.pk)
    assert deposit_file.is_complete and deposit_file.parts.count() == 1
    assert len(stored_objects()) == 1
    assert decrypted(deposit_file) == content


# --- tuspy against a live server ---------------------------------------------------------


def _tus_client(live_server, user):
    from tusclient.client import TusClient

    browser = Client()
    browser.force_login(user)
    session = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
    token = get_random_string(32)
    cookies = f"{django_settings.SESSION_COOKIE_NAME}={session}; {django_settings.CSRF_COOKIE_NAME}={token}"
    return TusClient(live_server.url + ENDPOINT, headers={"Cookie": cookies, "X-CSRFToken": token})


def _interrupted_patch(url: str, headers: dict, offset: int, body: bytes, announced: int) -> bytes:
    """A PATCH announcing ``announced`` bytes whose connection stops sending after ``body``."""
    parts = urlsplit(url)
    lines = [
        f"PATCH {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Tus-Resumable: 1.0.0",
        f"Upload-Offset: {offset}",
        f"Content-Type: {OFFSET_TYPE}",
        f"Content-Length: {announced}",
        *(f"{name}: {value}" for name, value in headers.items()),
        "Connection: close",
    ]
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.django_db(transaction=True)
def test_tuspy_resumes_an_interrupted_upload_from_head_and_the_file_is_intact(
    live_server, buyer, company_user, clock
):
    from tusclient.uploader import Uploader

    # GIVEN a deposit and a 10-segment PDF, sent by tuspy in chunks that do not fall on segment boundaries
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    deposit = deposit_start(consultation=consultation, user=company_user.user)
    content = pdf_bytes(10 * SEGMENT - 12_345, seed=7)
    tus = _tus_client(live_server, company_user.user)
    meta = {"filename": "offre.pdf", "deposit": str(deposit.pk), "envelope": str(offer_envelope(deposit).pk)}
    first = tus.uploader(file_stream=io.BytesIO(content), chunk_size=150_000, metadata=meta)
    first.upload_chunk()
    first.upload_chunk()
    assert first.offset == 4 * SEGMENT  # 150,000 kept as 131,072, twice
    # WHEN the next PATCH is cut off after 200,000 of its 300,000 bytes (the client stopped)
    answer = _interrupted_patch(
        first.url, tus.headers, first.offset, content[first.offset :][:200_000], 300_000
    )
    assert b" 204 " in answer.split(b"\r\n", 1)[0]
    # THEN the server kept the whole segments it got, and a new client learns the offset from HEAD
    second = Uploader(file_stream=io.BytesIO(content), url=first.url, client=tus, chunk_size=150_000)
    assert second.offset == 7 * SEGMENT
    second.upload()
    # AND the file is complete: the opening key decrypts exactly the original bytes
    deposit_file = DepositFile.objects.get()
    assert deposit_file.is_complete
    deposit_file = read_back(deposit_file)
    assert deposit_file.sha256 == hashlib.sha256(content).hexdigest()
    assert hashlib.sha256(decrypted(deposit_file)).hexdigest() == hashlib.sha256(content).hexdigest()
    assert deposit_file.parts.count() >= 5


@pytest.mark.django_db(transaction=True)
def test_tuspy_with_checksums_uploads_in_one_go(live_server, buyer, company_user, clock):
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    deposit = deposit_start(consultation=consultation, user=company_user.user)
    content = text_bytes(3 * SEGMENT + 5)
    tus = _tus_client(live_server, company_user.user)
    meta = {"filename": "note.txt", "deposit": str(deposit.pk), "kind": "candidature"}
    uploader = tus.uploader(
        file_stream=io.BytesIO(content), chunk_size=SEGMENT, metadata=meta, upload_checksum=True
    )
    uploader.upload()
    deposit_file = DepositFile.objects.get()
    assert deposit_file.envelope.kind == EnvelopeKind.CANDIDATURE
    assert deposit_file.is_complete and decrypted(deposit_file) == content


@pytest.mark.parametrize(
    "headers",
    [
        {"Upload-Length": "9" * 5000},
        {"Upload-Length": "1000", "Upload-Metadata": "filename é"},
        {"Upload-Length": "-1"},
    ],
    ids=["huge-length", "non-ascii-metadata", "negative-length"],
)
def test_malformed_creation_headers_are_refused_with_a_message_not_an_error_page(company_client, headers):
    response = company_client.post(ENDPOINT, headers={**TUS, **headers})
    assert response.status_code == 400
    assert "mal formé" in response.content.decode() or "nombre entier" in response.content.decode()


def test_a_non_ascii_checksum_is_refused_with_a_message(company_client, upload_url):
    response = patch(company_client, upload_url, 0, b"x" * SEGMENT, **{"Upload-Checksum": "sha1 é"})
    assert response.status_code == 400
    assert "Upload-Checksum est mal formé" in response.content.decode()
