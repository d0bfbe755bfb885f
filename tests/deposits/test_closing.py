"""The closing at the deadline tells the consultation's creator and the agents who may open
how many deposits arrived on time (one per company) and how many late; a practice
consultation never closes."""

from datetime import timedelta

import pytest

from consultations.models import State
from consultations.tasks import consultations_sweep
from deposits.services.opening import deposits_disclosed
from tests.deposits.test_opening import deposited
from tests.deposits.test_tus import pdf_bytes
from tests.factories import AgentFactory, CompanyUserFactory, consultation_online


@pytest.fixture
def deposits(consultation, company_user, other_company_user, clock):
    # Bâtiment Ouest twice (its first superseded), Travaux Est once: two on time.
    deposited(consultation, company_user, {"offer": ("v1.pdf", pdf_bytes(1000, seed=1))})
    clock.advance(minutes=1)
    deposited(consultation, company_user, {"offer": ("v2.pdf", pdf_bytes(1000, seed=2))})
    deposited(consultation, other_company_user, {"offer": ("est.pdf", pdf_bytes(1000, seed=3))})


def sweep_at(clock, moment, capture):
    clock.set(moment)
    with capture(execute=True):
        consultations_sweep()


def test_the_closing_tells_the_creator_and_the_openers_how_many_deposits_arrived(
    consultation, deposits, buyer, opener, validator, clock, mailoutbox, django_capture_on_commit_callbacks
):
    inactive_opener = AgentFactory(organisation=consultation.organisation, can_open=True)
    inactive_opener.user.is_active = False
    inactive_opener.user.save()
    # GIVEN one late deposit, finalised after the deadline but before the sweep ran
    clock.set(consultation.deadline)
    deposited(consultation, CompanyUserFactory(), {"offer": ("tard.pdf", pdf_bytes(1000, seed=4))})
    # WHEN the sweep runs
    sweep_at(clock, consultation.deadline + timedelta(seconds=30), django_capture_on_commit_callbacks)
    # THEN the consultation is closed and the creator and the opener are told, nobody else
    consultation.refresh_from_db()
    assert consultation.state == State.CLOSED
    assert sorted(m.to[0] for m in mailoutbox) == sorted([buyer.user.email, opener.user.email])
    message = mailoutbox[0]
    assert consultation.reference in message.subject and "clôturée" in message.subject
    assert "Plis reçus dans les délais : 2" in message.body
    assert "Pli reçu hors délai : 1" in message.body
    assert "01/04/2026 à 12:00:00" in message.body
    assert f"/acheteur/consultations/{consultation.pk}/plis/" in message.body
    # No bid content and no company name in the notice.
    for secret in ("Bâtiment Ouest", "Travaux Est", "v2.pdf"):
        assert secret not in message.body


def test_nothing_is_told_before_the_deadline(
    consultation, deposits, clock, mailoutbox, django_capture_on_commit_callbacks
):
    sweep_at(clock, consultation.deadline - timedelta(seconds=1), django_capture_on_commit_callbacks)
    consultation.refresh_from_db()
    assert consultation.state == State.ONLINE
    assert mailoutbox == []


def test_a_closing_without_deposits_says_none_arrived(
    consultation, clock, mailoutbox, django_capture_on_commit_callbacks
):
    sweep_at(clock, consultation.deadline, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1
    assert "Plis reçus dans les délais : 0" in mailoutbox[0].body
    assert "hors délai : 0" in mailoutbox[0].body


def test_the_closing_is_told_once(
    consultation, deposits, clock, mailoutbox, django_capture_on_commit_callbacks
):
    sweep_at(clock, consultation.deadline, django_capture_on_commit_callbacks)
    sweep_at(clock, consultation.deadline + timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1


def test_a_practice_consultation_is_never_closed_nor_notified(
    buyer, opener, clock, mailoutbox, django_capture_on_commit_callbacks
):
    practice = consultation_online(organisation=buyer.organisation, created_by=buyer.user, is_practice=True)
    sweep_at(clock, practice.deadline + timedelta(days=1), django_capture_on_commit_callbacks)
    practice.refresh_from_db()
    assert practice.state == State.ONLINE
    assert mailoutbox == []
    assert not deposits_disclosed(practice)
