"""The decision on each lot: who may take it, when, for whom, and the screen."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from audit.models import Event
from awards.models import Decision, Outcome
from awards.services.decisions import DecisionError, decision_record
from awards.services.letters import letters_send
from consultations.models import State
from deposits.models import DepositStatus
from tests.awards.conftest import consultation_opened_make, deposit_received
from tests.conftest import login_verified
from tests.factories import AgentFactory, CompanyUserFactory, LotFactory, consultation_online


def award(user, consultation, lot, deposit, **extra):
    fields = {"amount": D("125000.50"), "duration_months": 12, **extra}
    return decision_record(
        user=user, consultation=consultation, lot=lot, outcome=Outcome.AWARDED, deposit=deposit, **fields
    )


def test_awarding_each_lot_moves_the_consultation_to_decided(
    consultation_with_lots, buyer, company_user, other_company_user
):
    # GIVEN two lots, each with an offer received on time
    consultation = consultation_with_lots
    lot1, lot2 = consultation.lots.order_by("number")
    west = deposit_received(consultation, company_user, lots=[lot1])
    east = deposit_received(consultation, other_company_user, lots=[lot2])
    # WHEN lot 1 is awarded, the consultation is under analysis, not yet decided
    decision = award(buyer.user, consultation, lot1, west)
    consultation.refresh_from_db()
    assert consultation.state == State.EVALUATION
    assert (decision.outcome, decision.deposit, decision.amount, decision.duration_months) == (
        Outcome.AWARDED,
        west,
        D("125000.50"),
        12,
    )
    # WHEN lot 2 is declared unsuccessful too, every lot has its decision: « décidée »
    decision_record(
        user=buyer.user,
        consultation=consultation,
        lot=lot2,
        outcome=Outcome.UNSUCCESSFUL,
        reason="Offre inacceptable : au-delà des crédits budgétaires.",
    )
    consultation.refresh_from_db()
    assert consultation.state == State.DECIDED
    assert east  # east's offer did not need to be chosen
    # the audit log tells who decided what, never the amount
    events = Event.objects.filter(action="awards.decision_recorded")
    assert events.count() == 2
    assert all("amount" not in event.data for event in events)
    assert Event.objects.filter(action="consultation.decided").exists()


def test_an_award_to_a_company_without_an_offer_on_that_lot_is_refused(
    consultation_with_lots, buyer, company_user, other_company_user
):
    consultation = consultation_with_lots
    lot1, lot2 = consultation.lots.order_by("number")
    east = deposit_received(consultation, other_company_user, lots=[lot1])
    with pytest.raises(DecisionError) as refused:
        award(buyer.user, consultation, lot2, east)
    assert (
        refused.value.message
        == "L'entreprise Travaux Est n'a pas déposé d'offre dans les délais pour le lot 2."
    )
    assert refused.value.field == "deposit"
    assert not Decision.objects.exists()


def test_an_award_to_a_late_deposit_is_refused(consultation_opened, buyer, company_user):
    late = deposit_received(consultation_opened, company_user, status=DepositStatus.LATE)
    with pytest.raises(DecisionError, match="n'a pas déposé d'offre dans les délais pour cette consultation"):
        award(buyer.user, consultation_opened, None, late)


def test_an_award_to_a_deposit_of_another_consultation_is_refused(buyer, clock, company_user):
    first = consultation_opened_make(buyer, clock)
    second = consultation_opened_make(buyer, clock)
    elsewhere = deposit_received(second, company_user)
    with pytest.raises(DecisionError, match="Bâtiment Ouest n'a pas déposé d'offre dans les délais"):
        award(buyer.user, first, None, elsewhere)


def test_an_award_needs_a_positive_amount_and_a_duration(consultation_opened, buyer, company_user):
    deposit = deposit_received(consultation_opened, company_user)
    with pytest.raises(DecisionError) as refused:
        award(buyer.user, consultation_opened, None, deposit, amount=D("0"))
    assert (refused.value.message, refused.value.field) == (
        "Le montant du marché doit être supérieur à 0 € HT.",
        "amount",
    )
    with pytest.raises(DecisionError) as refused:
        award(buyer.user, consultation_opened, None, deposit, duration_months=None)
    assert (refused.value.message, refused.value.field) == (
        "Indiquez la durée du marché en mois.",
        "duration_months",
    )
    with pytest.raises(DecisionError, match="Choisissez l'attributaire"):
        award(buyer.user, consultation_opened, None, None)


def test_a_variant_is_awarded_only_when_one_was_deposited(consultation_opened, buyer, company_user):
    deposit = deposit_received(consultation_opened, company_user)
    with pytest.raises(DecisionError, match="n'a pas déposé de variante"):
        award(buyer.user, consultation_opened, None, deposit, variant=True)
    other = CompanyUserFactory(company__name="Charpente Sud")
    with_variant = deposit_received(consultation_opened, other, variant_lots=[None])
    assert award(buyer.user, consultation_opened, None, with_variant, variant=True).variant is True


@pytest.mark.parametrize("outcome", [Outcome.UNSUCCESSFUL, Outcome.CANCELLED])
def test_unsuccessful_and_sans_suite_need_a_reason(consultation_opened, buyer, outcome):
    with pytest.raises(DecisionError) as refused:
        decision_record(
            user=buyer.user, consultation=consultation_opened, lot=None, outcome=outcome, reason="  "
        )
    assert refused.value.field == "reason"
    assert refused.value.message.startswith("Indiquez le motif de la décision")
    decision = decision_record(
        user=buyer.user, consultation=consultation_opened, lot=None, outcome=outcome, reason="Aucune offre."
    )
    assert decision.reason == "Aucune offre."
    assert decision.deposit is None


def test_the_lot_must_be_one_of_the_consultation(consultation_with_lots, buyer, clock):
    stranger = LotFactory(consultation=consultation_opened_make(buyer, clock), number=1)
    with pytest.raises(DecisionError, match="Ce lot n'appartient pas à cette consultation"):
        decision_record(
            user=buyer.user,
            consultation=consultation_with_lots,
            lot=stranger,
            outcome="cancelled",
            reason="x",
        )
    with pytest.raises(DecisionError, match="Choisissez le lot"):
        decision_record(
            user=buyer.user, consultation=consultation_with_lots, lot=None, outcome="cancelled", reason="x"
        )


def test_no_decision_before_the_deadline(buyer, clock):
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    clock.set(consultation.deadline - timedelta(seconds=1))
    with pytest.raises(DecisionError, match="après la date limite"):
        decision_record(user=buyer.user, consultation=consultation, lot=None, outcome="cancelled", reason="x")


def test_only_an_agent_who_may_decide_decides(
    consultation_opened, validator, company_user, other_organisation
):
    deposit = deposit_received(consultation_opened, company_user)
    with pytest.raises(PermissionDenied):
        award(validator.user, consultation_opened, None, deposit)
    outsider = AgentFactory(organisation=other_organisation, can_decide=True)
    with pytest.raises(PermissionDenied):
        award(outsider.user, consultation_opened, None, deposit)
    assert not Decision.objects.exists()


def test_a_decision_changes_until_its_letters_are_sent(
    consultation_opened, buyer, company_user, other_company_user, django_capture_on_commit_callbacks
):
    west = deposit_received(consultation_opened, company_user)
    east = deposit_received(consultation_opened, other_company_user)
    first = award(buyer.user, consultation_opened, None, west)
    # the consultation is decided, the decision may still change: one decision per lot
    changed = award(buyer.user, consultation_opened, None, east, amount=D("99000"))
    assert changed.pk == first.pk
    assert Decision.objects.get().deposit == east
    assert Event.objects.filter(action="awards.decision_changed").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        letters_send(user=buyer.user, decision=changed)
    with pytest.raises(DecisionError, match="ne peut plus être modifiée"):
        award(buyer.user, consultation_opened, None, west)
    assert Decision.objects.get().deposit == east


# --- The screen ---------------------------------------------------------------------------------


def page_url(consultation):
    return reverse("awards:decisions", args=[consultation.pk])


def test_the_screen_lists_each_lot_with_its_on_time_bidders(
    client, consultation_with_lots, buyer, company_user, other_company_user
):
    consultation = consultation_with_lots
    lot1, _lot2 = consultation.lots.order_by("number")
    west = deposit_received(consultation, company_user, lots=[lot1])
    deposit_received(consultation, other_company_user, lots=[lot1], status=DepositStatus.LATE)
    login_verified(client, buyer.user)
    response = client.get(page_url(consultation))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Lot 1 — Lot n° 1" in text and "Lot 2 — Lot n° 2" in text
    # the winner can only be chosen among the on-time offers of the lot
    assert f'<option value="{west.pk}">Bâtiment Ouest (pli n° {west.pk})</option>' in text
    assert "Travaux Est" not in text
    assert "Pas de grille d'analyse" in text


def test_the_screen_says_nothing_of_the_deposits_before_the_deadline(client, buyer, clock, company_user):
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    login_verified(client, buyer.user)
    response = client.get(page_url(consultation))
    assert response.status_code == 200
    assert "Les décisions se prennent après la date limite" in response.content.decode()
    assert "Enregistrer la décision" not in response.content.decode()


def test_the_screen_is_for_the_agents_of_the_organisation(
    client, consultation_opened, company_user, other_organisation
):
    outsider = AgentFactory(organisation=other_organisation, can_decide=True)
    login_verified(client, outsider.user)
    assert client.get(page_url(consultation_opened)).status_code == 404
    client.logout()
    login_verified(client, company_user.user)
    assert client.get(page_url(consultation_opened)).status_code == 403


def test_a_refused_decision_is_shown_next_to_its_field_and_keeps_what_was_typed(
    client, consultation_with_lots, buyer, company_user, other_company_user
):
    consultation = consultation_with_lots
    lot1, lot2 = consultation.lots.order_by("number")
    deposit_received(consultation, company_user, lots=[lot1])
    login_verified(client, buyer.user)
    response = client.post(
        reverse("awards:decision_record", args=[consultation.pk]),
        {
            "lot": str(lot2.pk),
            f"decision-{lot2.pk}-outcome": "awarded",
            f"decision-{lot2.pk}-winner": "",
            f"decision-{lot2.pk}-amount": "48000,00",
            f"decision-{lot2.pk}-duration_months": "24",
        },
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Choisissez l&#x27;attributaire parmi les entreprises qui ont remis une offre." in text
    assert f'id="id_decision-{lot2.pk}-winner_error"' in text
    assert 'value="48000,00"' in text
    assert not Decision.objects.exists()


def test_the_agent_records_a_decision_from_the_screen(client, consultation_opened, buyer, company_user):
    deposit = deposit_received(consultation_opened, company_user)
    login_verified(client, buyer.user)
    response = client.post(
        reverse("awards:decision_record", args=[consultation_opened.pk]),
        {
            "lot": "0",
            "decision-0-outcome": "awarded",
            "decision-0-winner": str(deposit.pk),
            "decision-0-amount": "125000,50",
            "decision-0-duration_months": "12",
            "decision-0-reason": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#decision")
    decision = Decision.objects.get()
    assert (decision.deposit, decision.amount) == (deposit, D("125000.50"))
    page = client.get(page_url(consultation_opened)).content.decode()
    assert "Décision enregistrée" in page and "Envoyer les lettres" in page


def test_an_agent_who_opens_but_may_not_decide_sees_the_screen_but_cannot_post(
    client, consultation_opened, opener
):
    login_verified(client, opener.user)
    page = client.get(page_url(consultation_opened)).content.decode()
    assert "Seul un agent habilité à décider" in page
    assert "Enregistrer la décision" not in page
    response = client.post(
        reverse("awards:decision_record", args=[consultation_opened.pk]),
        {"lot": "0", "decision-0-outcome": "cancelled", "decision-0-reason": "x"},
    )
    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_an_agent_who_neither_opens_nor_decides_does_not_see_the_analysis(
    client, consultation_opened, validator
):
    # The offers, notes and ranking are for the agents who open or decide, not every agent
    login_verified(client, validator.user)
    for name in ("awards:evaluation", "awards:candidatures", "awards:decisions"):
        assert client.get(reverse(name, args=[consultation_opened.pk])).status_code == 403, name


def test_an_award_to_a_refused_candidature_or_a_rejected_low_offer_is_refused(
    consultation_opened, buyer, clock, company_user, other_company_user
):
    from awards.models import CandidatureReview, EvaluationGrid, LowOfferDecision, OfferAmount

    refused_candidature = deposit_received(consultation_opened, company_user)
    CandidatureReview.objects.create(
        deposit=refused_candidature,
        financial_ok=False,
        admitted=False,
        reason="Capacités financières insuffisantes.",
        reviewed_at=clock(),
        reviewed_by=buyer.user,
    )
    with pytest.raises(
        DecisionError, match="La candidature de l'entreprise Bâtiment Ouest n'a pas été admise"
    ):
        award(buyer.user, consultation_opened, None, refused_candidature)
    low = deposit_received(consultation_opened, other_company_user)
    grid = EvaluationGrid.objects.create(
        consultation=consultation_opened, created_at=clock(), created_by=buyer.user
    )
    OfferAmount.objects.create(
        grid=grid,
        deposit=low,
        amount=D("1000"),
        low_offer_decision=LowOfferDecision.REJECTED,
        low_offer_reason="x",
    )
    with pytest.raises(DecisionError, match="rejetée comme anormalement basse"):
        award(buyer.user, consultation_opened, None, low)
    assert not Decision.objects.exists()
