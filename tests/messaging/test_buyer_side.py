"""The buyer's side of the messaging, through its pages: the consultation's inbox and its
filters, writing to one company, a selection or every identified downloader, a thread,
one message with its e-mails and reading, the attachments and the PDF proof."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Event
from consultations.models import Question
from messaging.models import AGENT_KINDS, Direction, Kind, Message, Thread
from messaging.services.sending import message_reply, message_send
from messaging.tasks import MAX_RETRIES, delivery_send
from tests.factories import (
    PARIS,
    T0,
    AgentFactory,
    CompanyUserFactory,
    ConsultationFactory,
    consultation_online,
    download_record,
)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
BODY = "Merci de nous transmettre votre attestation d'assurance décennale avant vendredi."
FAILED_FLAG = "Courriel non remis : prévenez l'entreprise par un autre moyen"
NO_ANTIVIRUS = "Les pièces jointes ne sont pas analysées par un antivirus sur cette plateforme."
FILES_AGAIN = "Choisissez-les de nouveau avant d'envoyer."


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(
        organisation=buyer.organisation, created_by=buyer.user, reference="2026-ACH-07"
    )


@pytest.fixture
def downloader(consultation, company_user):
    """« Bâtiment Ouest » downloaded the DCE identified: the buyer may write to it."""
    download_record(consultation, company_user)
    return company_user


@pytest.fixture
def agent_client(client, buyer):
    client.force_login(buyer.user)
    return client


def inbox_url(consultation, **query) -> str:
    url = reverse("messaging:buyer_inbox", args=[consultation.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def compose_url(consultation) -> str:
    return reverse("messaging:buyer_compose", args=[consultation.pk])


def message_url(message) -> str:
    return reverse("messaging:buyer_message", args=[message.thread.consultation_id, message.pk])


def text_of(response) -> str:
    """The page's text without tags, spaces collapsed: what a reader sees."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def form_fields(**fields) -> dict:
    values = {
        "kind": Kind.DOCUMENTS_REQUEST,
        "recipients": "one",
        "subject": "Pièces complémentaires",
        "body": BODY,
    }
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


def pdf(name="attestation.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def committed():
    """Run what waits for the commit (the e-mails), as after a real request."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def send(user, consultation, companies, **fields) -> list[Message]:
    values = {"kind": Kind.DOCUMENTS_REQUEST, "subject": "Pièces", "body": BODY}
    values.update(fields)
    with committed():
        return message_send(user=user, consultation=consultation, companies=companies, **values)


def inbox_subjects(response) -> list[str]:
    """The subjects of the inbox's message rows, in order."""
    html = response.content.decode()
    table = re.search(r'<table class="msg-list">.*?</table>', html, re.S).group(0)
    return [unescape(s) for s in re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', table)]


# --- Writing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [k.value for k in AGENT_KINDS])
def test_each_kind_of_message_is_sent_from_the_compose_page_and_reaches_the_company(
    agent_client, consultation, downloader, kind
):
    # GIVEN the model of this kind, chosen on the compose page
    page = agent_client.get(compose_url(consultation), {"type": kind})
    assert page.status_code == 200
    subject = page.context["form"]["subject"].value()
    assert subject

    # WHEN the agent sends it to the company
    with committed():
        response = agent_client.post(
            compose_url(consultation),
            form_fields(kind=kind, subject=subject, company=downloader.company.pk),
            follow=True,
        )

    # THEN the company has it in its thread, and an e-mail with a link but no content
    assert response.request["PATH_INFO"] == inbox_url(consultation)
    assert "Message envoyé à 1 entreprise le 02/03/2026 à 09:00:00." in text_of(response)
    message = Message.objects.get()
    assert message.kind == kind
    assert message.direction == Direction.TO_COMPANY
    assert message.thread == Thread.objects.get(consultation=consultation, company=downloader.company)
    assert message.body == BODY
    (email,) = mail.outbox
    assert email.to == [downloader.user.email]
    assert "Accéder au contenu du message" in email.body
    assert reverse("messaging:company_message", args=[message.pk]) in email.body
    assert "attestation d'assurance" not in email.body
    assert "attestation d'assurance" not in email.subject


def test_sending_to_all_downloaders_reaches_exactly_the_identified_downloaders(
    agent_client, consultation, downloader, clock
):
    # GIVEN two identified downloaders, a company that only asked a question, one that
    # downloaded anonymously and one that never came
    second = CompanyUserFactory(company__name="Charpentes du Nord")
    download_record(consultation, second)
    asker = CompanyUserFactory(company__name="Questions & Cie")
    Question.objects.create(
        consultation=consultation, company=asker.company, asked_by=asker.user, text="?", asked_at=T0
    )
    anonymous = CompanyUserFactory(company__name="Anonyme SARL")
    anonymous_client = Client()
    anonymous_client.force_login(anonymous.user)
    zip_response = anonymous_client.get(f"/consultations/{consultation.pk}/dce/", {"mode": "anonyme"})
    assert zip_response.status_code == 200
    CompanyUserFactory(company__name="Jamais venue")

    # WHEN the agent writes to « all the companies that downloaded the DCE »
    with committed():
        response = agent_client.post(compose_url(consultation), form_fields(recipients="downloaders"))

    # THEN exactly the two identified downloaders get it, each in its own thread
    assert response.status_code == 302
    reached = set(Message.objects.values_list("thread__company__name", flat=True))
    assert reached == {"Bâtiment Ouest", "Charpentes du Nord"}
    assert sorted(e.to[0] for e in mail.outbox) == sorted([downloader.user.email, second.user.email])
    assert len({m.batch for m in Message.objects.all()}) == 1


def test_a_selection_reaches_exactly_the_chosen_companies(agent_client, consultation, downloader):
    second = CompanyUserFactory(company__name="Charpentes du Nord")
    third = CompanyUserFactory(company__name="Zinguerie du Sud")
    download_record(consultation, second)
    download_record(consultation, third)

    with committed():
        response = agent_client.post(
            compose_url(consultation),
            form_fields(recipients="selection", companies=[downloader.company.pk, third.company.pk]),
            follow=True,
        )

    assert "Message envoyé à 2 entreprises le" in text_of(response)
    reached = set(Message.objects.values_list("thread__company__name", flat=True))
    assert reached == {"Bâtiment Ouest", "Zinguerie du Sud"}
    assert second.user.email not in [e.to[0] for e in mail.outbox]


@pytest.mark.parametrize("value", ["99999999999999999999999", "abc", "-1"])
def test_a_forged_company_id_in_a_selection_is_an_invalid_choice_not_an_error_page(
    agent_client, consultation, downloader, value
):
    response = agent_client.post(
        compose_url(consultation), form_fields(recipients="selection", companies=[value])
    )

    assert response.status_code == 200
    assert not Message.objects.exists()


def test_a_company_that_is_no_contact_of_the_consultation_cannot_be_chosen(
    agent_client, consultation, downloader
):
    stranger = CompanyUserFactory(company__name="Inconnue")

    response = agent_client.post(compose_url(consultation), form_fields(company=stranger.company.pk))

    assert response.status_code == 200
    assert response.context["form"].errors["company"]
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"body": "   "}, "body", "Le message est vide : écrivez son texte."),
        ({"subject": ""}, "subject", "Donnez un objet au message."),
        ({"company": None}, "company", "Choisissez l'entreprise destinataire."),
        ({"recipients": "selection"}, "companies", "Cochez au moins une entreprise destinataire."),
        ({"recipients": None}, "recipients", "Choisissez à qui envoyer le message."),
    ],
    ids=["empty-body", "no-subject", "no-company", "empty-selection", "no-recipients-choice"],
)
def test_a_refused_message_says_why_in_french_sends_nothing_and_keeps_what_was_typed(
    agent_client, consultation, downloader, fields, field, error
):
    values = form_fields(company=downloader.company.pk, **{"answer_due_date": "2026-03-10"})
    values["answer_due_time"] = "17:30"
    values.update({k: v for k, v in fields.items() if v is not None})
    for name, value in fields.items():
        if value is None:
            values.pop(name, None)

    response = agent_client.post(compose_url(consultation), values)

    assert response.status_code == 200
    form = response.context["form"]
    assert error in form.errors[field]
    page = text_of(response)
    assert error in page
    assert "Le formulaire contient" in page
    assert not Message.objects.exists()
    assert not mail.outbox
    html = response.content.decode()
    assert 'value="2026-03-10"' in html and 'value="17:30"' in html
    if field != "subject":
        assert 'value="Pièces complémentaires"' in html
    if field != "body":
        assert BODY in page
    if "company" in values:
        assert f'<option value="{downloader.company.pk}" selected>' in html


def test_a_past_answer_date_is_refused_and_nothing_is_sent(agent_client, consultation, downloader, clock):
    clock.set(T0 + timedelta(days=2))  # Wednesday 4 March 2026, 09:00

    response = agent_client.post(
        compose_url(consultation),
        form_fields(company=downloader.company.pk, answer_due_date="04/03/2026", answer_due_time="08:59:59"),
    )

    assert response.status_code == 200
    assert "La date de réponse attendue est déjà passée : choisissez une date à venir." in text_of(response)
    assert not Message.objects.exists()
    html = response.content.decode()
    assert 'value="04/03/2026"' in html and 'value="08:59:59"' in html
    assert BODY.split(" ")[0] in html


def test_a_half_given_or_invalid_answer_date_is_refused(agent_client, consultation, downloader):
    only_day = agent_client.post(
        compose_url(consultation), form_fields(company=downloader.company.pk, answer_due_date="2026-03-10")
    )
    bad_day = agent_client.post(
        compose_url(consultation),
        form_fields(company=downloader.company.pk, answer_due_date="31/02/2026", answer_due_time="12:00"),
    )

    assert "Indiquez aussi l'heure de réponse attendue." in text_of(only_day)
    assert "Date invalide (jj/mm/aaaa)." in text_of(bad_day)
    assert not Message.objects.exists()


def test_the_answer_date_is_paris_time_to_the_second(agent_client, consultation, downloader):
    agent_client.post(
        compose_url(consultation),
        form_fields(company=downloader.company.pk, answer_due_date="2026-03-10", answer_due_time="17:30:15"),
    )

    message = Message.objects.get()
    assert message.answer_due_at == T0.replace(day=10, hour=17, minute=30, second=15)
    assert message.answer_due_at.astimezone(PARIS).utcoffset() == timedelta(hours=1)


def test_the_template_prefill_shows_the_consultation_reference_without_javascript(
    agent_client, consultation, downloader
):
    page = agent_client.get(compose_url(consultation))
    html = page.content.decode()
    assert 'method="get"' in html and "Choisir ce modèle" in html

    prefilled = agent_client.get(compose_url(consultation), {"type": Kind.NEGOTIATION})

    form = prefilled.context["form"]
    assert form["kind"].value() == Kind.NEGOTIATION
    assert "2026-ACH-07" in form["subject"].value()
    assert "2026-ACH-07" in form["body"].value()
    assert "2026-ACH-07" in text_of(prefilled)
    assert "{reference}" not in prefilled.content.decode()


def test_a_company_given_in_the_address_is_preselected_and_named_in_the_template(
    agent_client, consultation, downloader
):
    response = agent_client.get(
        compose_url(consultation), {"entreprise": downloader.company.pk, "type": Kind.FREE}
    )

    form = response.context["form"]
    assert form["recipients"].value() == "one"
    assert str(form["company"].value()) == str(downloader.company.pk)
    # The model form keeps the company when another model is chosen.
    assert f'name="entreprise" value="{downloader.company.pk}"' in response.content.decode()


def test_the_compose_page_tells_formats_size_and_that_files_are_not_scanned(
    agent_client, consultation, downloader, settings
):
    settings.CLAMD_URL = ""
    settings.MESSAGE_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024

    page = text_of(agent_client.get(compose_url(consultation)))

    assert ".pdf" in page and ".docx" in page and ".zip" in page
    assert "Taille maximale : 5,0 Mio par fichier" in page
    assert NO_ANTIVIRUS in page


def test_several_files_are_sent_and_the_agent_downloads_them_with_their_names(
    agent_client, consultation, downloader
):
    response = agent_client.post(
        compose_url(consultation),
        {
            **form_fields(company=downloader.company.pk),
            "files": [pdf("courrier.pdf"), pdf("annexe.pdf", PDF + b"% annexe\n")],
        },
    )

    assert response.status_code == 302
    message = Message.objects.get()
    names = sorted(message.attachments.values_list("name", flat=True))
    assert names == ["annexe.pdf", "courrier.pdf"]
    attached = message.attachments.get(name="courrier.pdf")
    download = agent_client.get(
        reverse("messaging:buyer_attachment", args=[consultation.pk, message.pk, attached.pk])
    )
    assert download.status_code == 200
    assert 'attachment; filename="courrier.pdf"' in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == PDF


def test_a_refused_file_keeps_the_text_and_asks_to_choose_the_files_again(
    agent_client, consultation, downloader
):
    response = agent_client.post(
        compose_url(consultation),
        {
            **form_fields(company=downloader.company.pk),
            "files": [
                SimpleUploadedFile("outil.exe", b"MZ\x90\x00", content_type="application/octet-stream")
            ],
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["files"]
    assert "Le type de fichier « .exe » n'est pas accepté" in errors[0]
    page = text_of(response)
    assert FILES_AGAIN in page
    assert BODY in page
    assert not Message.objects.exists()


def test_a_validator_without_the_decide_permission_cannot_send_a_rejection_letter(
    client, consultation, downloader, validator
):
    client.force_login(validator.user)

    refused = client.post(
        compose_url(consultation), form_fields(kind=Kind.REJECTION, company=downloader.company.pk)
    )
    allowed = client.post(
        compose_url(consultation), form_fields(kind=Kind.FREE, company=downloader.company.pk)
    )

    assert refused.status_code == 200
    assert (
        "Seul un agent habilité à décider peut envoyer une « Lettre de rejet »."
        in (refused.context["form"].errors["kind"])
    )
    assert BODY in text_of(refused)
    assert allowed.status_code == 302
    assert list(Message.objects.values_list("kind", flat=True)) == [Kind.FREE]


def test_a_draft_consultation_has_no_messaging_yet(agent_client, buyer, clock):
    draft = ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user)

    page = text_of(agent_client.get(compose_url(draft)))

    assert "La messagerie s'ouvre à la mise en ligne de la consultation" in page
    assert "Envoyer le message" not in page


# --- The inbox --------------------------------------------------------------------------------


def test_the_inbox_lists_threads_messages_and_replies_with_their_state(
    agent_client, buyer, consultation, downloader, clock
):
    second = CompanyUserFactory(company__name="Charpentes du Nord")
    download_record(consultation, second)
    (asked,) = send(buyer.user, consultation, [downloader.company], answer_due_at=T0 + timedelta(days=1))
    send(buyer.user, consultation, [second.company], kind=Kind.FREE, subject="Visite du site")
    clock.advance(days=2)
    reply = message_reply(user=downloader.user, message=asked, body="Voici l'attestation.")

    response = agent_client.get(inbox_url(consultation))

    assert response.status_code == 200
    page = text_of(response)
    threads = {t.company.name: t for t in response.context["threads"]}
    assert set(threads) == {"Bâtiment Ouest", "Charpentes du Nord"}
    assert (threads["Bâtiment Ouest"].sent, threads["Bâtiment Ouest"].replies) == (1, 1)
    assert threads["Bâtiment Ouest"].unread_replies == 1
    assert inbox_subjects(response) == [reply.subject, "Visite du site", "Pièces"]
    assert "02/03/2026 09:00:00" in page and "04/03/2026 09:00:00" in page
    assert "Réponse de l'entreprise" in page and "hors délai" in page
    assert "Répondu" in page and "Non lu" in page
    assert "Réponse attendue avant le" in page and "03/03/2026 09:00:00" in page


def test_the_inbox_shows_the_date_of_first_reading(agent_client, buyer, consultation, downloader, clock):
    (message,) = send(buyer.user, consultation, [downloader.company])
    clock.advance(hours=3, seconds=7)
    company_client = Client()
    company_client.force_login(downloader.user)
    assert company_client.get(reverse("messaging:company_message", args=[message.pk])).status_code == 200

    page = text_of(agent_client.get(inbox_url(consultation)))

    assert "02/03/2026 12:00:07" in page
    assert "Lu" in page


@pytest.fixture
def states(buyer, consultation, downloader, clock):
    """One message in each state, the clock on Thursday 5 March 2026 at 09:00."""
    company = downloader.company
    (read,) = send(buyer.user, consultation, [company], subject="Lu")
    Message.objects.filter(pk=read.pk).update(
        first_read_at=T0 + timedelta(hours=1), first_read_by=downloader.user
    )
    send(buyer.user, consultation, [company], subject="Non lu", kind=Kind.FREE)
    (answered,) = send(
        buyer.user, consultation, [company], subject="Répondu", answer_due_at=T0 + timedelta(days=5)
    )
    send(buyer.user, consultation, [company], subject="En attente", answer_due_at=T0 + timedelta(days=5))
    send(buyer.user, consultation, [company], subject="En retard", answer_due_at=T0 + timedelta(days=1))
    (failed,) = send(buyer.user, consultation, [company], subject="Courriel perdu", kind=Kind.FREE)
    failed.email_failed = True
    failed.save(update_fields=["email_failed"])
    clock.advance(days=3)
    message_reply(user=downloader.user, message=answered, body="Réponse.")
    return company


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("sent", {"Lu", "Non lu", "Répondu", "En attente", "En retard", "Courriel perdu"}),
        ("unread", {"Non lu", "Répondu", "En attente", "En retard", "Courriel perdu"}),
        ("read", {"Lu"}),
        ("answered", {"Répondu"}),
        ("awaiting", {"En attente"}),
        ("overdue", {"En retard"}),
        ("failed", {"Courriel perdu"}),
    ],
)
def test_the_state_filter_keeps_the_right_messages(agent_client, consultation, states, state, expected):
    response = agent_client.get(inbox_url(consultation, etat=state))

    assert set(inbox_subjects(response)) == expected


def test_the_kind_filter_keeps_the_right_messages(agent_client, consultation, states):
    free = agent_client.get(inbox_url(consultation, type=Kind.FREE))
    replies = agent_client.get(inbox_url(consultation, type=Kind.REPLY))

    assert set(inbox_subjects(free)) == {"Non lu", "Courriel perdu"}
    assert inbox_subjects(replies) == ["Re : Répondu"]


def test_the_kind_and_state_filters_combine_and_an_unknown_value_filters_nothing(
    agent_client, consultation, states
):
    both = agent_client.get(inbox_url(consultation, type=Kind.FREE, etat="failed"))
    unknown = agent_client.get(inbox_url(consultation, type="inconnu", etat="inconnu"))

    assert inbox_subjects(both) == ["Courriel perdu"]
    assert len(inbox_subjects(unknown)) == 7


def test_the_inbox_shows_each_state_and_flags_the_failed_email(agent_client, consultation, states):
    page = text_of(agent_client.get(inbox_url(consultation)))

    for label in ("Lu", "Non lu", "Répondu", "En attente de réponse", "Réponse en retard"):
        assert label in page, label
    assert page.count(FAILED_FLAG) == 1


def test_the_inbox_queries_do_not_grow_with_the_number_of_messages(agent_client, buyer, consultation, clock):
    companies = []
    for number in range(4):
        user = CompanyUserFactory(company__name=f"Entreprise {number}")
        download_record(consultation, user)
        companies.append(user)

    def fill(count: int):
        for index in range(count):
            user = companies[index % len(companies)]
            (message,) = send(
                buyer.user,
                consultation,
                [user.company],
                answer_due_at=T0 + timedelta(days=3),
                files=[pdf(f"piece-{index}.pdf")],
            )
            if index % 2:
                message_reply(user=user.user, message=message, body="Réponse.", files=[pdf("reponse.pdf")])

    def queries_for_inbox() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = agent_client.get(inbox_url(consultation))
        assert response.status_code == 200
        return len(queries)

    fill(3)
    few = queries_for_inbox()
    fill(9)
    many = queries_for_inbox()

    assert Message.objects.filter(direction=Direction.TO_COMPANY).count() == 12
    assert many == few


# --- A thread, a message ----------------------------------------------------------------------


def test_the_thread_shows_every_message_with_the_company_and_a_link_to_write_to_it(
    agent_client, buyer, consultation, downloader, clock
):
    second = CompanyUserFactory(company__name="Charpentes du Nord")
    download_record(consultation, second)
    (first,) = send(buyer.user, consultation, [downloader.company], subject="Premier")
    send(buyer.user, consultation, [second.company], subject="Pour une autre")
    clock.advance(hours=1)
    message_reply(user=downloader.user, message=first, body="Bien reçu.")
    thread = first.thread

    response = agent_client.get(reverse("messaging:buyer_thread", args=[consultation.pk, thread.pk]))

    page = text_of(response)
    assert [m.subject for m in response.context["rows"]] == ["Premier", "Re : Premier"]
    assert "Pour une autre" not in page
    write = f"{compose_url(consultation)}?entreprise={downloader.company.pk}"
    assert f'href="{write}"' in response.content.decode()
    # Listing the answer in the thread is not reading it.
    assert Message.objects.get(direction=Direction.TO_BUYER).first_read_at is None


def test_the_message_page_shows_the_recipients_e_mails_hash_and_answers(
    agent_client, buyer, consultation, downloader, clock
):
    colleague = CompanyUserFactory(company=downloader.company)
    download_record(consultation, colleague)
    (message,) = send(
        buyer.user, consultation, [downloader.company], answer_due_at=T0 + timedelta(days=1), files=[pdf()]
    )
    clock.advance(days=2)
    reply = message_reply(user=downloader.user, message=message, body="En retard, désolé.")

    response = agent_client.get(message_url(message))

    page = text_of(response)
    html = response.content.decode()
    assert "Demande de compléments" in page and "Bâtiment Ouest" in page and BODY in page
    assert buyer.user.email in page
    assert "02/03/2026 09:00:00" in page and "03/03/2026 09:00:00" in page
    assert downloader.user.email in page and colleague.user.email in page
    assert "Envoyé" in page and "Tentatives" in page
    assert message.content_sha256 in page
    assert "le contenu est celui envoyé" in page
    assert "attestation.pdf" in page
    assert reverse("messaging:buyer_message", args=[consultation.pk, reply.pk]) in html
    assert "hors délai" in page
    assert reverse("messaging:buyer_proof", args=[consultation.pk, message.pk]) in html
    assert "Non lu" in page


def test_opening_a_company_answer_records_the_buyer_reading_once(
    agent_client, buyer, consultation, downloader, clock
):
    (message,) = send(buyer.user, consultation, [downloader.company])
    clock.advance(hours=2)
    reply = message_reply(user=downloader.user, message=message, body="Voici.")
    clock.advance(minutes=5)

    agent_client.get(message_url(reply))
    clock.advance(days=1)
    second_look = agent_client.get(message_url(reply))

    reply.refresh_from_db()
    assert reply.first_read_at == T0 + timedelta(hours=2, minutes=5)
    assert reply.first_read_by == buyer.user
    assert "02/03/2026 11:05:00" in text_of(second_look)
    assert Event.objects.filter(action="message.first_read").count() == 1


def test_opening_the_buyer_own_message_records_no_reading(agent_client, buyer, consultation, downloader):
    (message,) = send(buyer.user, consultation, [downloader.company])

    response = agent_client.get(message_url(message))

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.first_read_at is None
    assert "Non lu" in text_of(response)
    assert not Event.objects.filter(action="message.first_read").exists()


def test_a_failed_email_is_flagged_on_the_message_and_in_the_inbox(
    agent_client, buyer, consultation, downloader, monkeypatch
):
    # GIVEN a message whose e-mail the SMTP server refuses at every try
    def refuse(**kwargs):
        raise ConnectionRefusedError("Le serveur SMTP ne répond pas")

    monkeypatch.setattr("messaging.services.delivery.send_mail", refuse)
    agent_client.post(compose_url(consultation), form_fields(company=downloader.company.pk))
    message = Message.objects.get()

    # WHEN the last retry fails too
    (delivery,) = message.deliveries.all()
    delivery_send.apply(args=[delivery.pk], retries=MAX_RETRIES)

    # THEN the agent sees the flag on the list and on the message
    message.refresh_from_db()
    assert message.email_failed
    inbox = text_of(agent_client.get(inbox_url(consultation)))
    page = text_of(agent_client.get(message_url(message)))
    assert FAILED_FLAG in inbox
    assert FAILED_FLAG in page
    assert "Échec définitif" in page


def test_the_proof_is_a_pdf_and_its_download_is_recorded(agent_client, buyer, consultation, downloader):
    (message,) = send(buyer.user, consultation, [downloader.company])

    response = agent_client.get(reverse("messaging:buyer_proof", args=[consultation.pk, message.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    event = Event.objects.get(action="message.proof_downloaded")
    assert event.actor == buyer.user
    assert event.data == {"message": message.pk}


# --- Who may see what -------------------------------------------------------------------------


def test_an_agent_of_another_organisation_gets_not_found_everywhere(
    client, buyer, consultation, downloader, other_organisation
):
    (message,) = send(buyer.user, consultation, [downloader.company], files=[pdf()])
    attached = message.attachments.get()
    stranger = AgentFactory(organisation=other_organisation, can_create=True, can_decide=True)
    client.force_login(stranger.user)
    pk = consultation.pk
    urls = [
        inbox_url(consultation),
        compose_url(consultation),
        reverse("messaging:buyer_thread", args=[pk, message.thread_id]),
        message_url(message),
        reverse("messaging:buyer_attachment", args=[pk, message.pk, attached.pk]),
        reverse("messaging:buyer_proof", args=[pk, message.pk]),
    ]

    for url in urls:
        assert client.get(url).status_code == 404, url
    posted = client.post(compose_url(consultation), form_fields(company=downloader.company.pk))

    assert posted.status_code == 404
    assert Message.objects.count() == 1


def test_a_message_is_found_only_under_its_own_consultation(agent_client, buyer, consultation, downloader):
    other = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    (message,) = send(buyer.user, consultation, [downloader.company])

    response = agent_client.get(reverse("messaging:buyer_message", args=[other.pk, message.pk]))
    thread = agent_client.get(reverse("messaging:buyer_thread", args=[other.pk, message.thread_id]))

    assert response.status_code == 404
    assert thread.status_code == 404


def test_a_company_user_cannot_open_the_buyer_pages(client, buyer, consultation, downloader):
    (message,) = send(buyer.user, consultation, [downloader.company])
    client.force_login(downloader.user)

    assert client.get(inbox_url(consultation)).status_code == 403
    assert client.get(message_url(message)).status_code == 403


def test_a_visitor_is_sent_to_the_login_page_then_back(client, consultation):
    response = client.get(inbox_url(consultation))

    assert response.status_code == 302
    assert response["Location"].startswith("/compte/connexion/?next=")


# --- From the consultation's details ----------------------------------------------------------


def test_the_details_link_to_the_messaging_with_counts_once_published(
    agent_client, buyer, consultation, downloader, clock
):
    draft = ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user)
    (message,) = send(buyer.user, consultation, [downloader.company])
    send(buyer.user, consultation, [downloader.company], kind=Kind.FREE)
    message_reply(user=downloader.user, message=message, body="Voici.")

    published = agent_client.get(reverse("consultations:buyer_detail", args=[consultation.pk]))
    unpublished = agent_client.get(reverse("consultations:buyer_detail", args=[draft.pk]))

    assert "Messagerie (2 messages envoyés, 1 réponse non lue)" in text_of(published)
    assert inbox_url(consultation) in published.content.decode()
    assert reverse("messaging:buyer_inbox", args=[draft.pk]) not in unpublished.content.decode()
