"""The records of the messaging: the register of exchanges of a consultation (CSV, XLSX,
PDF), the PDF proof of one message, and the admin that shows them read-only."""

import csv
import hashlib
import io
import re
from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from consultations import registers
from consultations.registers import REGISTER_LABELS, register_build, register_counts
from messaging.models import Delivery, Direction, Kind, Message, MessageTemplate, Thread
from messaging.proof_pdf import message_proof_html, message_proof_pdf
from messaging.services.delivery import delivery_fail
from messaging.services.sending import message_read, message_reply, message_send
from tests.conftest import login_verified
from tests.factories import PARIS, T0, AgentFactory, CompanyUserFactory, consultation_online, download_record
from tests.pdf import pdf_streams, pdf_title

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ASKED_AT = datetime(2026, 3, 3, 10, 15, 7, tzinfo=PARIS)
DUE_AT = datetime(2026, 3, 10, 12, 0, tzinfo=PARIS)
READ_AT = datetime(2026, 3, 4, 8, 30, 45, tzinfo=PARIS)
REPLIED_AT = datetime(2026, 3, 11, 9, 0, 1, tzinfo=PARIS)  # after the date asked: late
OTHER_AT = datetime(2026, 3, 5, 16, 0, 0, tzinfo=PARIS)

EXCHANGES_HEADER = [
    "Envoyé le (Paris)",
    "Sens",
    "Type",
    "Entreprise",
    "SIRET",
    "Objet",
    "Expéditeur",
    "Destinataires notifiés",
    "Réponse attendue avant le (Paris)",
    "Première lecture (Paris)",
    "Réponse hors délai",
    "Pièces jointes",
    "Échec du courriel",
    "Empreinte SHA-256",
]


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(
        organisation=buyer.organisation, created_by=buyer.user, reference="2026-VOIRIE-07"
    )


@pytest.fixture
def exchanges(
    consultation, buyer, company_user, other_company_user, clock, django_capture_on_commit_callbacks
):
    """A request for documents with a date, read then answered late with a file; a free
    message to another company whose e-mail failed."""
    download_record(consultation, company_user)
    download_record(consultation, other_company_user)
    clock.set(ASKED_AT)
    with django_capture_on_commit_callbacks(execute=True):
        (request,) = message_send(
            user=buyer.user,
            consultation=consultation,
            companies=[company_user.company],
            kind=Kind.DOCUMENTS_REQUEST,
            subject="=Pièces manquantes",
            body="Merci d'envoyer le Kbis et l'attestation d'assurance.",
            answer_due_at=DUE_AT,
            files=[SimpleUploadedFile("liste.pdf", PDF)],
        )
    clock.set(READ_AT)
    message_read(user=company_user.user, message=request)
    clock.set(OTHER_AT)
    # Its e-mail is given up before it could leave (the commit's callbacks never ran).
    (other,) = message_send(
        user=buyer.user,
        consultation=consultation,
        companies=[other_company_user.company],
        kind=Kind.FREE,
        subject="Visite du site",
        body="La visite aura lieu jeudi.",
    )
    delivery_fail(delivery_id=other.deliveries.get().pk)
    clock.set(REPLIED_AT)
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_reply(
            user=company_user.user,
            message=request,
            body="Voici les pièces.",
            files=[SimpleUploadedFile("kbis.pdf", PDF), SimpleUploadedFile("assurance.pdf", PDF + b" ")],
        )
    for message in (request, other, reply):
        message.refresh_from_db()
    return {"request": request, "other": other, "reply": reply}


def export(client, consultation, fmt, kind="echanges"):
    return client.get(reverse("consultations:register", args=[consultation.pk, kind, fmt]))


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def person(user) -> str:
    return f"{user.first_name} {user.last_name} ({user.email})"


# --- The register of exchanges --------------------------------------------------------


def test_the_exchanges_register_in_csv_lists_every_message_both_ways(
    client, consultation, exchanges, buyer, company_user, other_company_user, clock
):
    # GIVEN three messages on the consultation, and the export a few days later
    clock.set(datetime(2026, 3, 12, 9, 0, 7, tzinfo=PARIS))
    client.force_login(buyer.user)

    # WHEN an agent exports the register of exchanges in CSV
    response = export(client, consultation, "csv")

    # THEN it is a French CSV, named after the consultation
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="registre-echanges-2026-VOIRIE-07.csv"'
    rows = read_csv(response.content)
    assert rows[0] == ["Registre des échanges"]
    assert rows[3] == ["Exporté le", "12/03/2026 09:00:07"]
    header = rows.index(EXCHANGES_HEADER)
    request, other, reply = exchanges["request"], exchanges["other"], exchanges["reply"]
    # AND one row per message, in sending order, with who, when, to whom and the hash
    assert rows[header + 1] == [
        "03/03/2026 10:15:07",
        "Acheteur vers entreprise",
        "Demande de compléments",
        "Bâtiment Ouest",
        company_user.company.siret,
        "'=Pièces manquantes",  # a spreadsheet shows it, never runs it
        person(buyer.user),
        company_user.user.email,
        "10/03/2026 12:00:00",
        "04/03/2026 08:30:45",
        "Non",
        "1",
        "Non",
        request.content_sha256,
    ]
    assert rows[header + 2] == [
        "05/03/2026 16:00:00",
        "Acheteur vers entreprise",
        "Message libre",
        "Travaux Est",
        other_company_user.company.siret,
        "Visite du site",
        person(buyer.user),
        other_company_user.user.email,
        "",
        "",
        "Non",
        "0",
        "Oui",
        other.content_sha256,
    ]
    assert rows[header + 3] == [
        "11/03/2026 09:00:01",
        "Entreprise vers acheteur",
        "Réponse de l'entreprise",
        "Bâtiment Ouest",
        company_user.company.siret,
        "Re : =Pièces manquantes",
        person(company_user.user),
        buyer.user.email,
        "",
        "",
        "Oui",
        "2",
        "Non",
        reply.content_sha256,
    ]
    assert len(rows) == header + 4


def test_the_recipients_are_every_address_notified_sorted(consultation, buyer, company_user, clock):
    colleague = CompanyUserFactory(company=company_user.company, user__email="aaa.collegue@exemple.fr")
    download_record(consultation, company_user)
    download_record(consultation, colleague)
    message_send(
        user=buyer.user,
        consultation=consultation,
        companies=[company_user.company],
        kind=Kind.FREE,
        subject="Information",
        body="Texte.",
    )

    (row,) = register_build(consultation, "echanges", exported_at=T0).rows()

    assert row[7] == f"aaa.collegue@exemple.fr, {company_user.user.email}"


def test_the_exchanges_register_in_xlsx_keeps_dates_as_dates(client, consultation, exchanges, buyer):
    from openpyxl import load_workbook

    client.force_login(buyer.user)

    sheet = load_workbook(io.BytesIO(export(client, consultation, "xlsx").content)).active

    cells = [list(row) for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(cells) if row[0].value == "Envoyé le (Paris)")
    assert [cell.value for cell in cells[header]] == EXCHANGES_HEADER
    first = cells[header + 1]
    assert first[0].value == datetime(2026, 3, 3, 10, 15, 7)
    assert first[0].number_format == "DD/MM/YYYY HH:MM:SS"
    assert first[9].value == datetime(2026, 3, 4, 8, 30, 45)
    assert first[5].data_type == "s" and first[5].value == "=Pièces manquantes"
    assert len(cells) == header + 4


def test_the_exchanges_register_in_pdf(client, consultation, exchanges, buyer):
    client.force_login(buyer.user)

    response = export(client, consultation, "pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert pdf_title(response.content) == "Registre des échanges — 2026-VOIRIE-07"


def test_the_register_is_streamed_with_one_query_for_the_recipients_per_chunk(
    consultation, buyer, company_user, clock, monkeypatch
):
    # GIVEN twelve messages, and chunks of five rows
    download_record(consultation, company_user)
    for n in range(12):
        clock.advance(minutes=1)
        message_send(
            user=buyer.user,
            consultation=consultation,
            companies=[company_user.company],
            kind=Kind.FREE,
            subject=f"Message {n}",
            body="Texte.",
        )
    monkeypatch.setattr(registers, "CHUNK_SIZE", 5)
    register = register_build(consultation, "echanges", exported_at=clock())

    # WHEN its rows are read
    with CaptureQueriesContext(connection) as queries:
        rows = list(register.rows())

    # THEN one query reads the messages and one per chunk their recipients
    assert len(rows) == register.count == 12
    assert [row[5] for row in rows] == [f"Message {n}" for n in range(12)]
    assert all(row[7] == company_user.user.email for row in rows)
    assert len(queries) == 1 + 3


def test_the_exchanges_count_beside_the_others(consultation, exchanges):
    assert register_counts(consultation)["echanges"] == 3
    assert str(REGISTER_LABELS["echanges"]) == "Registre des échanges"


def test_the_register_of_another_consultation_is_empty(consultation, exchanges, buyer):
    elsewhere = consultation_online(organisation=buyer.organisation, created_by=buyer.user)

    register = register_build(elsewhere, "echanges", exported_at=T0)

    assert register.count == 0
    assert list(register.rows()) == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_only_agents_of_the_organisation_export_the_register_of_exchanges(
    client, consultation, exchanges, other_organisation, company_user, fmt
):
    url = reverse("consultations:register", args=[consultation.pk, "echanges", fmt])

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(AgentFactory(organisation=other_organisation, can_create=True).user)
    assert client.get(url).status_code == 404
    client.force_login(company_user.user)
    assert client.get(url).status_code == 403


# --- The proof of one message ----------------------------------------------------------


def text_of(html: str) -> str:
    """The page's text, tags dropped and spaces collapsed."""
    import html as html_module

    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_proof_states_who_sent_what_to_whom_when_and_the_first_reading(
    consultation, exchanges, buyer, company_user
):
    # GIVEN the buyer's request, read by the company
    request = exchanges["request"]
    produced_at = datetime(2026, 3, 12, 17, 45, 3, tzinfo=PARIS)

    # WHEN its proof is produced
    text = text_of(message_proof_html(request, produced_at=produced_at))

    # THEN it names the platform, the consultation, both parties and the message
    assert "Preuve d'échange — 2026-VOIRIE-07" in text
    assert "Salle des marchés publics" in text
    assert f"2026-VOIRIE-07 — {consultation.title}" in text
    assert consultation.organisation.name in text
    assert f"Bâtiment Ouest (SIRET {company_user.company.siret})" in text
    assert "Demande de compléments" in text and "=Pièces manquantes" in text
    # AND when it was sent, in Paris time to the second and in UTC, and by whom
    assert "03/03/2026 à 10:15:07 (heure de Paris) — UTC 2026-03-03T09:15:07+00:00" in text
    assert f"{buyer.user.get_full_name()} <{buyer.user.email}>" in text
    # AND each e-mail sent, the date asked, and the first reading with its reader
    assert f"{company_user.user.email} Envoyé 03/03/2026 10:15:07 1" in text
    assert "10/03/2026 à 12:00:00" in text
    assert "04/03/2026 à 08:30:45 (heure de Paris) — UTC 2026-03-04T07:30:45+00:00" in text
    assert f"par {company_user.user.get_full_name()} <{company_user.user.email}>" in text
    # AND the attachment, the text, the hash, that it is intact, and when the proof was made
    assert f"liste.pdf {len(PDF)} {hashlib.sha256(PDF).hexdigest()}" in text
    assert "Merci d'envoyer le Kbis et l'attestation d'assurance." in text
    assert request.content_sha256 in text
    assert "Intact : le contenu enregistré redonne l'empreinte calculée à l'envoi." in text
    assert "Comment recalculer l'empreinte" in text
    assert "Preuve établie le 12/03/2026 à 17:45:03 (heure de Paris) — UTC 2026-03-12T16:45:03+00:00." in text


def test_the_proof_holds_the_canonical_document_whose_sha256_is_the_hash(exchanges):
    request = exchanges["request"]
    html = message_proof_html(request, produced_at=T0 + timedelta(days=20))

    import html as html_module

    canonical = html_module.unescape(re.search(r'<div class="canonical">(.*?)</div>', html, re.S).group(1))

    assert hashlib.sha256(canonical.encode()).hexdigest() == request.content_sha256


def test_the_proof_of_an_unread_message_says_so_at_its_date(exchanges, other_company_user):
    other = exchanges["other"]

    text = text_of(message_proof_html(other, produced_at=datetime(2026, 3, 6, 9, 0, tzinfo=PARIS)))

    assert "Non lu à la date du 06/03/2026 à 09:00:00" in text
    assert f"{other_company_user.user.email} Échec définitif" in text
    assert "Aucune pièce jointe." in text
    assert "Aucune réponse demandée" in text


def test_the_proof_of_a_late_answer_says_what_it_answers_and_that_it_is_late(exchanges, buyer):
    reply, request = exchanges["reply"], exchanges["request"]

    text = text_of(message_proof_html(reply, produced_at=REPLIED_AT + timedelta(hours=1)))

    assert "Entreprise vers acheteur" in text
    assert f"message n° {request.pk} « =Pièces manquantes » du 03/03/2026 à 10:15:07" in text
    assert "Réponse envoyée après la date demandée (hors délai)" in text
    assert f"{buyer.user.email} Envoyé" in text
    assert "kbis.pdf" in text and "assurance.pdf" in text


def test_the_proof_of_a_message_whose_content_no_longer_matches_says_it_is_altered(
    consultation, buyer, company_user, clock
):
    # GIVEN a stored message whose content does not give back its hash
    thread = Thread.objects.create(consultation=consultation, company=company_user.company, created_at=T0)
    message = Message.objects.create(
        thread=thread,
        direction=Direction.TO_COMPANY,
        kind=Kind.FREE,
        subject="Objet",
        body="Texte modifié",
        sent_at=T0,
        sent_by=buyer.user,
        content_sha256="0" * 64,
    )

    text = text_of(message_proof_html(message, produced_at=T0))

    assert "Altéré : le contenu enregistré ne redonne plus l'empreinte calculée à l'envoi." in text
    assert "Intact" not in text


def test_the_proof_is_a_one_page_a4_pdf_dated_by_the_platform_clock(exchanges, clock):
    clock.set(datetime(2026, 3, 12, 17, 45, 3, tzinfo=PARIS))
    request = exchanges["request"]

    content = message_proof_pdf(request)

    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    streams = pdf_streams(content)
    assert pdf_title(content) == f"Preuve d'échange — 2026-VOIRIE-07 — message n° {request.pk}"
    assert int(re.search(rb"/Count (\d+)", streams).group(1)) == 1
    width, height = map(float, re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", streams).groups())
    assert (round(width), round(height)) == (595, 842)
    assert b"/CreationDate (D:20260312164503" in streams
    # AND the proof carries the platform's seal, dated by the platform's timestamp
    from signatures.platform import pdf_check

    check = pdf_check(content)
    assert check.valid, check.message
    assert check.signed_at == datetime(2026, 3, 12, 17, 45, 3, tzinfo=PARIS)


# --- The admin ---------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, db):
    superuser = User.objects.create_superuser(
        email="admin@exemple.fr", password="Mot-de-passe-admin-2026", first_name="Ada", last_name="Admin"
    )
    login_verified(client, superuser)
    return client


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_the_admin_shows_the_records_of_the_messaging_read_only(admin_client, exchanges):
    request = exchanges["request"]
    records = {
        Thread: request.thread,
        Message: request,
        request.attachments.model: request.attachments.get(),
        Delivery: request.deliveries.get(),
    }
    for model, obj in records.items():
        assert admin_client.get(admin_url(model, "changelist"), {"q": "2026"}).status_code == 200
        page = admin_client.get(admin_url(model, "change", obj.pk))
        assert page.status_code == 200
        assert admin_client.get(admin_url(model, "add")).status_code == 403
        assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
        assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    message_page = admin_client.get(admin_url(Message, "change", request.pk)).content.decode()
    assert "liste.pdf" in message_page and request.deliveries.get().email in message_page
    assert Message.objects.filter(pk=request.pk, subject="=Pièces manquantes").exists()


def test_the_admin_edits_the_message_templates_and_lists_the_placeholders(admin_client):
    # GIVEN the template of each kind the platform starts with
    template = MessageTemplate.objects.get(kind=Kind.NEGOTIATION)
    url = admin_url(MessageTemplate, "change", template.pk)

    # WHEN an administrator opens and changes it
    page = admin_client.get(url).content.decode()
    response = admin_client.post(
        url, {"kind": Kind.NEGOTIATION, "subject": "Invitation à négocier — {reference}", "body": "{titre}"}
    )

    # THEN the page lists every placeholder, and the new text is kept
    for placeholder in ("{reference}", "{titre}", "{acheteur}", "{entreprise}", "{date_limite}", "{lien}"):
        assert placeholder in page
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.subject, template.body) == ("Invitation à négocier — {reference}", "{titre}")


def test_the_admin_keeps_one_template_per_kind(admin_client):
    response = admin_client.post(
        admin_url(MessageTemplate, "add"), {"kind": Kind.NEGOTIATION, "subject": "Doublon", "body": "Texte"}
    )

    assert response.status_code == 200
    assert MessageTemplate.objects.filter(kind=Kind.NEGOTIATION).count() == 1
