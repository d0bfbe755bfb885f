"""The company's side of the messaging, through its pages: the inbox, a thread, a message
(its opening is the legal first reading), the answer with files, attachments and proofs."""

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from messaging.models import Attachment, Direction, Kind, Message
from messaging.services.sending import message_read, message_send
from tests.conftest import links_in
from tests.factories import T0, AgentFactory, CompanyUserFactory, consultation_online, download_record

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
EMPTY_ANSWER = "Votre réponse est vide : écrivez son texte."
LATE_WARNING = "La date de réponse demandée est passée : votre réponse sera reçue et marquée hors délai."
NO_ANTIVIRUS = "Les pièces jointes ne sont pas analysées par un antivirus sur cette plateforme."
FILES_AGAIN = "choisissez-les de nouveau"


@pytest.fixture
def consultation(buyer, clock):
    consultation = consultation_online(
        organisation=buyer.organisation, created_by=buyer.user, reference="2026-MSG-01"
    )
    return consultation


@pytest.fixture
def contact(consultation, company_user):
    """The company downloaded the DCE identified: the buyer may write to it."""
    download_record(consultation, company_user)
    return company_user


def send(buyer, consultation, company_user, **fields) -> Message:
    values = {
        "kind": Kind.DOCUMENTS_REQUEST,
        "subject": "Pièces manquantes",
        "body": "Merci d'envoyer le Kbis.",
    }
    values.update(fields)
    (message,) = message_send(
        user=buyer.user, consultation=consultation, companies=[company_user.company], **values
    )
    return message


def pdf(name="kbis.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def message_url(message):
    return reverse("messaging:company_message", args=[message.pk])


def reply_url(message):
    return reverse("messaging:company_reply", args=[message.pk])


def thread_url(message):
    return reverse("messaging:company_thread", args=[message.thread_id])


def text_of(response) -> str:
    """The page's text without tags, spaces collapsed: what a reader sees."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# --- Reading ------------------------------------------------------------------------------------


def test_opening_a_message_records_its_first_reading_once_for_the_whole_company(
    client, buyer, consultation, contact, clock
):
    # GIVEN a message to the company and a colleague of the reader
    message = send(buyer, consultation, contact, body="Merci d'envoyer le Kbis.\nEt l'attestation URSSAF.")
    colleague = CompanyUserFactory(company=contact.company)
    clock.set(T0 + timedelta(hours=1, seconds=7))
    client.force_login(contact.user)

    # WHEN the company user opens it
    response = client.get(message_url(message))

    # THEN the reading is recorded at that second and shown
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.first_read_at == T0 + timedelta(hours=1, seconds=7)
    assert message.first_read_by == contact.user
    page = text_of(response)
    assert "Merci d'envoyer le Kbis." in page and "Et l'attestation URSSAF." in page
    assert "Première lecture 02/03/2026 à 10:00:07 (heure de Paris)" in page
    assert "Envoyé le 02/03/2026 à 09:00:00 (heure de Paris)" in page
    assert "Demande de compléments" in page
    assert consultation.organisation.name in page

    # WHEN it is opened again later, and by a colleague
    clock.advance(days=1)
    client.get(message_url(message))
    client.force_login(colleague.user)
    again = client.get(message_url(message))

    # THEN the first reading never changes
    message.refresh_from_db()
    assert message.first_read_at == T0 + timedelta(hours=1, seconds=7)
    assert message.first_read_by == contact.user
    assert "Première lecture 02/03/2026 à 10:00:07" in text_of(again)


def test_the_inbox_and_the_thread_list_record_no_reading(client, buyer, consultation, contact, clock):
    message = send(buyer, consultation, contact)
    client.force_login(contact.user)

    inbox = client.get(reverse("messaging:company_inbox"))
    thread = client.get(thread_url(message))

    assert inbox.status_code == thread.status_code == 200
    message.refresh_from_db()
    assert message.first_read_at is None
    assert "Non lu" in text_of(thread)


def test_an_agent_opening_the_message_on_the_buyer_side_is_not_a_reading(
    client, buyer, consultation, contact, clock
):
    message = send(buyer, consultation, contact)

    assert message_read(user=buyer.user, message=message) is False

    message.refresh_from_db()
    assert message.first_read_at is None
    # The first company reading still counts afterwards.
    client.force_login(contact.user)
    client.get(message_url(message))
    message.refresh_from_db()
    assert message.first_read_by == contact.user


def test_the_body_is_shown_with_its_lines_and_escaped(client, buyer, consultation, contact, clock):
    message = send(buyer, consultation, contact, body="<script>alert('x')</script>\n\nSecond paragraphe")
    client.force_login(contact.user)

    html = client.get(message_url(message)).content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<p>Second paragraphe</p>" in html


def test_the_inbox_counts_unread_messages_and_the_count_goes_down_after_reading(
    client, buyer, consultation, contact, clock
):
    # GIVEN two unread messages in one thread
    first = send(buyer, consultation, contact, subject="Premier")
    send(buyer, consultation, contact, subject="Second")
    client.force_login(contact.user)

    before = text_of(client.get(reverse("messaging:company_inbox")))
    assert "2026-MSG-01" in before
    assert "2 non lus" in before
    assert "Messagerie (2 non lus)" in before  # the menu
    assert "Vous avez 2 messages non lus" in text_of(client.get(reverse("accounts:company_space")))

    # WHEN one is opened
    client.get(message_url(first))

    # THEN one remains unread, in the inbox and in the menu
    after = text_of(client.get(reverse("messaging:company_inbox")))
    assert "1 non lu" in after and "2 non lus" not in after
    assert "Messagerie (1 non lu)" in after


def test_the_menu_shows_the_messaging_only_to_company_users(client, buyer, contact, clock):
    client.force_login(buyer.user)
    assert "Messagerie" not in text_of(client.get(reverse("accounts:buyer_space")))

    client.force_login(contact.user)
    page = client.get(reverse("accounts:company_space")).content.decode()
    assert reverse("messaging:company_inbox") in page


def test_the_thread_lists_every_message_in_order_with_its_state(client, buyer, consultation, contact, clock):
    # GIVEN a request with a date, read and answered, then a second message unread
    asked = send(
        buyer, consultation, contact, subject="Compléments", answer_due_at=T0 + timedelta(days=3, hours=3)
    )
    client.force_login(contact.user)
    clock.advance(minutes=30)
    client.get(message_url(asked))
    clock.advance(minutes=5)
    client.post(reply_url(asked), {"body": "Voici le Kbis."})
    clock.advance(hours=1)
    send(buyer, consultation, contact, kind=Kind.FREE, subject="Merci")

    page = text_of(client.get(thread_url(asked)))

    assert page.index("Compléments") < page.index("Re : Compléments") < page.index("Merci")
    assert "02/03/2026 09:00:00 Reçu de l'acheteur Demande de compléments Compléments" in page
    assert "Lu le 02/03/2026 à 09:30:00" in page
    assert "Réponse attendue avant le 05/03/2026 à 12:00:00" in page
    assert "Répondu" in page
    assert "02/03/2026 09:35:00 Envoyé par votre entreprise Réponse de l'entreprise Re : Compléments" in page
    assert "Message libre Merci" in page and "Non lu" in page
    assert "Hors délai" not in page


# --- Other companies, other users ---------------------------------------------------------------


@pytest.fixture
def message_with_file(buyer, consultation, contact):
    return send(buyer, consultation, contact, files=[pdf()])


@pytest.mark.parametrize("page", ["message", "thread", "attachment", "reply", "proof"])
def test_company_b_never_reaches_anything_of_company_a(
    client, message_with_file, other_company_user, clock, page
):
    message = message_with_file
    attachment = message.attachments.get()
    urls = {
        "message": message_url(message),
        "thread": thread_url(message),
        "attachment": reverse("messaging:company_attachment", args=[message.pk, attachment.pk]),
        "reply": reply_url(message),
        "proof": reverse("messaging:company_proof", args=[message.pk]),
    }
    client.force_login(other_company_user.user)

    if page == "reply":
        response = client.post(urls[page], {"body": "Je réponds à la place d'un autre."})
    else:
        response = client.get(urls[page])

    assert response.status_code == 404
    message.refresh_from_db()
    assert message.first_read_at is None
    assert not Message.objects.filter(direction=Direction.TO_BUYER).exists()
    inbox = text_of(client.get(reverse("messaging:company_inbox")))
    assert "2026-MSG-01" not in inbox


def test_an_attachment_of_another_message_is_not_found(client, buyer, consultation, contact, clock):
    with_file = send(buyer, consultation, contact, files=[pdf()])
    without = send(buyer, consultation, contact, subject="Autre")
    client.force_login(contact.user)

    response = client.get(
        reverse("messaging:company_attachment", args=[without.pk, with_file.attachments.get().pk])
    )

    assert response.status_code == 404


def test_agents_do_not_use_the_company_pages(client, message_with_file, buyer, clock):
    client.force_login(buyer.user)

    assert client.get(message_url(message_with_file)).status_code == 403
    assert client.get(reverse("messaging:company_inbox")).status_code == 403


# --- E-mail link while logged out ---------------------------------------------------------------


def test_the_email_link_opened_logged_out_leads_to_the_message_after_login(
    client, buyer, consultation, contact, password, clock, mailoutbox, django_capture_on_commit_callbacks
):
    # GIVEN the e-mail telling the company of a message
    with django_capture_on_commit_callbacks(execute=True):
        message = send(buyer, consultation, contact)
    (link,) = [url for url in links_in(mailoutbox[0]) if "/entreprise/messages/" in url]
    path = urlsplit(link).path

    # WHEN the company follows it while logged out
    response = client.get(path)

    # THEN it is asked to log in, and then lands straight on the message
    assert response.status_code == 302
    login_url = response["Location"]
    assert login_url.startswith(reverse("accounts:login")) and "next=" in login_url
    login_page = client.get(login_url).content.decode()
    assert f'name="next" value="{path}"' in login_page
    message.refresh_from_db()
    assert message.first_read_at is None  # the redirect is no reading

    logged_in = client.post(login_url, {"username": contact.user.email, "password": password, "next": path})
    assert logged_in.status_code == 302 and logged_in["Location"] == path
    assert client.get(logged_in["Location"]).status_code == 200
    message.refresh_from_db()
    assert message.first_read_by == contact.user


def test_the_email_link_survives_the_two_factor_step(client, buyer, consultation, contact, password, clock):
    # GIVEN a company user protected by a TOTP code
    device = TOTPDevice.objects.create(user=contact.user, name="app", confirmed=True)
    message = send(buyer, consultation, contact)
    path = message_url(message)

    login_url = client.get(path)["Location"]
    step = client.post(login_url, {"username": contact.user.email, "password": password, "next": path})
    assert step["Location"] == reverse("accounts:login_otp")

    # WHEN the code is typed
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    done = client.post(reverse("accounts:login_otp"), {"token": f"{totp.token():0{device.digits}d}"})

    # THEN the message opens
    assert done.status_code == 302 and done["Location"] == path
    assert client.get(path).status_code == 200


# --- Answering ----------------------------------------------------------------------------------


def test_the_company_answers_with_an_attachment_and_the_agent_gets_one_email_without_content(
    client, buyer, consultation, contact, clock, mailoutbox, django_capture_on_commit_callbacks
):
    # GIVEN a request for documents that the company opened
    message = send(buyer, consultation, contact)
    client.force_login(contact.user)
    client.get(message_url(message))
    mailoutbox.clear()
    clock.set(T0 + timedelta(hours=2, seconds=3))

    # WHEN it answers with a PDF
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reply_url(message), {"body": "Voici notre Kbis confidentiel.", "files": [pdf("Kbis 2026.pdf")]}
        )

    # THEN the answer is stored with its file, the page says when it left
    reply = Message.objects.get(direction=Direction.TO_BUYER)
    assert response.status_code == 302
    assert response["Location"] == f"{thread_url(message)}#message-{reply.pk}"
    assert reply.in_reply_to == message and reply.kind == Kind.REPLY and not reply.is_late
    assert reply.body == "Voici notre Kbis confidentiel."
    (attachment,) = reply.attachments.all()
    assert attachment.name == "Kbis 2026.pdf" and attachment.size == len(PDF)
    assert attachment.blob.read() == PDF
    followed = text_of(client.get(response["Location"]))
    assert "Votre réponse a été envoyée le 02/03/2026 à 11:00:03" in followed
    assert "Re : Pièces manquantes" in followed
    # AND the agent who wrote gets exactly one e-mail, with the link and without the content
    (mail,) = mailoutbox
    assert mail.to == [buyer.user.email]
    assert reverse("messaging:buyer_message", args=[consultation.pk, reply.pk]) in mail.body
    assert "Accéder au contenu du message" in mail.body
    assert "confidentiel" not in mail.body and "Kbis 2026" not in mail.body


def test_an_answer_may_carry_several_files(client, buyer, consultation, contact, clock):
    message = send(buyer, consultation, contact)
    client.force_login(contact.user)

    client.post(
        reply_url(message),
        {"body": "Deux pièces.", "files": [pdf("kbis.pdf"), SimpleUploadedFile("note.txt", b"Bonjour")]},
    )

    reply = Message.objects.get(direction=Direction.TO_BUYER)
    assert sorted(reply.attachments.values_list("name", flat=True)) == ["kbis.pdf", "note.txt"]


def test_the_company_downloads_an_attachment_under_its_name(client, buyer, consultation, contact, clock):
    message = send(buyer, consultation, contact, files=[pdf("Règlement modifié.pdf")])
    attachment = message.attachments.get()
    client.force_login(contact.user)

    page = client.get(message_url(message)).content.decode()
    response = client.get(reverse("messaging:company_attachment", args=[message.pk, attachment.pk]))

    assert reverse("messaging:company_attachment", args=[message.pk, attachment.pk]) in page
    assert "Règlement modifié.pdf" in page
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;")
    assert "R%C3%A8glement%20modifi%C3%A9.pdf" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]


def test_an_empty_answer_is_refused_in_french_and_nothing_is_sent(
    client, buyer, consultation, contact, clock, mailoutbox, django_capture_on_commit_callbacks
):
    message = send(buyer, consultation, contact)
    client.force_login(contact.user)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reply_url(message), {"body": "   \n  "})

    assert response.status_code == 200
    assert EMPTY_ANSWER in text_of(response)
    assert response.context["form"].errors["body"] == [EMPTY_ANSWER]
    assert not Message.objects.filter(direction=Direction.TO_BUYER).exists()
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (
            SimpleUploadedFile("outil.exe", b"MZ\x90\x00binary"),
            "Le type de fichier « .exe » n'est pas accepté",
        ),
        (
            SimpleUploadedFile("devis.pdf", b"MZ\x90\x00\x03\x00\x00\x00 executable"),
            "Le contenu du fichier « devis.pdf » ne correspond pas à un fichier « .pdf »",
        ),
    ],
    ids=["exe", "executable-named-pdf"],
)
def test_a_forbidden_file_is_refused_with_its_reason_and_the_text_is_kept(
    client, buyer, consultation, contact, clock, upload, reason
):
    message = send(buyer, consultation, contact)
    client.force_login(contact.user)

    response = client.post(reply_url(message), {"body": "Mon texte à garder", "files": [upload]})

    assert response.status_code == 200
    page = text_of(response)
    assert reason in page
    assert "Mon texte à garder" in page
    assert FILES_AGAIN in page
    assert not Message.objects.filter(direction=Direction.TO_BUYER).exists()
    assert not Attachment.objects.exclude(message=message).exists()


def test_a_file_too_large_is_refused(client, buyer, consultation, contact, clock, settings):
    message = send(buyer, consultation, contact)
    settings.MESSAGE_ATTACHMENT_MAX_BYTES = 20
    client.force_login(contact.user)

    response = client.post(reply_url(message), {"body": "Le dossier complet.", "files": [pdf("gros.pdf")]})

    assert response.status_code == 200
    page = text_of(response)
    assert "Le fichier « gros.pdf » dépasse la taille maximale de 20 octets." in page
    assert "Le dossier complet." in page
    assert not Message.objects.filter(direction=Direction.TO_BUYER).exists()


def test_the_form_tells_formats_size_and_that_files_are_not_scanned(
    client, buyer, consultation, contact, clock, settings
):
    message = send(buyer, consultation, contact)
    settings.CLAMD_URL = ""
    settings.MESSAGE_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
    client.force_login(contact.user)

    page = text_of(client.get(message_url(message)))

    assert NO_ANTIVIRUS in page
    assert "Taille maximale : 5,0 Mio par fichier" in page
    assert ".docx, .dwg" in page and ".pdf" in page

    settings.CLAMD_URL = "tcp://127.0.0.1:3310"
    scanned = text_of(client.get(message_url(message)))
    assert NO_ANTIVIRUS not in scanned
    assert "analysé par un antivirus" in scanned


def test_a_late_answer_is_accepted_marked_late_and_shown_late(client, buyer, consultation, contact, clock):
    # GIVEN a request with an answer date, then the clock passes it
    message = send(buyer, consultation, contact, answer_due_at=T0 + timedelta(days=2))
    client.force_login(contact.user)
    assert LATE_WARNING not in text_of(client.get(message_url(message)))
    clock.set(T0 + timedelta(days=2))

    # WHEN the company opens it and answers
    page = text_of(client.get(message_url(message)))
    response = client.post(reply_url(message), {"body": "Désolé du retard."}, follow=True)

    # THEN it was told, the answer is kept and marked late everywhere
    assert LATE_WARNING in page
    assert "Réponse attendue avant le 04/03/2026 à 09:00:00" in page
    reply = Message.objects.get(direction=Direction.TO_BUYER)
    assert reply.is_late
    thread_page = text_of(response)
    assert "Hors délai" in thread_page
    assert "marquée hors délai" in thread_page
    assert "Hors délai" in text_of(client.get(message_url(reply)))


def test_an_answer_on_time_is_not_late(client, buyer, consultation, contact, clock):
    message = send(buyer, consultation, contact, answer_due_at=T0 + timedelta(days=2))
    client.force_login(contact.user)
    clock.set(T0 + timedelta(days=2) - timedelta(seconds=1))

    client.post(reply_url(message), {"body": "À temps."})

    assert not Message.objects.get(direction=Direction.TO_BUYER).is_late


def test_the_company_does_not_answer_its_own_answer(client, buyer, consultation, contact, clock):
    message = send(buyer, consultation, contact)
    client.force_login(contact.user)
    client.post(reply_url(message), {"body": "Première réponse."})
    reply = Message.objects.get(direction=Direction.TO_BUYER)

    page = client.get(message_url(reply)).content.decode()
    response = client.post(reply_url(reply), {"body": "Réponse à ma réponse."}, follow=True)

    assert reply_url(reply) not in page  # no form on its own answer
    assert "On ne répond qu'à un message de l'acheteur." in text_of(response)
    assert Message.objects.filter(direction=Direction.TO_BUYER).count() == 1


def test_an_answer_sent_without_opening_the_page_first_still_records_the_reading(
    client, buyer, consultation, contact, clock
):
    message = send(buyer, consultation, contact)
    client.force_login(contact.user)
    clock.advance(minutes=12)

    client.post(reply_url(message), {"body": "Réponse directe."})

    message.refresh_from_db()
    assert message.first_read_at == T0 + timedelta(minutes=12)
    assert message.first_read_at <= Message.objects.get(direction=Direction.TO_BUYER).sent_at


def test_the_answer_page_is_only_written_by_post(client, buyer, consultation, contact, clock):
    message = send(buyer, consultation, contact)
    client.force_login(contact.user)

    response = client.get(reply_url(message))

    assert response.status_code == 302
    assert response["Location"] == message_url(message) + "#repondre"
    assert not Message.objects.filter(direction=Direction.TO_BUYER).exists()


def test_the_answer_needs_the_csrf_token(buyer, consultation, contact, clock):
    from django.test import Client

    message = send(buyer, consultation, contact)
    client = Client(enforce_csrf_checks=True)
    client.force_login(contact.user)

    assert client.post(reply_url(message), {"body": "Sans jeton."}).status_code == 403
    assert not Message.objects.filter(direction=Direction.TO_BUYER).exists()


def test_an_agent_of_another_organisation_cannot_read_for_the_company(buyer, consultation, contact, clock):
    message = send(buyer, consultation, contact)
    stranger = AgentFactory()

    assert message_read(user=stranger.user, message=message) is False
    message.refresh_from_db()
    assert message.first_read_at is None


# --- Proof --------------------------------------------------------------------------------------


def test_the_company_downloads_the_pdf_proof_of_its_message(client, buyer, consultation, contact, clock):
    message = send(buyer, consultation, contact)
    client.force_login(contact.user)
    client.get(message_url(message))

    response = client.get(reverse("messaging:company_proof", args=[message.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == f'attachment; filename="preuve-message-{message.pk}.pdf"'


def test_the_proof_holds_the_text_so_fetching_it_first_is_reading_the_message(
    client, buyer, consultation, contact, clock
):
    message = send(buyer, consultation, contact)
    client.force_login(contact.user)

    response = client.get(reverse("messaging:company_proof", args=[message.pk]))

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.first_read_at == clock() and message.first_read_by == contact.user
