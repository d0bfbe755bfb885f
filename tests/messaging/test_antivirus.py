"""Attachments are scanned by a real clamd when CLAMD_URL is set, and judged by their
content: a virus, an executable in disguise or a scanner that cannot answer stops the
message; nothing is ever called clean without a verdict."""

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from config import antivirus
from config.filetypes import upload_check
from messaging.errors import MessagingError
from messaging.models import Attachment, Delivery, Kind, Message, ScanResult
from messaging.services.sending import message_reply, message_send
from tests.factories import consultation_online, download_record
from tests.messaging.conftest import CLAMD_STREAM_MAX, EICAR, EICAR_FOUND, free_port

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture
def consultation(buyer, company_user, clock):
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    download_record(consultation, company_user)
    return consultation


@pytest.fixture
def scanned(settings, clamd_url):
    settings.CLAMD_URL = clamd_url
    return clamd_url


def stored_files(settings) -> list[Path]:
    """The attachments' blobs on disk (the DCE's files live elsewhere)."""
    root = Path(settings.MEDIA_ROOT) / "messaging"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def send(buyer, consultation, company_user, *files):
    return message_send(
        user=buyer.user,
        consultation=consultation,
        companies=[company_user.company],
        kind=Kind.DOCUMENTS_REQUEST,
        subject="Pièces manquantes",
        body="Merci d'envoyer le Kbis.",
        files=list(files),
    )


def test_a_file_with_a_virus_is_refused_with_the_virus_name_and_nothing_is_sent(
    settings, scanned, buyer, consultation, company_user, mailoutbox
):
    # GIVEN clamd knows the EICAR test file, sent as a plain text file
    infected = SimpleUploadedFile("eicar.txt", EICAR)

    # WHEN the buyer attaches it to a message
    with pytest.raises(MessagingError) as refused:
        send(buyer, consultation, company_user, infected)

    # THEN the message is refused, naming the file and the virus, and nothing left
    assert refused.value.field == "files"
    assert "Le fichier « eicar.txt » contient un virus" in refused.value.message
    assert EICAR_FOUND in refused.value.message
    assert not Message.objects.exists()
    assert not Delivery.objects.exists()
    assert mailoutbox == []
    assert stored_files(settings) == []


def test_a_clean_file_beside_an_infected_one_is_not_kept_either(
    settings, scanned, buyer, consultation, company_user
):
    clean = SimpleUploadedFile("devis.pdf", PDF)
    infected = SimpleUploadedFile("lisez-moi.txt", EICAR)

    with pytest.raises(MessagingError):
        send(buyer, consultation, company_user, clean, infected)

    assert not Message.objects.exists()
    assert stored_files(settings) == []


def test_a_company_answer_with_a_virus_is_refused_and_not_recorded(
    settings, scanned, buyer, consultation, company_user
):
    (message,) = send(buyer, consultation, company_user)

    with pytest.raises(MessagingError) as refused:
        message_reply(
            user=company_user.user,
            message=message,
            body="Voici le Kbis.",
            files=[SimpleUploadedFile("kbis.txt", EICAR)],
        )

    assert EICAR_FOUND in refused.value.message
    assert Message.objects.count() == 1
    assert not Attachment.objects.exists()


def test_a_clean_file_is_stored_as_scanned_clean_with_its_hash(
    settings, scanned, buyer, consultation, company_user
):
    import hashlib

    (message,) = send(buyer, consultation, company_user, SimpleUploadedFile("devis.pdf", PDF))

    (attachment,) = message.attachments.all()
    assert attachment.scan == ScanResult.CLEAN
    assert attachment.name == "devis.pdf"
    assert attachment.size == len(PDF)
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    with attachment.blob.open("rb") as blob:
        assert blob.read() == PDF


@pytest.mark.parametrize("where", ["unix", "tcp"])
def test_an_antivirus_that_does_not_answer_refuses_the_file_and_never_calls_it_clean(
    settings, tmp_path, buyer, consultation, company_user, where
):
    # GIVEN clamd is configured but nothing listens there
    settings.CLAMD_URL = (
        f"unix://{tmp_path}/absent.sock" if where == "unix" else f"tcp://127.0.0.1:{free_port()}"
    )

    # WHEN a file is attached
    with pytest.raises(MessagingError) as refused:
        send(buyer, consultation, company_user, SimpleUploadedFile("devis.pdf", PDF))

    # THEN it is refused, saying why, and nothing is sent
    assert refused.value.message.startswith("L'antivirus n'a pas pu analyser le fichier « devis.pdf »")
    assert refused.value.field == "files"
    assert not Message.objects.exists()
    assert stored_files(settings) == []


def test_without_an_antivirus_the_file_is_stored_as_not_scanned(settings, buyer, consultation, company_user):
    settings.CLAMD_URL = ""

    (message,) = send(buyer, consultation, company_user, SimpleUploadedFile("eicar.txt", EICAR))

    assert message.attachments.get().scan == ScanResult.NOT_SCANNED


# --- config/antivirus.py -------------------------------------------------------------


def test_scan_names_the_virus_and_passes_a_clean_stream(settings, scanned):
    assert antivirus.antivirus_enabled()
    assert antivirus.scan(io.BytesIO(EICAR)) == EICAR_FOUND
    assert antivirus.scan(io.BytesIO(PDF)) is None


def test_scan_reads_from_the_current_position(settings, scanned):
    stream = io.BytesIO(b"entete " + EICAR)
    stream.seek(len(b"entete "))

    assert antivirus.scan(stream) == EICAR_FOUND


def test_a_stream_clamd_refuses_to_read_has_no_verdict(settings, scanned):
    # clamd stops reading beyond its StreamMaxLength: no verdict, so not clean.
    with pytest.raises(antivirus.AntivirusUnavailable):
        antivirus.scan(io.BytesIO(b"a" * (CLAMD_STREAM_MAX + 4096)))


def test_a_dead_socket_has_no_verdict(settings, tmp_path):
    settings.CLAMD_URL = f"unix://{tmp_path}/absent.sock"

    with pytest.raises(antivirus.AntivirusUnavailable):
        antivirus.scan(io.BytesIO(PDF))


def test_the_antivirus_is_off_without_clamd_url(settings):
    settings.CLAMD_URL = ""

    assert not antivirus.antivirus_enabled()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("unix:///run/clamav/clamd.ctl", ("unix", "/run/clamav/clamd.ctl")),
        ("tcp://clamav:3310", ("tcp", "clamav", 3310)),
        ("tcp://10.0.0.5", ("tcp", "10.0.0.5", 3310)),
    ],
)
def test_clamd_url_chooses_the_socket(settings, url, expected):
    from clamav_client.clamd import ClamdNetworkSocket, ClamdUnixSocket

    settings.CLAMD_URL = url
    settings.CLAMD_TIMEOUT = 7

    client = antivirus._client()

    if expected[0] == "unix":
        assert isinstance(client, ClamdUnixSocket) and client.unix_socket == expected[1]
    else:
        assert isinstance(client, ClamdNetworkSocket)
        assert (client.host, client.port) == expected[1:]
    assert client.timeout == 7


# --- config/filetypes.py -------------------------------------------------------------


def check(name: str, content: bytes, max_bytes: int = 10_000) -> str:
    return upload_check(SimpleUploadedFile(name, content), max_bytes=max_bytes)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("devis.pdf", PDF),
        ("Devis Final.PDF", b"\xef\xbb\xbf" + PDF),  # a few bytes before the header, upper case
        ("memoire.docx", b"PK\x03\x04" + b"\x00" * 40),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 40),
        ("notes.txt", "Prix révisable.\n".encode()),
    ],
)
def test_a_file_whose_content_is_its_format_is_accepted(name, content):
    assert check(name, content) == name


def test_an_executable_named_pdf_is_refused_for_its_content():
    with pytest.raises(ValidationError) as refused:
        check("devis.pdf", EXE)

    assert refused.value.code == "file_content"
    assert "Le contenu du fichier « devis.pdf » ne correspond pas" in refused.value.messages[0]


@pytest.mark.parametrize("name", ["setup.exe", "macro.js", "sans-extension"])
def test_a_forbidden_type_is_refused_by_its_name(name):
    with pytest.raises(ValidationError) as refused:
        check(name, EXE)

    assert refused.value.code == "file_type"
    assert "n'est pas accepté" in refused.value.messages[0]


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationError) as refused:
        check("devis.pdf", b"")

    assert refused.value.code == "file_empty"
    assert refused.value.messages == ["Le fichier « devis.pdf » est vide."]


def test_a_file_over_the_limit_is_refused_with_the_limit():
    with pytest.raises(ValidationError) as refused:
        check("devis.pdf", PDF + b"0" * 2048, max_bytes=1024)

    assert refused.value.code == "file_size"
    assert "dépasse la taille maximale de 1,0\xa0Kio" in refused.value.messages[0]


def test_a_text_file_with_binary_content_is_refused():
    with pytest.raises(ValidationError) as refused:
        check("notes.txt", b"texte\x00binaire")

    assert refused.value.code == "file_content"


def test_the_check_reads_only_the_head_and_rewinds():
    uploaded = SimpleUploadedFile("devis.pdf", PDF)

    upload_check(uploaded, max_bytes=10_000)

    assert uploaded.tell() == 0
