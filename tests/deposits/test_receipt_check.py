"""The receipt as the company downloads it, and the public page « Vérifier un accusé de
réception » that says whether a receipt is authentic and intact, and which deposit it proves."""

import io
import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from deposits.models import Seal
from deposits.views import receipts
from signatures import platform
from tests.deposits.test_sealing import finalised, finalised_and_sealed, text_of
from tests.factories import CompanyUserFactory

CHECK_URL = "/verifier-un-accuse-de-reception/"


@pytest.fixture
def sealed(consultation, company_user, clock, django_capture_on_commit_callbacks):
    clock.advance(hours=2, minutes=30, seconds=42)
    return finalised_and_sealed(consultation, company_user, django_capture_on_commit_callbacks)


@pytest.fixture
def receipt(sealed) -> bytes:
    with default_storage.open(Seal.objects.get(deposit=sealed).receipt_object, "rb") as stored:
        return stored.read()


def check(client, content: bytes, name: str = "accuse.pdf"):
    return client.post(CHECK_URL, {"receipt": SimpleUploadedFile(name, content, "application/pdf")})


def page_text(response) -> str:
    return text_of(response.content.decode())


# --- The company downloads its receipt ------------------------------------------------------


def receipt_url(deposit) -> str:
    return reverse("deposits:company_receipt", args=[deposit.pk])


def test_the_depositing_company_downloads_its_receipt(client, sealed, receipt, company_user):
    # GIVEN a colleague of the depositor, in the same company
    colleague = CompanyUserFactory(company=company_user.company)
    client.force_login(colleague.user)
    response = client.get(receipt_url(sealed))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"pli-{sealed.pk}.pdf" in disposition
    assert b"".join(response.streaming_content) == receipt
    assert "no-store" in response["Cache-Control"]


def test_another_company_gets_not_found(client, sealed, other_company_user):
    client.force_login(other_company_user.user)
    assert client.get(receipt_url(sealed)).status_code == 404


def test_an_agent_is_refused_and_a_visitor_sent_to_login(client, sealed, buyer):
    response = client.get(receipt_url(sealed))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    client.force_login(buyer.user)
    assert client.get(receipt_url(sealed)).status_code == 403


def test_a_draft_has_no_receipt(client, deposit, company_user):
    client.force_login(company_user.user)
    assert client.get(receipt_url(deposit)).status_code == 404


def test_a_receipt_not_sealed_yet_says_it_is_coming(client, consultation, company_user):
    deposit = finalised(consultation, company_user)
    client.force_login(company_user.user)
    response = client.get(receipt_url(deposit))
    assert response.status_code == 404
    assert "Son accusé de réception est en cours de scellement" in page_text(response)


# --- The public check ------------------------------------------------------------------------


def test_the_public_page_is_linked_from_every_page_and_needs_no_account(client, db):
    home = client.get("/")
    assert f'href="{CHECK_URL}"' in home.content.decode()
    response = client.get(CHECK_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Vérifier un accusé de réception" in html
    assert 'name="csrfmiddlewaretoken"' in html and 'enctype="multipart/form-data"' in html
    assert re.search(r'<label for="id_receipt">Accusé de réception \(fichier PDF\)', html)


def test_the_public_check_requires_the_csrf_token(sealed, receipt):
    from django.test import Client

    guarded = Client(enforce_csrf_checks=True)
    assert check(guarded, receipt).status_code == 403


def test_an_untouched_receipt_is_authentic_and_intact_and_names_its_deposit(client, sealed, receipt):
    seal = Seal.objects.get(deposit=sealed)
    response = check(client, receipt)
    assert response.status_code == 200
    text = page_text(response)
    assert "Accusé de réception authentique et intact." in text
    assert "scellé par Salle des marchés publics - cachet le 02/03/2026 à 11:30:42" in text
    consultation = sealed.consultation
    assert f"Consultation {consultation.reference} — {consultation.title}" in text
    assert f"Entreprise Bâtiment Ouest (SIRET {sealed.company.siret})" in text
    assert "Reçu le 02/03/2026 à 11:30:42 (heure de Paris)" in text
    assert f"Numéro dans la chaîne des sceaux {seal.sequence}" in text
    assert seal.seal_hash in text


def test_a_receipt_with_one_byte_changed_fails(client, sealed, receipt):
    # WHEN one letter of the signed content changes, the file staying a readable PDF
    assert receipt.count(b"WeasyPrint") >= 1
    altered = receipt.replace(b"WeasyPrint", b"WeasyPrinT", 1)
    # THEN the check says it was modified
    text = page_text(check(client, altered))
    assert "Cet accusé de réception n'est pas valide." in text
    assert "Le document a été modifié après son scellement : son contenu ne correspond plus" in text
    assert "Accusé de réception authentique et intact." not in text


def test_a_receipt_with_a_change_appended_after_signing_fails(client, sealed, receipt):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    # WHEN someone appends an incremental update (here: a new document title)
    writer = IncrementalPdfFileWriter(io.BytesIO(receipt))
    writer.set_info(generic.DictionaryObject({generic.pdf_name("/Title"): generic.pdf_string("Autre pli")}))
    out = io.BytesIO()
    writer.write(out)
    # THEN the seal still validates for its own revision, but the file is not what was sealed
    response = check(client, out.getvalue())
    text = page_text(response)
    assert "Cet accusé de réception n'est pas valide." in text
    assert "des éléments ont été ajoutés à la fin du fichier signé" in text


def test_a_pdf_sealed_by_the_platform_but_not_a_receipt_is_not_one(client, db):
    from weasyprint import HTML

    other = platform.pdf_seal(HTML(string="<h1>PV</h1>").write_pdf(), reason="Procès-verbal")
    text = page_text(check(client, other))
    assert "Cet accusé de réception n'est pas valide." in text
    assert "ce n'est pas un accusé de réception qu'elle a délivré" in text


def test_a_pdf_signed_by_someone_else_is_not_authentic(client, db, tmp_path):
    from tests.signatures.test_platform import foreign_signed_pdf

    text = page_text(check(client, foreign_signed_pdf(tmp_path)))
    assert "Cet accusé de réception n'est pas valide." in text
    assert "La signature n'est pas celle de la plateforme" in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"ceci n'est pas un PDF", "Ce fichier n'est pas un PDF lisible."),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "n'est pas un PDF lisible"),
    ],
)
def test_garbage_gets_a_french_answer_never_an_error(client, db, content, expected):
    response = check(client, content)
    assert response.status_code == 200
    assert expected in page_text(response)


def test_an_unsigned_pdf_is_said_to_carry_no_signature(client, db):
    from weasyprint import HTML

    text = page_text(check(client, HTML(string="<p>Bonjour</p>").write_pdf()))
    assert "Ce PDF ne porte aucune signature électronique." in text


def test_a_truncated_receipt_is_not_valid(client, sealed, receipt):
    response = check(client, receipt[: len(receipt) // 2])
    assert response.status_code == 200
    assert "Cet accusé de réception n'est pas valide." in page_text(response)


def test_no_file_an_empty_file_or_a_huge_one_are_refused_clearly(client, db, monkeypatch):
    text = page_text(client.post(CHECK_URL, {}))
    assert "Choisissez le fichier PDF de l'accusé de réception." in text
    text = page_text(check(client, b""))
    assert "Le fichier envoyé est vide." in text
    monkeypatch.setattr(receipts, "RECEIPT_CHECK_MAX_BYTES", 100)
    text = page_text(check(client, b"%PDF-1.7\n" + b"x" * 200))
    assert "Ce fichier dépasse" in text
    assert "Le formulaire contient une erreur." in text
