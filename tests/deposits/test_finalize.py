"""Starting and finalising a deposit: one draft per company, the deadline judged to the
second by the platform's clock (at the deadline is late, and kept), and successive
deposits where the last on-time one counts."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from audit.models import Event
from consultations.models import ElectronicResponse, EnvelopeKind, State
from deposits.models import Deposit, DepositState, DepositStatus
from deposits.services.deposits import deposit_finalize, deposit_start
from deposits.services.errors import DepositError
from deposits.services.uploads import deposit_file_create
from tests.deposits.test_tus import pdf_bytes, upload, upload_http
from tests.factories import CompanyUserFactory, LotFactory, consultation_online


def finalised(consultation, company_user, *, name: str = "offre.pdf") -> Deposit:
    deposit = deposit_start(consultation=consultation, user=company_user.user)
    upload(deposit, company_user.user, name, pdf_bytes(2000))
    return deposit_finalize(deposit=deposit, user=company_user.user)


# --- Starting ----------------------------------------------------------------------------


def test_a_company_has_one_draft_per_consultation_with_its_envelopes(buyer, company_user, clock):
    # GIVEN a consultation in two lots
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    LotFactory(consultation=consultation, number=2)
    LotFactory(consultation=consultation, number=1)
    # WHEN two users of the company start answering
    deposit = deposit_start(consultation=consultation, user=company_user.user)
    colleague = CompanyUserFactory(company=company_user.company)
    again = deposit_start(consultation=consultation, user=colleague.user)
    # THEN they share one draft: a candidature, then an offer per lot
    assert again == deposit
    assert deposit.state == DepositState.DRAFT and deposit.created_at == clock()
    envelopes = [
        (e.kind, e.lot.number if e.lot else None) for e in deposit.envelopes.order_by("kind", "lot__number")
    ]
    assert envelopes == [(EnvelopeKind.CANDIDATURE, None), (EnvelopeKind.OFFER, 1), (EnvelopeKind.OFFER, 2)]


def test_without_lots_there_is_one_offer_envelope(deposit):
    assert sorted(deposit.envelopes.values_list("kind", "lot")) == [("candidature", None), ("offer", None)]


def test_only_a_company_user_starts_a_deposit(consultation, buyer):
    with pytest.raises(PermissionDenied):
        deposit_start(consultation=consultation, user=buyer.user)


@pytest.mark.parametrize("change", ["opened", "paper only", "no key"])
def test_a_consultation_that_takes_no_deposit_says_why(consultation, company_user, change):
    if change == "opened":
        consultation.state = State.OPENED
        expected = "n'est pas en ligne"
    elif change == "paper only":
        consultation.electronic_response = ElectronicResponse.FORBIDDEN
        expected = "n'accepte pas de réponse électronique"
    else:
        consultation.opening_keys.update(revoked_at=consultation.deadline)
        expected = "n'a pas de clé de chiffrement"
    consultation.save()
    with pytest.raises(DepositError) as refused:
        deposit_start(consultation=consultation, user=company_user.user)
    assert expected in refused.value.message


def test_a_company_arriving_after_the_closing_deposits_and_its_bid_is_kept_late(
    consultation, company_user, clock
):
    clock.set(consultation.deadline + timedelta(hours=1))
    consultation.state = State.CLOSED
    consultation.save(update_fields=["state"])
    deposit = finalised(consultation, company_user)
    assert deposit.status == DepositStatus.LATE


def test_a_draft_validated_after_the_opening_is_kept_late_not_refused(
    consultation, deposit, company_user, clock
):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(2000))
    clock.set(consultation.deadline + timedelta(hours=2))
    consultation.state = State.OPENED
    consultation.save(update_fields=["state"])
    deposit = deposit_finalize(deposit=deposit, user=company_user.user)
    assert deposit.status == DepositStatus.LATE and deposit.state == DepositState.FINALISED


def test_creating_files_after_the_deadline_is_still_allowed(consultation, deposit, company_user, clock):
    clock.set(consultation.deadline + timedelta(minutes=5))
    deposit_file = upload(deposit, company_user.user, "offre.pdf", pdf_bytes(1000))
    assert deposit_file.is_complete


# --- The deadline ------------------------------------------------------------------------


def test_finalised_one_second_before_the_deadline_is_on_time(consultation, deposit, company_user, clock):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(5000))
    clock.set(consultation.deadline - timedelta(seconds=1))
    deposit = deposit_finalize(deposit=deposit, user=company_user.user)
    assert deposit.state == DepositState.FINALISED
    assert deposit.status == DepositStatus.ON_TIME
    assert deposit.received_at == consultation.deadline - timedelta(seconds=1)
    assert deposit.finalised_by == company_user.user


def test_finalised_at_the_deadline_is_late_and_kept(consultation, deposit, company_user, clock):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(5000))
    clock.set(consultation.deadline)
    deposit = deposit_finalize(deposit=deposit, user=company_user.user)
    deposit.refresh_from_db()
    assert deposit.state == DepositState.FINALISED
    assert deposit.status == DepositStatus.LATE
    assert deposit.received_at == consultation.deadline
    assert deposit.envelopes.get(kind="offer").files.get().is_complete


def test_a_deposit_whose_files_were_sent_before_the_closing_is_finalised_late_after_it(
    consultation, deposit, company_user, clock
):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(5000))
    clock.set(consultation.deadline + timedelta(seconds=30))
    consultation.state = State.CLOSED
    consultation.save(update_fields=["state"])
    assert deposit_finalize(deposit=deposit, user=company_user.user).status == DepositStatus.LATE


def test_the_finalisation_is_recorded_in_the_audit_log_without_the_buyers_organisation(
    consultation, deposit, company_user, clock
):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(5000))
    deposit_finalize(deposit=deposit, user=company_user.user)
    event = Event.objects.get(action="deposit.finalised")
    assert event.organisation_id is None
    assert event.actor == company_user.user
    assert event.data["status"] == "on_time" and event.data["files"] == 1 and event.data["size"] == 5000
    assert "offre.pdf" not in str(event.data)


# --- Successive deposits -----------------------------------------------------------------


def test_a_later_on_time_deposit_supersedes_the_earlier_one_which_is_kept(consultation, company_user, clock):
    first = finalised(consultation, company_user)
    clock.advance(hours=1)
    second = finalised(consultation, company_user, name="offre-corrigée.pdf")
    first.refresh_from_db()
    assert (first.status, first.superseded_by) == (DepositStatus.SUPERSEDED, second)
    assert second.status == DepositStatus.ON_TIME
    assert first.received_at < second.received_at


def test_a_late_deposit_supersedes_nothing(consultation, company_user, clock):
    on_time = finalised(consultation, company_user)
    clock.set(consultation.deadline + timedelta(seconds=1))
    late = finalised(consultation, company_user, name="trop-tard.pdf")
    on_time.refresh_from_db()
    assert on_time.status == DepositStatus.ON_TIME and on_time.superseded_by is None
    assert late.status == DepositStatus.LATE


def test_another_companys_deposits_are_never_superseded(
    consultation, company_user, other_company_user, clock
):
    theirs = finalised(consultation, other_company_user)
    clock.advance(minutes=1)
    finalised(consultation, company_user)
    theirs.refresh_from_db()
    assert theirs.status == DepositStatus.ON_TIME


def test_after_a_finalisation_a_new_draft_starts(consultation, company_user, clock):
    first = finalised(consultation, company_user)
    assert deposit_start(consultation=consultation, user=company_user.user) != first


# --- What a finalisation needs -----------------------------------------------------------


def test_an_empty_deposit_cannot_be_finalised(deposit, company_user):
    with pytest.raises(DepositError) as refused:
        deposit_finalize(deposit=deposit, user=company_user.user)
    assert refused.value.message == "Ajoutez au moins un fichier à votre pli avant de le valider."
    deposit.refresh_from_db()
    assert deposit.state == DepositState.DRAFT and deposit.received_at is None


def test_a_deposit_with_a_file_still_arriving_cannot_be_finalised(deposit, company_user):
    deposit_file_create(
        deposit=deposit, envelope=deposit.envelopes.get(kind="candidature"), user=company_user.user,
        name="dc1.pdf", size=300_000,
    )  # fmt: skip
    with pytest.raises(DepositError) as refused:
        deposit_finalize(deposit=deposit, user=company_user.user)
    assert "L'envoi du fichier « dc1.pdf » n'est pas terminé" in refused.value.message


def test_a_deposit_is_finalised_once(deposit, company_user):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(1000))
    deposit_finalize(deposit=deposit, user=company_user.user)
    with pytest.raises(DepositError) as refused:
        deposit_finalize(deposit=deposit, user=company_user.user)
    assert "Ce pli est déjà validé" in refused.value.message


def test_only_the_companys_users_finalise_its_deposit(deposit, company_user, other_company_user, buyer):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(1000))
    for intruder in (other_company_user.user, buyer.user):
        with pytest.raises(PermissionDenied):
            deposit_finalize(deposit=deposit, user=intruder)
    colleague = CompanyUserFactory(company=company_user.company)
    assert deposit_finalize(deposit=deposit, user=colleague.user).status == DepositStatus.ON_TIME


def test_a_deposit_sent_through_tus_is_finalised_with_the_files_it_received(
    company_client, deposit, company_user, clock
):
    upload_http(company_client, deposit, "offre.pdf", pdf_bytes(200_000), chunk=100_000)
    assert deposit_finalize(deposit=deposit, user=company_user.user).status == DepositStatus.ON_TIME
