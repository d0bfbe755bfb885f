"""The standstill (« délai de suspension »), the signature and the notification of the contract."""

from datetime import datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from audit.models import Event
from awards.models import Outcome
from awards.services.decisions import (
    DecisionError,
    contract_notify,
    contract_sign_record,
    decision_record,
    standstill_end,
)
from awards.services.letters import letters_send
from consultations.models import Consultation, ProcedureType
from messaging.models import Kind
from messaging.services.sending import message_read
from tests.awards.conftest import deposit_received
from tests.conftest import login_verified

PARIS = ZoneInfo("Europe/Paris")
# consultation_opened's clock: one day after its deadline, Thursday 2 April 2026 at 12:00
SENT = datetime(2026, 4, 2, 12, 0, tzinfo=PARIS)


def awarded(consultation, buyer, company_user, *, procedure=ProcedureType.OPEN_TENDER):
    Consultation.objects.filter(pk=consultation.pk).update(procedure_type=procedure)
    consultation.refresh_from_db()
    deposit = deposit_received(consultation, company_user)
    return decision_record(
        user=buyer.user,
        consultation=consultation,
        lot=None,
        outcome=Outcome.AWARDED,
        deposit=deposit,
        amount=D("250000"),
        duration_months=24,
    )


def send_letters(decision, buyer, capture, *, electronic=True):
    with capture(execute=True):
        letters_send(user=buyer.user, decision=decision, electronic=electronic)
    decision.refresh_from_db()
    return decision


@pytest.mark.parametrize(
    ("procedure", "required"),
    [
        (ProcedureType.OPEN_TENDER, True),
        (ProcedureType.RESTRICTED_TENDER, True),
        (ProcedureType.NEGOTIATED, True),
        (ProcedureType.COMPETITIVE_DIALOGUE, True),
        (ProcedureType.ADAPTED_OVER_90K, False),
        (ProcedureType.ADAPTED_UNDER_40K, False),
        (ProcedureType.WITHOUT_PUBLICITY, False),
    ],
)
def test_the_standstill_applies_to_formal_procedures_only(
    consultation_opened, buyer, company_user, procedure, required
):
    decision = awarded(consultation_opened, buyer, company_user, procedure=procedure)
    assert decision.standstill_required is required


def test_a_contract_is_not_signed_before_eleven_days_after_electronic_letters(
    consultation_opened, buyer, clock, company_user, django_capture_on_commit_callbacks
):
    decision = send_letters(
        awarded(consultation_opened, buyer, company_user), buyer, django_capture_on_commit_callbacks
    )
    end = SENT + timedelta(days=11)
    assert standstill_end(decision) == end
    # the rejection and award letters say it too
    assert (
        "ne sera pas signé avant le 13/04/2026" in decision.deposit.company.threads.get().messages.get().body
    )
    clock.set(end + timedelta(hours=1))
    with pytest.raises(DecisionError) as refused:
        contract_sign_record(user=buyer.user, decision=decision, signed_at=end - timedelta(minutes=1))
    assert refused.value.message == (
        "Le marché ne peut pas être signé avant le 13/04/2026 : "
        "le délai de suspension court jusqu'au 13/04/2026 à 12:00."
    )
    assert refused.value.field == "signed_at"
    signed = contract_sign_record(user=buyer.user, decision=decision, signed_at=end)
    assert signed.signed_at == end
    assert Event.objects.filter(action="awards.contract_signed").exists()


def test_paper_letters_make_the_standstill_sixteen_days(
    consultation_opened, buyer, clock, company_user, django_capture_on_commit_callbacks
):
    decision = send_letters(
        awarded(consultation_opened, buyer, company_user),
        buyer,
        django_capture_on_commit_callbacks,
        electronic=False,
    )
    assert standstill_end(decision) == SENT + timedelta(days=16)
    clock.set(SENT + timedelta(days=15))
    with pytest.raises(DecisionError, match="avant le 18/04/2026"):
        contract_sign_record(user=buyer.user, decision=decision, signed_at=clock())


def test_an_adapted_procedure_signs_once_the_letters_are_sent(
    consultation_opened, buyer, clock, company_user, django_capture_on_commit_callbacks
):
    decision = awarded(consultation_opened, buyer, company_user, procedure=ProcedureType.ADAPTED_OVER_90K)
    with pytest.raises(DecisionError, match="Envoyez d'abord les lettres"):
        contract_sign_record(user=buyer.user, decision=decision, signed_at=clock())
    decision = send_letters(decision, buyer, django_capture_on_commit_callbacks)
    assert standstill_end(decision) is None
    clock.advance(hours=2)
    with pytest.raises(DecisionError, match="ne peut pas être dans le futur"):
        contract_sign_record(user=buyer.user, decision=decision, signed_at=clock() + timedelta(minutes=5))
    assert contract_sign_record(user=buyer.user, decision=decision, signed_at=clock()).signed_at == clock()


def test_an_unsuccessful_lot_has_no_contract_to_sign(consultation_opened, buyer, clock):
    decision = decision_record(
        user=buyer.user,
        consultation=consultation_opened,
        lot=None,
        outcome=Outcome.UNSUCCESSFUL,
        reason="Rien.",
    )
    with pytest.raises(DecisionError, match="Seul un lot attribué"):
        contract_sign_record(user=buyer.user, decision=decision, signed_at=clock())


def test_the_notification_goes_to_the_winner_once_signed_and_dates_from_its_reading(
    client, consultation_opened, buyer, clock, company_user, django_capture_on_commit_callbacks
):
    decision = send_letters(
        awarded(consultation_opened, buyer, company_user, procedure=ProcedureType.ADAPTED_OVER_90K),
        buyer,
        django_capture_on_commit_callbacks,
    )
    with pytest.raises(DecisionError, match="une fois signé"):
        contract_notify(user=buyer.user, decision=decision, body="Notification.")
    clock.advance(days=1)
    contract_sign_record(user=buyer.user, decision=decision, signed_at=clock())
    with django_capture_on_commit_callbacks(execute=True):
        message = contract_notify(user=buyer.user, decision=decision, body="Nous vous notifions le marché.")
    decision.refresh_from_db()
    assert decision.notification == message
    assert (message.kind, message.thread.company) == (Kind.NOTIFICATION, company_user.company)
    with pytest.raises(DecisionError, match="déjà été notifié"):
        contract_notify(user=buyer.user, decision=decision, body="Encore.")
    with pytest.raises(DecisionError, match="est notifié : sa date de signature ne peut plus changer"):
        contract_sign_record(user=buyer.user, decision=decision, signed_at=clock())
    # the screen: waiting for its reading, then « notifié le » the first reading
    login_verified(client, buyer.user)
    url = reverse("awards:decisions", args=[consultation_opened.pk])
    assert "en attente de lecture" in client.get(url).content.decode()
    clock.advance(hours=3)
    message_read(user=company_user.user, message=message)
    page = client.get(url).content.decode()
    assert "Marché notifié le 03/04/2026 15:00" in page
    assert "en attente de lecture" not in page


def test_the_screen_shows_the_standstill_date_and_refuses_an_early_signature(
    client, consultation_opened, buyer, clock, company_user, django_capture_on_commit_callbacks
):
    decision = send_letters(
        awarded(consultation_opened, buyer, company_user), buyer, django_capture_on_commit_callbacks
    )
    login_verified(client, buyer.user)
    page = client.get(reverse("awards:decisions", args=[consultation_opened.pk])).content.decode()
    assert "Le marché ne peut pas être signé avant le 13/04/2026" in page
    clock.advance(days=3)
    response = client.post(
        reverse("awards:decision_signature", args=[consultation_opened.pk, decision.pk]),
        {"signature-0-signed_day": "2026-04-05", "signature-0-signed_time": "10:00:00"},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Le marché ne peut pas être signé avant le 13/04/2026" in text
    assert 'id="id_signature-0-signed_day_error"' in text
    assert 'value="2026-04-05"' in text
    decision.refresh_from_db()
    assert decision.signed_at is None
    # after the standstill, the signature is recorded and the notification form appears
    clock.set(datetime(2026, 4, 14, 9, 0, tzinfo=PARIS))
    response = client.post(
        reverse("awards:decision_signature", args=[consultation_opened.pk, decision.pk]),
        {"signature-0-signed_day": "2026-04-13", "signature-0-signed_time": "16:30:00"},
    )
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.signed_at == datetime(2026, 4, 13, 16, 30, tzinfo=PARIS)
    page = client.get(reverse("awards:decisions", args=[consultation_opened.pk])).content.decode()
    assert "Notifier le marché à l'attributaire" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("awards:decision_notify", args=[consultation_opened.pk, decision.pk]),
            {"notify-0-body": "Nous vous notifions le marché signé le 13/04/2026."},
        )
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.notification.body == "Nous vous notifions le marché signé le 13/04/2026."
