"""Notification e-mails through a real SMTP server (aiosmtpd, started by the test): one
mail per recipient with the link and never the content, tried again on a temporary
refusal, given up and flagged for the agent after the last try, and sent only once the
message is committed."""

import pytest
from django.conf import settings as django_settings
from django.db import transaction

from messaging.models import Delivery, DeliveryStatus, Kind, Message
from messaging.services.sending import message_reply, message_send
from messaging.tasks import delivery_send
from tests.factories import T0, CompanyUserFactory, consultation_online, download_record

SECRET_TEXT = "Votre prix unitaire de la ligne 12 est anormalement bas."


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(organisation=buyer.organisation, created_by=buyer.user)


@pytest.fixture
def colleague(company_user):
    return CompanyUserFactory(company=company_user.company)


@pytest.fixture
def downloaded(consultation, company_user, colleague):
    """Two users of the same company downloaded the DCE: both are told of a message."""
    download_record(consultation, company_user)
    download_record(consultation, colleague)
    return consultation


@pytest.fixture
def few_retries(monkeypatch):
    """Two retries instead of about two hours of them (eager retries run at once)."""
    monkeypatch.setattr(delivery_send, "max_retries", 2)


def send(buyer, consultation, company_user, **fields):
    values = {"kind": Kind.DOCUMENTS_REQUEST, "subject": "Offre anormalement basse", "body": SECRET_TEXT}
    values.update(fields)
    (message,) = message_send(
        user=buyer.user, consultation=consultation, companies=[company_user.company], **values
    )
    return message


def test_each_recipient_gets_one_mail_with_the_link_and_never_the_content(
    smtp_server, buyer, downloaded, company_user, colleague, django_capture_on_commit_callbacks
):
    # GIVEN a real SMTP server
    server = smtp_server()

    # WHEN the buyer writes to the company whose two users downloaded the DCE
    with django_capture_on_commit_callbacks(execute=True):
        message = send(buyer, downloaded, company_user)

    # THEN the server received one mail per recipient, each addressed to that recipient only
    mails = server.mails
    assert sorted(mail.recipients for mail in mails) == sorted(
        [[company_user.user.email], [colleague.user.email]]
    )
    assert sorted(mail["To"] for mail in mails) == sorted([company_user.user.email, colleague.user.email])
    link = f"{django_settings.PLATFORM_BASE_URL}/entreprise/messages/{message.pk}/"
    for mail in mails:
        assert "Accéder au contenu du message" in mail.text
        assert link in mail.text
        assert downloaded.reference in mail["Subject"]
        assert "anormalement bas" not in mail.text
        assert "ligne 12" not in mail.text and "ligne 12" not in mail["Subject"]
    # AND each delivery is recorded as sent at the platform's time, at the first try
    assert sorted(message.deliveries.values_list("status", "attempts", "sent_at")) == [
        (DeliveryStatus.SENT, 1, T0),
        (DeliveryStatus.SENT, 1, T0),
    ]
    message.refresh_from_db()
    assert not message.email_failed


def test_the_company_answer_is_told_to_the_agent_who_wrote(
    smtp_server, buyer, downloaded, company_user, django_capture_on_commit_callbacks
):
    server = smtp_server()
    with django_capture_on_commit_callbacks(execute=True):
        message = send(buyer, downloaded, company_user)

    with django_capture_on_commit_callbacks(execute=True):
        reply = message_reply(user=company_user.user, message=message, body="Le prix inclut la remise.")

    (mail,) = [m for m in server.mails if m.recipients == [buyer.user.email]]
    assert "Accéder au contenu du message" in mail.text
    assert f"/acheteur/consultations/{downloaded.pk}/messages/{reply.pk}/" in mail.text
    assert "remise" not in mail.text


def test_a_temporary_refusal_is_tried_again_then_delivered(
    smtp_server, few_retries, buyer, consultation, company_user, django_capture_on_commit_callbacks
):
    # GIVEN a server that answers « 451 » once, then accepts
    download_record(consultation, company_user)
    server = smtp_server("451 4.3.0 Surcharge temporaire, réessayez")

    # WHEN a message is sent
    with django_capture_on_commit_callbacks(execute=True):
        message = send(buyer, consultation, company_user)

    # THEN the second try delivered it
    delivery = Delivery.objects.get(message=message)
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.SENT, 2, "")
    assert server.refused == 1
    assert [mail.recipients for mail in server.mails] == [[company_user.user.email]]
    message.refresh_from_db()
    assert not message.email_failed


def test_a_mail_refused_at_every_try_fails_and_flags_the_message(
    smtp_server, few_retries, buyer, consultation, company_user, django_capture_on_commit_callbacks
):
    # GIVEN a server that always answers « 451 »
    download_record(consultation, company_user)
    server = smtp_server(*["451 4.3.0 Boîte indisponible"] * 10)

    # WHEN a message is sent
    with django_capture_on_commit_callbacks(execute=True):
        message = send(buyer, consultation, company_user)

    # THEN after the first try and the two retries the delivery is given up
    delivery = Delivery.objects.get(message=message)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 3
    assert "451" in delivery.error
    assert server.refused == 3 and server.envelopes == []
    # AND the message is flagged for the agent, its content unchanged
    message.refresh_from_db()
    assert message.email_failed
    assert Message.objects.get(pk=message.pk).body == SECRET_TEXT


def test_a_mail_server_that_cannot_be_reached_fails_and_flags_the_message(
    smtp_closed_port, few_retries, buyer, consultation, company_user, django_capture_on_commit_callbacks
):
    download_record(consultation, company_user)

    with django_capture_on_commit_callbacks(execute=True):
        message = send(buyer, consultation, company_user)

    delivery = Delivery.objects.get(message=message)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    assert "ConnectionRefusedError" in delivery.error
    message.refresh_from_db()
    assert message.email_failed


def test_one_failed_recipient_flags_the_message_and_the_others_still_get_their_mail(
    smtp_server, few_retries, buyer, downloaded, company_user, colleague, django_capture_on_commit_callbacks
):
    # GIVEN the first mail is refused at every try (3), the next one accepted
    server = smtp_server(*["451 4.3.0 Boîte indisponible"] * 3)

    with django_capture_on_commit_callbacks(execute=True):
        message = send(buyer, downloaded, company_user)

    statuses = dict(message.deliveries.values_list("email", "status"))
    assert sorted(statuses.values()) == [DeliveryStatus.FAILED, DeliveryStatus.SENT]
    assert len(server.envelopes) == 1
    message.refresh_from_db()
    assert message.email_failed


def test_no_mail_leaves_before_the_message_is_committed(
    smtp_server, buyer, downloaded, company_user, django_capture_on_commit_callbacks
):
    server = smtp_server()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send(buyer, downloaded, company_user)
        # Written, not yet committed: the mails wait for the commit.
        assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2
        assert server.envelopes == []

    assert len(callbacks) == 2  # one per recipient: a failure to queue one spares the other
    assert len(server.envelopes) == 2


def test_no_mail_leaves_when_the_sending_is_rolled_back(
    smtp_server, buyer, downloaded, company_user, django_capture_on_commit_callbacks
):
    server = smtp_server()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        send(buyer, downloaded, company_user)
        raise RuntimeError("the request failed after the message was written")

    assert callbacks == []
    assert server.envelopes == []
    assert not Message.objects.exists()
