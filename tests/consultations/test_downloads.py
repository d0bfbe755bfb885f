"""DCE download (« retrait »): free and complete, streamed, anonymous or identified; only
identified downloads write the « registre des retraits »."""

import io
import os
import zipfile
from datetime import timedelta

import pytest
from django.http import FileResponse, StreamingHttpResponse
from django.test import Client

from consultations.models import Access, DceVersion, Download, State
from consultations.zipstream import CHUNK_SIZE, ZipMember, zip_stream
from tests.factories import T0, ConsultationFactory, consultation_online, dce_file_make

WARNING = (
    "Un téléchargement anonyme ne vous permet pas d'être informé des modifications de la consultation "
    "(rectificatifs, réponses aux questions)."
)


@pytest.fixture
def consultation(organisation):
    return consultation_online(organisation=organisation, reference="2026/TX 001")


@pytest.fixture
def files(consultation):
    return {f.name: f for f in consultation.dce_versions.get(number=1).files.all()}


def zip_url(consultation):
    return f"/consultations/{consultation.pk}/dce/"


def file_url(consultation, dce_file):
    return f"/consultations/{consultation.pk}/dce/{dce_file.pk}/"


def unzip(response) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return {name: archive.read(name) for name in archive.namelist()}


# --- The choice page ----------------------------------------------------------------------------


def test_the_choice_page_warns_that_an_anonymous_download_is_not_kept_informed(client, consultation, clock):
    response = client.get(zip_url(consultation))
    assert response.status_code == 200
    page = response.content.decode()
    assert WARNING in page
    assert "Télécharger anonymement" in page
    assert "Télécharger en étant identifié" in page
    assert f"/compte/connexion/?next=/consultations/{consultation.pk}/dce/" in page
    assert "RC.pdf" in page and "CCTP.pdf" in page


def test_a_company_user_is_offered_to_download_in_the_name_of_the_company(
    client, consultation, company_user, clock
):
    client.force_login(company_user.user)
    page = client.get(zip_url(consultation)).content.decode()
    assert "Télécharger au nom de Bâtiment Ouest" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert WARNING in page


def test_a_get_never_writes_the_register_whatever_its_parameters(
    client, consultation, company_user, files, clock
):
    client.force_login(company_user.user)
    for url in [zip_url(consultation), file_url(consultation, files["RC.pdf"])]:
        client.get(url)
        client.get(url, {"mode": "identifie"})
        client.get(url, {"mode": "anonyme"})
        client.head(url, {"mode": "anonyme"})
    assert Download.objects.count() == 0


# --- Anonymous downloads ------------------------------------------------------------------------------


def test_an_anonymous_visitor_downloads_the_whole_dce_as_one_streamed_zip(client, consultation, clock):
    response = client.get(zip_url(consultation), {"mode": "anonyme"})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="DCE_2026_TX_001_v1.zip"'
    assert unzip(response) == {
        "RC.pdf": b"%PDF-1.4 reglement de consultation",
        "CCTP.pdf": b"%PDF-1.4 cahier des clauses techniques",
    }
    assert Download.objects.count() == 0


def test_an_anonymous_visitor_downloads_one_file(client, consultation, files, clock):
    response = client.get(file_url(consultation, files["CCTP.pdf"]), {"mode": "anonyme"})
    assert isinstance(response, FileResponse)
    assert response["Content-Disposition"] == 'attachment; filename="CCTP.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 cahier des clauses techniques"
    assert Download.objects.count() == 0


def test_an_anonymous_post_for_an_identified_download_leads_to_the_login(client, consultation, clock):
    response = client.post(zip_url(consultation), {"mode": "identifie"})
    assert response.status_code == 302
    assert response["Location"] == f"/compte/connexion/?next=/consultations/{consultation.pk}/dce/"
    assert Download.objects.count() == 0


# --- Identified downloads -----------------------------------------------------------------------------


def test_an_identified_zip_download_writes_company_user_time_and_version(
    client, consultation, company_user, clock
):
    clock.set(T0 + timedelta(days=2, hours=5, seconds=17))
    client.force_login(company_user.user)
    response = client.post(zip_url(consultation), {"mode": "identifie"})
    assert isinstance(response, StreamingHttpResponse)
    assert set(unzip(response)) == {"RC.pdf", "CCTP.pdf"}
    line = Download.objects.get()
    assert line.consultation == consultation
    assert line.company == company_user.company
    assert line.user == company_user.user
    assert line.downloaded_at == T0 + timedelta(days=2, hours=5, seconds=17)
    assert line.dce_version == consultation.dce_versions.get(number=1)
    assert line.file_name == ""


def test_an_identified_file_download_records_the_file_name(client, consultation, files, company_user, clock):
    client.force_login(company_user.user)
    response = client.post(file_url(consultation, files["RC.pdf"]), {"mode": "identifie"})
    assert b"".join(response.streaming_content) == b"%PDF-1.4 reglement de consultation"
    assert list(Download.objects.values_list("company__name", "file_name")) == [("Bâtiment Ouest", "RC.pdf")]


def test_a_company_user_may_still_download_anonymously(client, consultation, company_user, clock):
    client.force_login(company_user.user)
    response = client.get(zip_url(consultation), {"mode": "anonyme"})
    assert response.status_code == 200
    assert Download.objects.count() == 0


def test_the_identified_download_is_a_post_protected_against_csrf(consultation, company_user, clock):
    client = Client(enforce_csrf_checks=True)
    client.force_login(company_user.user)
    assert client.post(zip_url(consultation), {"mode": "identifie"}).status_code == 403
    assert Download.objects.count() == 0


def test_each_identified_download_is_a_line_of_the_register(
    client, consultation, files, company_user, other_company_user, clock
):
    client.force_login(company_user.user)
    client.post(zip_url(consultation), {"mode": "identifie"})
    clock.advance(hours=1)
    client.post(file_url(consultation, files["CCTP.pdf"]), {"mode": "identifie"})
    client.force_login(other_company_user.user)
    client.post(zip_url(consultation), {"mode": "identifie"})
    assert list(
        Download.objects.order_by("downloaded_at", "pk").values_list("company__name", "file_name")
    ) == [
        ("Bâtiment Ouest", ""),
        ("Bâtiment Ouest", "CCTP.pdf"),
        ("Travaux Est", ""),
    ]


def test_the_agent_of_the_buyer_downloads_without_a_register_line(client, consultation, buyer, clock):
    client.force_login(buyer.user)
    page = client.get(zip_url(consultation)).content.decode()
    assert "pas inscrit au registre des retraits" in page
    response = client.get(zip_url(consultation), {"mode": "anonyme"})
    assert set(unzip(response)) == {"RC.pdf", "CCTP.pdf"}
    assert Download.objects.count() == 0


# --- Only the current version of a public consultation --------------------------------------------


def test_a_file_of_another_consultation_is_404(client, consultation, organisation, clock):
    other = consultation_online(organisation=organisation)
    other_file = other.dce_versions.get().files.first()
    assert client.get(file_url(consultation, other_file), {"mode": "anonyme"}).status_code == 404


def test_only_the_current_version_is_downloadable(client, consultation, files, buyer, company_user, clock):
    version_2 = DceVersion.objects.create(
        consultation=consultation, number=2, created_by=buyer.user, published_at=T0 + timedelta(days=1)
    )
    new_rules = dce_file_make(version_2, "RC.pdf", b"%PDF-1.4 RC version 2", is_rules=True)
    draft_version = DceVersion.objects.create(consultation=consultation, number=3, created_by=buyer.user)
    unpublished = dce_file_make(draft_version, "Projet.pdf", b"brouillon")

    assert client.get(file_url(consultation, files["CCTP.pdf"]), {"mode": "anonyme"}).status_code == 404
    assert client.get(file_url(consultation, unpublished), {"mode": "anonyme"}).status_code == 404
    response = client.get(zip_url(consultation), {"mode": "anonyme"})
    assert unzip(response) == {"RC.pdf": b"%PDF-1.4 RC version 2"}

    client.force_login(company_user.user)
    client.post(file_url(consultation, new_rules), {"mode": "identifie"})
    assert Download.objects.get().dce_version == version_2


@pytest.mark.parametrize("state", [State.DRAFT, State.PENDING_VALIDATION, State.SCHEDULED])
def test_nothing_is_downloadable_before_publication(client, organisation, state, clock):
    draft = ConsultationFactory(organisation=organisation, state=state)
    dce_file = draft.dce_versions.get().files.first()
    assert client.get(zip_url(draft), {"mode": "anonyme"}).status_code == 404
    assert client.get(file_url(draft, dce_file), {"mode": "anonyme"}).status_code == 404


def test_a_cancelled_consultation_is_not_downloadable(client, consultation, files, clock):
    consultation.state = State.CANCELLED
    consultation.cancellation_reason = "Besoin redéfini"
    consultation.save(update_fields=["state", "cancellation_reason"])
    assert client.get(zip_url(consultation)).status_code == 404
    assert client.get(file_url(consultation, files["RC.pdf"]), {"mode": "anonyme"}).status_code == 404


def test_a_closed_consultation_stays_downloadable(client, consultation, clock):
    consultation.state = State.CLOSED
    consultation.save(update_fields=["state"])
    assert client.get(zip_url(consultation), {"mode": "anonyme"}).status_code == 200


def test_a_restricted_consultation_needs_its_code_before_any_download(
    client, organisation, company_user, clock
):
    restricted = consultation_online(
        organisation=organisation, access=Access.RESTRICTED, access_code="K7P-42QZ"
    )
    dce_file = restricted.dce_versions.get().files.first()
    client.force_login(company_user.user)
    for response in [
        client.get(zip_url(restricted), {"mode": "anonyme"}),
        client.get(file_url(restricted, dce_file), {"mode": "anonyme"}),
        client.post(zip_url(restricted), {"mode": "identifie"}),
    ]:
        assert response.status_code == 302
        assert response["Location"] == f"/consultations/{restricted.pk}/"
    assert Download.objects.count() == 0

    client.post(f"/consultations/{restricted.pk}/acces/", {"code": "K7P-42QZ"})
    response = client.post(zip_url(restricted), {"mode": "identifie"})
    assert set(unzip(response)) == {"RC.pdf", "CCTP.pdf"}
    assert Download.objects.get().company == company_user.company


# --- Streaming, in bounded memory ---------------------------------------------------------------------


def test_a_multi_megabyte_file_leaves_the_zip_in_many_bounded_chunks():
    big = os.urandom(5 * CHUNK_SIZE + 12345)  # random: it does not compress
    small = b"petit fichier"
    members = [
        ZipMember(name="plans/Plan masse.dwg", size=len(big), modified=T0, open=lambda: io.BytesIO(big)),
        ZipMember(name="Réponse.txt", size=len(small), modified=T0, open=lambda: io.BytesIO(small)),
    ]
    chunks = list(zip_stream(members))
    assert len(chunks) >= 6
    assert max(len(chunk) for chunk in chunks) <= CHUNK_SIZE + 64 * 1024
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.read("plans/Plan masse.dwg") == big
    assert archive.read("Réponse.txt") == small
    # Written without seeking back: sizes and CRC follow the data (data descriptor).
    assert all(info.flag_bits & 0x08 for info in archive.infolist())


def test_the_zip_reads_each_source_piece_by_piece():
    class CountingReader(io.BytesIO):
        largest = 0

        def read(self, size=-1):
            assert size != -1, "a whole file must never be read at once"
            data = super().read(size)
            CountingReader.largest = max(CountingReader.largest, len(data))
            return data

    content = b"x" * (3 * CHUNK_SIZE)
    member = ZipMember(name="a.txt", size=len(content), modified=T0, open=lambda: CountingReader(content))
    generator = zip_stream([member])
    first = next(generator)  # the archive starts before the file is read through
    assert first.startswith(b"PK\x03\x04")
    rest = b"".join(generator)
    assert CountingReader.largest == CHUNK_SIZE
    assert zipfile.ZipFile(io.BytesIO(first + rest)).read("a.txt") == content


def test_the_view_streams_a_large_dce_file_in_pieces(client, consultation, clock):
    big = os.urandom(3 * CHUNK_SIZE)
    dce_file = dce_file_make(consultation.dce_versions.get(), "Plans.zip", big)
    zip_response = client.get(zip_url(consultation), {"mode": "anonyme"})
    chunks = list(zip_response.streaming_content)
    assert len(chunks) >= 3
    assert zipfile.ZipFile(io.BytesIO(b"".join(chunks))).read("Plans.zip") == big
    file_response = client.get(file_url(consultation, dce_file), {"mode": "anonyme"})
    assert int(file_response["Content-Length"]) == len(big)
    assert b"".join(file_response.streaming_content) == big
