"""The rules of the messaging, below the pages: who receives, who reads, what never changes."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction

from audit.models import Event
from consultations.models import State
from messaging.errors import MessagingError
from messaging.models import Attachment, Direction, ImmutableError, Kind, Message, Thread
from messaging.proof import message_hash, message_intact
from messaging.services.sending import message_read, message_reply, message_send, recipient_users
from tests.factories import (
    AgentFactory,
    CompanyUserFactory,
    ConsultationFactory,
    consultation_online,
    download_record,
)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(organisation=buyer.organisation, created_by=buyer.user)


@pytest.fixture
def downloaded(consultation, company_user, other_company_user):
    download_record(consultation, company_user)
    download_record(consultation, other_company_user)
    return consultation


def send(buyer, consultation, companies, **fields):
    values = {
        "kind": Kind.DOCUMENTS_REQUEST,
        "subject": "Pièces manquantes",
        "body": "Merci d'envoyer le Kbis.",
    }
    values.update(fields)
    return message_send(user=buyer.user, consultation=consultation, companies=companies, **values)


def test_a_message_goes_to_each_company_in_its_own_thread_with_one_email_per_recipient(
    buyer, downloaded, company_user, other_company_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        messages = send(buyer, downloaded, [company_user.company, other_company_user.company])

    assert Thread.objects.filter(consultation=downloaded).count() == 2
    assert {m.thread.company for m in messages} == {company_user.company, other_company_user.company}
    assert len({m.batch for m in messages}) == 1
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(
        [company_user.user.email, other_company_user.user.email]
    )
    assert all(len(mail.to) == 1 for mail in mailoutbox)  # no one sees the other recipients
    assert Event.objects.filter(action="message.sent", target_id=str(downloaded.pk)).count() == 1


def test_the_email_only_tells_that_a_message_waits_and_links_to_it(
    buyer, downloaded, company_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (message,) = send(buyer, downloaded, [company_user.company], body="Votre prix unitaire ligne 12 ?")

    (mail,) = mailoutbox
    assert "Accéder au contenu du message" in mail.body
    assert f"/entreprise/messages/{message.pk}/" in mail.body
    assert "prix unitaire" not in mail.body and "prix unitaire" not in mail.subject
    assert downloaded.reference in mail.subject


def test_no_email_leaves_when_the_sending_is_rolled_back(buyer, downloaded, company_user, mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        send(buyer, downloaded, [company_user.company])
        raise RuntimeError

    assert mailoutbox == []
    assert not Message.objects.exists()


def test_the_recipients_are_the_company_users_who_took_part_else_all_of_them(buyer, downloaded, company_user):
    colleague = CompanyUserFactory(company=company_user.company)
    assert recipient_users(downloaded, company_user.company) == [company_user.user]

    newcomer = CompanyUserFactory()
    lone = CompanyUserFactory(company=newcomer.company)
    assert sorted(u.pk for u in recipient_users(downloaded, newcomer.company)) == sorted(
        [newcomer.user.pk, lone.user.pk]
    )
    assert colleague.user not in recipient_users(downloaded, company_user.company)


def test_nothing_is_sent_before_publication(buyer, clock, company_user):
    draft = ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user)
    assert draft.state == State.DRAFT

    with pytest.raises(MessagingError, match="mise en ligne"):
        send(buyer, draft, [company_user.company])


def test_a_company_that_never_took_part_cannot_be_written_to(buyer, consultation, company_user):
    with pytest.raises(MessagingError, match="ni retiré le dossier"):
        send(buyer, consultation, [company_user.company])
    assert not Message.objects.exists()


def test_an_empty_message_or_subject_is_refused_in_french(buyer, downloaded, company_user):
    with pytest.raises(MessagingError, match="vide") as error:
        send(buyer, downloaded, [company_user.company], body="   ")
    assert error.value.field == "body"
    with pytest.raises(MessagingError, match="objet"):
        send(buyer, downloaded, [company_user.company], subject="")
    with pytest.raises(MessagingError, match="au moins une entreprise"):
        send(buyer, downloaded, [])


def test_decision_letters_need_the_permission_to_decide(downloaded, validator, company_user):
    with pytest.raises(MessagingError, match="habilité à décider"):
        send(validator, downloaded, [company_user.company], kind=Kind.REJECTION)
    # A request for documents is any agent's business.
    assert send(validator, downloaded, [company_user.company])


def test_an_agent_of_another_organisation_cannot_write(downloaded, other_organisation, company_user):
    stranger = AgentFactory(organisation=other_organisation, can_decide=True)
    with pytest.raises(PermissionDenied):
        send(stranger, downloaded, [company_user.company])


def test_the_first_reading_is_recorded_once_and_only_by_a_user_of_the_recipient(
    buyer, downloaded, company_user, other_company_user, clock
):
    (message,) = send(buyer, downloaded, [company_user.company])
    colleague = CompanyUserFactory(company=company_user.company)
    clock.advance(hours=1)

    # Neither the buyer nor another company counts as reading it.
    assert message_read(user=buyer.user, message=message) is False
    assert message_read(user=other_company_user.user, message=message) is False
    message.refresh_from_db()
    assert message.first_read_at is None

    first = clock()
    assert message_read(user=company_user.user, message=message) is True
    clock.advance(days=2)
    assert message_read(user=colleague.user, message=message) is False
    assert message_read(user=company_user.user, message=message) is False

    message.refresh_from_db()
    assert message.first_read_at == first
    assert message.first_read_by == company_user.user
    assert Event.objects.filter(action="message.first_read").count() == 1


def test_a_first_reading_cannot_be_rewritten_even_in_the_database(buyer, downloaded, company_user, clock):
    (message,) = send(buyer, downloaded, [company_user.company])
    message_read(user=company_user.user, message=message)

    with pytest.raises(DatabaseError), transaction.atomic():
        Message.objects.filter(pk=message.pk).update(first_read_at=clock() + timedelta(days=3))
    with pytest.raises(DatabaseError), transaction.atomic():
        Message.objects.filter(pk=message.pk).update(first_read_by=buyer.user)

    message.refresh_from_db()
    assert message.first_read_at == clock()


def test_a_sent_message_is_never_edited_nor_deleted(buyer, downloaded, company_user):
    (message,) = send(buyer, downloaded, [company_user.company], files=[SimpleUploadedFile("Kbis.pdf", PDF)])

    message.body = "Autre texte"
    with pytest.raises(ImmutableError):
        message.save()
    with pytest.raises(ImmutableError):
        message.delete()
    with pytest.raises(ImmutableError):
        message.attachments.get().delete()
    # Even a query that bypasses the model is refused by the database.
    with pytest.raises(DatabaseError), transaction.atomic():
        Message.objects.filter(pk=message.pk).update(body="Autre texte")
    with pytest.raises(DatabaseError), transaction.atomic():
        Attachment.objects.filter(message=message).update(name="autre.pdf")
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            Message.objects.filter(pk=message.pk)._raw_delete(connection.alias)

    message.refresh_from_db()
    assert message.body == "Merci d'envoyer le Kbis."
    assert message_intact(message)


def test_the_content_hash_covers_the_text_and_the_attachments(buyer, downloaded, company_user):
    (message,) = send(buyer, downloaded, [company_user.company], files=[SimpleUploadedFile("Kbis.pdf", PDF)])
    assert message.content_sha256 == message_hash(message)

    message.body += " "
    assert not message_intact(message)
    message.refresh_from_db()
    assert message_intact(message)
    # Another attachment fingerprint gives another hash.
    message = Message.objects.prefetch_related("attachments").get(pk=message.pk)
    message.attachments.all()[0].sha256 = "0" * 64
    assert message_hash(message) != message.content_sha256


def test_editing_the_senders_address_or_the_siret_later_does_not_make_a_message_look_altered(
    buyer, downloaded, company_user
):
    (message,) = send(buyer, downloaded, [company_user.company])

    buyer.user.email = "nouvelle.adresse@testville.fr"
    buyer.user.save()
    company_user.company.siret = "73282932000074"
    company_user.company.save()

    message = Message.objects.get(pk=message.pk)
    assert message_intact(message)
    assert message.sender_email != buyer.user.email


def test_a_batch_shares_one_stored_file(buyer, downloaded, company_user, other_company_user):
    messages = send(
        buyer,
        downloaded,
        [company_user.company, other_company_user.company],
        files=[SimpleUploadedFile("Kbis.pdf", PDF)],
    )
    blobs = {m.attachments.get().blob.name for m in messages}
    assert len(blobs) == 1
    assert messages[0].attachments.get().blob.read() == PDF


def test_a_late_answer_is_kept_and_marked_late(buyer, downloaded, company_user, clock, mailoutbox):
    due = clock() + timedelta(days=2)
    (message,) = send(buyer, downloaded, [company_user.company], answer_due_at=due)

    clock.set(due - timedelta(seconds=1))
    on_time = message_reply(user=company_user.user, message=message, body="Voici le Kbis.")
    clock.set(due)
    late = message_reply(
        user=company_user.user,
        message=message,
        body="Et l'attestation d'assurance.",
        files=[SimpleUploadedFile("assurance.pdf", PDF)],
    )

    assert on_time.is_late is False
    assert late.is_late is True
    assert late.direction == Direction.TO_BUYER and late.kind == Kind.REPLY
    assert late.in_reply_to == message and late.thread == message.thread
    assert late.attachments.get().name == "assurance.pdf"


def test_the_answer_goes_to_the_agent_who_wrote(
    buyer, downloaded, company_user, mailoutbox, django_capture_on_commit_callbacks
):
    (message,) = send(buyer, downloaded, [company_user.company])
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        reply = message_reply(user=company_user.user, message=message, body="Voici le Kbis.")

    (mail,) = mailoutbox
    assert mail.to == [buyer.user.email]
    assert f"/acheteur/consultations/{downloaded.pk}/messages/{reply.pk}/" in mail.body
    assert "Voici le Kbis" not in mail.body


def test_a_company_cannot_answer_another_companys_message(
    buyer, downloaded, company_user, other_company_user
):
    (message,) = send(buyer, downloaded, [company_user.company])

    with pytest.raises(PermissionDenied):
        message_reply(user=other_company_user.user, message=message, body="Je m'immisce.")
    with pytest.raises(PermissionDenied):
        message_reply(user=buyer.user, message=message, body="L'acheteur n'y répond pas.")
    assert Message.objects.count() == 1


def test_an_empty_answer_is_refused_and_nothing_is_created(buyer, downloaded, company_user):
    (message,) = send(buyer, downloaded, [company_user.company])

    with pytest.raises(MessagingError, match="vide"):
        message_reply(user=company_user.user, message=message, body="\n  \n")
    assert Message.objects.count() == 1


def test_the_answer_date_must_be_in_the_future(buyer, downloaded, company_user, clock):
    with pytest.raises(MessagingError, match="futur") as error:
        send(buyer, downloaded, [company_user.company], answer_due_at=clock())
    assert error.value.field == "answer_due_at"


def test_a_template_edited_in_the_admin_is_used_and_a_removed_one_falls_back_to_the_default(consultation):
    from messaging.models import MessageTemplate
    from messaging.templating import template_for

    MessageTemplate.objects.filter(kind=Kind.NEGOTIATION).update(
        subject="Négociation {reference}", body="Bonjour {acheteur}, {inconnu} reste tel quel."
    )
    subject, body = template_for(Kind.NEGOTIATION, consultation)
    assert subject == f"Négociation {consultation.reference}"
    assert body == f"Bonjour {consultation.organisation.name}, {{inconnu}} reste tel quel."

    MessageTemplate.objects.filter(kind=Kind.NEGOTIATION).delete()
    subject, body = template_for(Kind.NEGOTIATION, consultation)
    assert consultation.reference in subject and consultation.title in body


def test_a_lost_email_is_queued_again_and_a_hopeless_one_flags_the_message(
    buyer, downloaded, company_user, other_company_user, clock, mailoutbox
):
    from messaging.models import Delivery, DeliveryStatus
    from messaging.services.delivery import deliveries_sweep

    # GIVEN two messages whose e-mails never reached the queue (the commit's callbacks did not run)
    (lost,) = send(buyer, downloaded, [company_user.company])
    clock.advance(hours=7)
    (recent,) = send(buyer, downloaded, [other_company_user.company])

    # WHEN the sweep runs 15 minutes later
    clock.advance(minutes=15)
    assert deliveries_sweep() == {"requeued": 1, "failed": 1}

    # THEN the one sent 7 hours ago is given up and flagged; the recent one is sent now
    lost.refresh_from_db()
    assert lost.email_failed and lost.deliveries.get().status == DeliveryStatus.FAILED
    assert Delivery.objects.get(message=recent).status == DeliveryStatus.SENT
    assert [mail.to for mail in mailoutbox] == [[other_company_user.user.email]]


def test_a_message_with_no_one_to_notify_is_flagged_at_once(buyer, downloaded, company_user):
    company_user.user.is_active = False
    company_user.user.save()

    (message,) = send(buyer, downloaded, [company_user.company])

    assert message.email_failed and not message.deliveries.exists()


def test_an_answer_reaches_the_consultations_author_when_the_writer_has_left(
    buyer, downloaded, company_user, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    colleague = AgentFactory(organisation=organisation)
    (message,) = send(colleague, downloaded, [company_user.company])
    colleague.user.is_active = False
    colleague.user.save()

    with django_capture_on_commit_callbacks(execute=True):
        message_reply(user=company_user.user, message=message, body="Voici le Kbis.")

    assert [mail.to for mail in mailoutbox if "Réponse" in mail.subject] == [[buyer.user.email]]


def test_files_already_stored_are_removed_when_the_sending_fails(
    buyer, downloaded, company_user, monkeypatch
):
    from django.core.files.storage import default_storage

    import messaging.services.sending as sending

    def broken(**kwargs):
        raise RuntimeError("panne")

    monkeypatch.setattr(sending, "_broadcast", broken)
    with pytest.raises(RuntimeError):
        send(buyer, downloaded, [company_user.company], files=[SimpleUploadedFile("Kbis.pdf", PDF)])

    assert default_storage.listdir("messaging")[1] == []
