"""Arithmetic correction of an offer: the unit prices prevail, and the offer is judged on
the corrected amount (awards/services/corrections.py), and its screen."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from audit.models import Event
from awards.models import Criterion, CriterionKind, Decision, EvaluationGrid, Outcome, PriceFormula
from awards.services.corrections import OfferError, offer_amount_correct, offer_amount_correction_withdraw
from awards.services.scoring import grid_results, offer_amount_record, score_record
from tests.awards.conftest import deposit_received
from tests.conftest import login_verified
from tests.factories import AgentFactory, CompanyUserFactory


def grid_make(consultation, user, clock, *, lot=None):
    """Price 60 % (proportional), technical value 40 % noted in points."""
    grid = EvaluationGrid.objects.create(
        consultation=consultation, lot=lot, created_at=clock(), created_by=user
    )
    Criterion.objects.create(
        grid=grid,
        position=1,
        label="Prix",
        weight=D("60"),
        kind=CriterionKind.PRICE,
        price_formula=PriceFormula.PROPORTIONAL,
    )
    Criterion.objects.create(grid=grid, position=2, label="Valeur technique", weight=D("40"))
    return grid


def offer_make(grid, company_user, amount, technical, user, *, lots=()):
    deposit = deposit_received(grid.consultation, company_user, lots=lots)
    row = offer_amount_record(grid=grid, deposit=deposit, amount=D(amount), user=user)
    score_record(
        criterion=grid.criteria.get(label="Valeur technique"),
        deposit=deposit,
        value=D(technical),
        comment="Mémoire technique complet.",
        user=user,
    )
    return row


@pytest.fixture
def grid(consultation_opened, buyer, clock):
    return grid_make(consultation_opened, buyer.user, clock)


@pytest.fixture
def offers(grid, buyer, company_user, other_company_user):
    third = CompanyUserFactory(company__name="Charpentes Nord")
    return {
        "Bâtiment Ouest": offer_make(grid, company_user, "90000.00", "40", buyer.user),
        "Travaux Est": offer_make(grid, other_company_user, "100000.00", "28", buyer.user),
        "Charpentes Nord": offer_make(grid, third, "120000.00", "35", buyer.user),
    }


def table(grid):
    return {
        ranked.result.label: (ranked.rank, ranked.result.points[grid.criteria.get(label="Prix").pk])
        for ranked in grid_results(grid=grid)
    }


def test_a_correction_changes_the_lowest_price_every_price_points_and_the_ranking(grid, offers, buyer):
    # GIVEN Bâtiment Ouest first on its submitted 90 000 € (60 + 40 = 100 points)
    assert table(grid) == {
        "Bâtiment Ouest": (1, D("60.00")),
        "Travaux Est": (2, D("54.00")),
        "Charpentes Nord": (3, D("45.00")),
    }
    # WHEN its detail shows 1 300 × 100 = 130 000, not 90 000
    offer_amount_correct(
        user=buyer.user,
        amount=offers["Bâtiment Ouest"],
        corrected_amount=D("130000.00"),
        reason="Ligne 4 : 1 300,00 × 100 = 130 000,00 € HT (et non 90 000,00).",
    )
    # THEN Travaux Est is now the lowest price: every offer's price points change,
    # and Bâtiment Ouest (46,15 + 40 = 86,15) falls behind Travaux Est (60 + 28 = 88)
    assert table(grid) == {
        "Travaux Est": (1, D("60.00")),
        "Bâtiment Ouest": (2, D("46.15")),
        "Charpentes Nord": (3, D("50.00")),
    }
    row = offers["Bâtiment Ouest"]
    row.refresh_from_db()
    assert (row.amount, row.corrected_amount, row.judged_amount) == (
        D("90000.00"),
        D("130000.00"),
        D("130000.00"),
    )
    assert row.correction_reason.startswith("Ligne 4 : 1 300,00 × 100")
    assert row.corrected_by == buyer.user and row.corrected_at is not None
    # the audit log knows who corrected, never the amounts nor the reason quoting them
    event = Event.objects.get(action="awards.offer_amount_correct")
    assert event.actor == buyer.user
    assert "130000" not in str(event.data) and "1 300" not in str(event.data)


def test_withdrawing_the_correction_judges_the_submitted_amount_again(grid, offers, buyer):
    row = offers["Bâtiment Ouest"]
    offer_amount_correct(user=buyer.user, amount=row, corrected_amount=D("130000"), reason="1 300 × 100")

    offer_amount_correction_withdraw(user=buyer.user, amount=row, reason="Erreur de lecture du BPU.")

    row.refresh_from_db()
    assert row.corrected_amount is None and row.judged_amount == D("90000.00")
    assert row.correction_reason == "Erreur de lecture du BPU."
    assert table(grid)["Bâtiment Ouest"] == (1, D("60.00"))
    with pytest.raises(OfferError, match="rien à retirer"):
        offer_amount_correction_withdraw(user=buyer.user, amount=row, reason="Encore")


@pytest.mark.parametrize(
    ("corrected", "reason", "message"),
    [
        ("130000", "  ", "Le motif de la rectification est obligatoire : écrivez la ligne recalculée"),
        ("0", "1 300 × 0", "Le montant rectifié doit être supérieur à 0 € HT."),
        ("-5", "x", "Le montant rectifié doit être supérieur à 0 € HT."),
        ("12.345", "x", "deux décimales au plus"),
        ("90000.00", "x", "est égal au montant remis (90000 € HT)"),
    ],
)
def test_a_correction_without_reason_or_with_a_wrong_amount_is_refused(
    grid, offers, buyer, corrected, reason, message
):
    row = offers["Bâtiment Ouest"]
    with pytest.raises(OfferError) as refused:
        offer_amount_correct(user=buyer.user, amount=row, corrected_amount=D(corrected), reason=reason)
    assert message in refused.value.message
    row.refresh_from_db()
    assert row.corrected_amount is None


def test_only_an_agent_who_may_decide_corrects_and_only_before_the_decision(
    grid, offers, buyer, organisation, opener
):
    row = offers["Bâtiment Ouest"]
    with pytest.raises(PermissionDenied):
        offer_amount_correct(user=opener.user, amount=row, corrected_amount=D("1"), reason="x")
    Decision.objects.create(
        consultation=grid.consultation,
        outcome=Outcome.UNSUCCESSFUL,
        reason="Offres inacceptables.",
        decided_at=grid.created_at,
        decided_by=buyer.user,
    )
    with pytest.raises(OfferError) as refused:
        offer_amount_correct(user=buyer.user, amount=row, corrected_amount=D("1"), reason="x")
    assert (
        refused.value.message
        == "La consultation est déjà décidée : ses offres ne peuvent plus être modifiées."
    )


# --- The screen ----------------------------------------------------------------------------


def corrections_url(grid):
    return reverse("awards:corrections", args=[grid.consultation.pk, grid.pk])


def test_the_screen_corrects_an_offer_and_shows_both_amounts(client, grid, offers, buyer):
    login_verified(client, buyer.user)
    row = offers["Bâtiment Ouest"]

    response = client.post(
        corrections_url(grid),
        {
            "action": "correct",
            "offer": row.pk,
            f"correct-{row.pk}-corrected_amount": "130000,00",
            f"correct-{row.pk}-reason": "Ligne 4 : 1 300 × 100 = 130 000",
        },
    )

    assert response.status_code == 302
    row.refresh_from_db()
    assert row.corrected_amount == D("130000.00")
    page = client.get(corrections_url(grid)).content.decode()
    assert "130\u00a0000,00" in page and "90\u00a0000,00" in page
    assert "Ligne 4 : 1 300 × 100 = 130 000" in page


def test_the_screen_shows_a_refusal_next_to_the_field_and_keeps_what_was_typed(client, grid, offers, buyer):
    login_verified(client, buyer.user)
    row = offers["Bâtiment Ouest"]

    response = client.post(
        corrections_url(grid),
        {
            "action": "correct",
            "offer": row.pk,
            f"correct-{row.pk}-corrected_amount": "130000,00",
            f"correct-{row.pk}-reason": "",
        },
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Le motif de la rectification est obligatoire" in page
    assert 'value="130000,00"' in page
    described = f"id_correct-{row.pk}-reason_helptext id_correct-{row.pk}-reason_error"
    assert f'aria-describedby="{described}"' in page
    row.refresh_from_db()
    assert row.corrected_amount is None


def test_the_screen_is_for_the_organisations_agents_and_writes_need_the_decide_permission(
    client, grid, offers, other_organisation
):
    outsider = AgentFactory(organisation=other_organisation, can_decide=True)
    login_verified(client, outsider.user)
    assert client.get(corrections_url(grid)).status_code == 404

    reader = AgentFactory(organisation=grid.consultation.organisation, can_open=True)
    client.logout()
    login_verified(client, reader.user)
    assert client.get(corrections_url(grid)).status_code == 200
    row = offers["Bâtiment Ouest"]
    response = client.post(
        corrections_url(grid),
        {
            "action": "correct",
            "offer": row.pk,
            f"correct-{row.pk}-corrected_amount": "1",
            f"correct-{row.pk}-reason": "x",
        },
    )
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.corrected_amount is None


def test_once_the_lot_is_decided_the_screen_says_so_and_offers_no_form(client, grid, offers, buyer):
    Decision.objects.create(
        consultation=grid.consultation,
        outcome=Outcome.UNSUCCESSFUL,
        reason="Offres inacceptables.",
        decided_at=grid.created_at,
        decided_by=buyer.user,
    )
    login_verified(client, buyer.user)

    page = client.get(corrections_url(grid)).content.decode()

    assert "La consultation est déjà décidée : ses offres ne peuvent plus être modifiées." in page
    assert "Enregistrer le montant rectifié" not in page
    assert "Envoyer la demande de justification" not in page
