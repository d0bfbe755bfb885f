"""The grid in the database: notes recorded by agents, amounts, results and the admin."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse

from audit.models import Event
from awards.models import Criterion, CriterionKind, EvaluationGrid, PriceFormula, Score
from awards.services.scoring import ScoringError, grid_check, grid_results, offer_amount_record, score_record
from consultations.models import EnvelopeKind
from deposits.models import Deposit, DepositState, DepositStatus, Envelope
from tests.conftest import login_verified
from tests.factories import LotFactory, UserFactory, consultation_online


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(organisation=buyer.organisation, created_by=buyer.user)


def deposit_received(consultation, company_user, *, status=DepositStatus.ON_TIME, lot=None):
    deposit = Deposit.objects.create(
        consultation=consultation,
        company=company_user.company,
        created_by=company_user.user,
        created_at=consultation.deadline - timedelta(days=1),
        received_at=consultation.deadline - timedelta(hours=1),
        state=DepositState.FINALISED,
        status=status,
    )
    Envelope.objects.create(deposit=deposit, kind=EnvelopeKind.OFFER, lot=lot)
    return deposit


@pytest.fixture
def grid(consultation, buyer, clock):
    """The seed's grid: price 75 % (proportional), technical 20 % (8/7/3/2), environment 5 %."""
    grid = EvaluationGrid.objects.create(consultation=consultation, created_at=clock(), created_by=buyer.user)
    Criterion.objects.create(
        grid=grid,
        position=1,
        label="Prix des prestations",
        weight=D("75"),
        kind=CriterionKind.PRICE,
        price_formula=PriceFormula.PROPORTIONAL,
    )
    technical = Criterion.objects.create(grid=grid, position=2, label="Valeur technique", weight=D("20"))
    for position, (label, weight) in enumerate(
        [("Méthodes", "8"), ("Planning", "7"), ("SOPAQ", "3"), ("Sécurité", "2")], start=1
    ):
        Criterion.objects.create(
            grid=grid, parent=technical, position=position, label=label, weight=D(weight)
        )
    Criterion.objects.create(grid=grid, position=3, label="Environnement", weight=D("5"))
    return grid


def criterion(grid, label):
    return grid.criteria.get(label=label)


def score_all(grid, deposit, notes, user):
    for label, value in notes.items():
        score_record(
            criterion=criterion(grid, label), deposit=deposit, value=D(value), comment="Vu.", user=user
        )


def test_agents_notes_and_amounts_give_the_ranking_of_the_seed_rule(
    grid, consultation, buyer, company_user, other_company_user, clock
):
    # GIVEN two offers received on time, after the deadline
    clock.set(consultation.deadline + timedelta(days=1))
    west = deposit_received(consultation, company_user)
    east = deposit_received(consultation, other_company_user)
    # WHEN the agent records their amounts and notes
    offer_amount_record(grid=grid, deposit=west, amount=D("120000.00"), user=buyer.user)
    offer_amount_record(grid=grid, deposit=east, amount=D("100000.00"), user=buyer.user)
    notes = {"Méthodes": "8", "Planning": "7", "SOPAQ": "3", "Sécurité": "2", "Environnement": "5"}
    score_all(grid, west, notes, buyer.user)
    score_all(
        grid,
        east,
        {"Méthodes": "4", "Planning": "3.5", "SOPAQ": "2", "Sécurité": "1", "Environnement": "2"},
        buyer.user,
    )
    # THEN west: 75 × 100 000 / 120 000 = 62,50 + 20 + 5 = 87,50 ;
    #      east: 75,00 + 10,5 + 2 = 87,50 ; equal, east is better on the price (75 %)
    ranked = grid_results(grid=grid)
    assert [(r.rank, r.result.label, r.result.total) for r in ranked] == [
        (1, "Travaux Est", D("87.50")),
        (2, "Bâtiment Ouest", D("87.50")),
    ]
    assert ranked[1].decided_by == "Prix des prestations"
    # the comment is kept with the note; the audit log knows who noted, never the amount
    assert Score.objects.get(criterion__label="Méthodes", deposit=west).comment == "Vu."
    events = Event.objects.filter(action__startswith="awards.")
    assert events.filter(action="awards.score_record").count() == 10
    assert all("amount" not in event.data for event in events)


def test_a_note_outside_its_scale_is_not_recorded(grid, consultation, buyer, company_user):
    deposit = deposit_received(consultation, company_user)
    with pytest.raises(ScoringError) as refused:
        score_record(criterion=criterion(grid, "SOPAQ"), deposit=deposit, value=D("3.5"), user=buyer.user)
    assert refused.value.message == (
        "La note 3,5 sur le critère « SOPAQ » sort de son échelle : elle doit être comprise entre 0 et 3."
    )
    assert not Score.objects.exists()


def test_the_price_and_a_parent_criterion_are_not_noted_by_hand(grid, consultation, buyer, company_user):
    deposit = deposit_received(consultation, company_user)
    with pytest.raises(ScoringError, match="il ne se note pas"):
        score_record(criterion=criterion(grid, "Prix des prestations"), deposit=deposit, value=D("70"))
    with pytest.raises(ScoringError) as refused:
        score_record(criterion=criterion(grid, "Valeur technique"), deposit=deposit, value=D("15"))
    assert (
        refused.value.message == "Notez les sous-critères de « Valeur technique » : sa note est leur somme."
    )


def test_a_late_deposit_or_one_without_an_offer_for_the_lot_is_not_analysed(
    grid, consultation, buyer, company_user, other_company_user, clock
):
    late = deposit_received(consultation, company_user, status=DepositStatus.LATE)
    with pytest.raises(ScoringError, match="n'a pas été remis dans les délais"):
        offer_amount_record(grid=grid, deposit=late, amount=D("1000"))
    lot_1, lot_2 = LotFactory(consultation=consultation), LotFactory(consultation=consultation)
    lot_grid = EvaluationGrid.objects.create(consultation=consultation, lot=lot_2, created_at=clock())
    only_lot_1 = deposit_received(consultation, other_company_user, lot=lot_1)
    with pytest.raises(ScoringError) as refused:
        offer_amount_record(grid=lot_grid, deposit=only_lot_1, amount=D("1000"))
    assert refused.value.message == f"Ce pli ne contient pas d'offre pour le lot {lot_2.number}."


def test_a_grid_whose_weights_do_not_total_100_percent_is_refused(grid):
    criterion(grid, "Environnement").delete()
    with pytest.raises(ScoringError) as refused:
        grid_check(grid=grid)
    assert refused.value.message == "Les pondérations des critères totalisent 95 % au lieu de 100 %."


def test_the_admin_shows_grids_and_scores_only_after_the_deadline(
    client, grid, consultation, buyer, company_user, clock
):
    login_verified(client, UserFactory(is_staff=True, is_superuser=True))
    deposit = deposit_received(consultation, company_user)
    score_record(criterion=criterion(grid, "SOPAQ"), deposit=deposit, value=D("2"), user=buyer.user)
    url = reverse("admin:awards_score_changelist")
    assert "SOPAQ" not in client.get(url).content.decode()
    clock.set(consultation.deadline + timedelta(minutes=1))
    assert "SOPAQ" in client.get(url).content.decode()
    change = client.get(reverse("admin:awards_evaluationgrid_change", args=[grid.pk]))
    assert change.status_code == 200
