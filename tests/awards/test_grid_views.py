"""The analysis hub, the grid screen (criteria, amounts, notes, ranking) and the
services that write the grids."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from audit.models import Event
from awards.models import (
    CandidatureReview,
    Criterion,
    CriterionKind,
    EvaluationGrid,
    OfferAmount,
    PriceFormula,
    Score,
)
from awards.services.grids import GridError, criterion_add, criterion_update, grid_create, offer_record
from consultations.models import Consultation, State
from deposits.models import DepositStatus
from tests.awards.conftest import consultation_opened_make, deposit_received
from tests.conftest import login_verified
from tests.factories import AgentFactory, OrganisationFactory


def seed_grid(grid, user):
    """The seed's grid: price 75 % (proportional), technical 20 % (8/7/3/2), environment 5 %."""
    criterion_add(
        user=user,
        grid=grid,
        label="Prix des prestations",
        weight=D("75"),
        kind=CriterionKind.PRICE,
        price_formula=PriceFormula.PROPORTIONAL,
    )
    technical = criterion_add(user=user, grid=grid, label="Valeur technique", weight=D("20"))
    for label, weight in [("Méthodes", "8"), ("Planning", "7"), ("SOPAQ", "3"), ("Sécurité", "2")]:
        criterion_add(user=user, grid=grid, label=label, weight=D(weight), parent=technical)
    criterion_add(user=user, grid=grid, label="Environnement", weight=D("5"))
    return grid


def grid_url(grid):
    return reverse("awards:grid", args=[grid.consultation_id, grid.pk])


def offer_post(client, grid, deposit, amount, notes, *, word="base"):
    prefix = f"o{deposit.pk}-{word}"
    data = {f"{prefix}-amount": amount}
    for label, value in notes.items():
        criterion = grid.criteria.get(label=label)
        data[f"{prefix}-note_{criterion.pk}"] = value
        data[f"{prefix}-comment_{criterion.pk}"] = f"Commentaire {label}"
    return client.post(
        reverse("awards:offer_record", args=[grid.consultation_id, grid.pk, deposit.pk, word]), data
    )


WEST_NOTES = {"Méthodes": "8", "Planning": "7", "SOPAQ": "3", "Sécurité": "2", "Environnement": "5"}
EAST_NOTES = {"Méthodes": "4", "Planning": "3,5", "SOPAQ": "2", "Sécurité": "1", "Environnement": "2"}


# --- The hub ----------------------------------------------------------------------------------


def test_the_hub_offers_a_grid_per_lot_and_creates_it(client, consultation_with_lots, buyer, company_user):
    lot_1, lot_2 = consultation_with_lots.lots.order_by("number")
    deposit_received(consultation_with_lots, company_user, lots=[lot_1])
    login_verified(client, buyer.user)
    hub = reverse("awards:evaluation", args=[consultation_with_lots.pk])
    page = client.get(hub).content.decode()
    assert "Lot 1 — Lot n° 1" in page and "Lot 2 — Lot n° 2" in page
    assert page.count("Créer la grille") == 2
    # WHEN the agent creates the grid of lot 1
    response = client.post(reverse("awards:grid_create", args=[consultation_with_lots.pk]), {"lot": lot_1.pk})
    grid = EvaluationGrid.objects.get(lot=lot_1)
    assert response.status_code == 302 and response.url == grid_url(grid)
    consultation_with_lots.refresh_from_db()
    assert consultation_with_lots.state == State.EVALUATION
    # THEN the hub shows its state; lot 2, without an opened offer, refuses a grid
    page = client.get(hub).content.decode()
    assert "Grille incomplète : La grille ne comporte aucun critère." in page
    response = client.post(reverse("awards:grid_create", args=[consultation_with_lots.pk]), {"lot": lot_2.pk})
    assert response.status_code == 400
    assert "Aucune offre du lot 2 n&#x27;est encore ouverte" in response.content.decode()
    assert EvaluationGrid.objects.count() == 1


def test_before_the_opening_the_hub_tells_nothing_of_the_deposits(client, buyer, company_user, clock):
    consultation = consultation_opened_make(buyer, state=State.ONLINE)
    deposit_received(consultation, company_user, opened=False)
    login_verified(client, buyer.user)
    page = client.get(reverse("awards:evaluation", args=[consultation.pk])).content.decode()
    assert "L'analyse commence après la date limite" in page
    assert "Créer la grille" not in page
    with pytest.raises(GridError, match="La date limite de remise des plis n'est pas passée"):
        grid_create(user=buyer.user, consultation=consultation)


def test_a_grid_waits_for_the_opening_of_the_offers_and_exists_once(consultation_opened, buyer, company_user):
    deposit_received(consultation_opened, company_user, offers_opened=False)
    with pytest.raises(GridError) as refused:
        grid_create(user=buyer.user, consultation=consultation_opened)
    assert refused.value.message == (
        "Aucune offre n'est encore ouverte : la grille se crée après l'ouverture des offres."
    )
    consultation = consultation_opened_make(buyer)
    deposit_received(consultation, company_user)
    grid_create(user=buyer.user, consultation=consultation)
    with pytest.raises(GridError, match="La grille d'analyse de cette consultation existe déjà."):
        grid_create(user=buyer.user, consultation=consultation)


def test_the_buyer_actions_link_to_the_analysis_for_an_agent_who_decides(
    client, consultation_opened, buyer, opener
):
    detail = reverse("consultations:buyer_detail", args=[consultation_opened.pk])
    login_verified(client, buyer.user)
    assert "Analyse des offres et décision" in client.get(detail).content.decode()
    client.logout()
    login_verified(client, opener.user)
    assert "Analyse des offres et décision" not in client.get(detail).content.decode()


# --- The grid screen --------------------------------------------------------------------------


@pytest.fixture
def grid(consultation_opened, buyer, company_user):
    deposit_received(consultation_opened, company_user)
    return grid_create(user=buyer.user, consultation=consultation_opened)


def test_criteria_are_added_and_an_incomplete_grid_is_saved_but_not_scored(
    client, grid, consultation_opened, buyer, company_user
):
    login_verified(client, buyer.user)
    add = reverse("awards:criterion_add", args=[consultation_opened.pk, grid.pk])
    response = client.post(
        add,
        {"add-label": "Prix", "add-weight": "60", "add-kind": "price", "add-price_formula": "proportional"},
    )
    assert response.status_code == 302
    technical = client.post(add, {"add-label": "Valeur technique", "add-weight": "20,5", "add-kind": "other"})
    assert technical.status_code == 302
    page = client.get(grid_url(grid)).content.decode()
    assert (
        "Grille incomplète :</strong> Les pondérations des critères totalisent 80,5 % au lieu de 100 %."
        in page
    )
    assert "Le classement s'affiche une fois la grille complète." in page
    # the amounts and notes wait for a complete grid
    deposit = grid.consultation.deposits.get()
    assert "Enregistrer le montant et les notes" not in page
    with pytest.raises(GridError, match="Complétez la grille avant de saisir les montants et les notes."):
        offer_record(user=buyer.user, grid=grid, deposit=deposit, amount=D("1000"))
    assert [c.label for c in grid.criteria.order_by("position")] == ["Prix", "Valeur technique"]
    assert Event.objects.filter(action="awards.criterion_add").count() == 2


def test_a_bad_criterion_is_refused_next_to_its_field(client, grid, consultation_opened, buyer):
    login_verified(client, buyer.user)
    add = reverse("awards:criterion_add", args=[consultation_opened.pk, grid.pk])
    response = client.post(add, {"add-label": "Prix", "add-weight": "75", "add-kind": "price"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choisissez la formule de notation du prix." in page
    assert 'value="Prix"' in page
    response = client.post(add, {"add-label": "Délai", "add-weight": "douze", "add-kind": "other"})
    assert "Saisissez un nombre (exemple : 12,5)." in response.content.decode()
    assert not Criterion.objects.exists()


def test_the_seed_grid_scores_and_ranks_the_offers_typed_on_screen(
    client, consultation_opened, buyer, company_user, other_company_user
):
    # GIVEN two offers received on time and the seed's grid
    west = deposit_received(consultation_opened, company_user)
    east = deposit_received(consultation_opened, other_company_user)
    grid = seed_grid(grid_create(user=buyer.user, consultation=consultation_opened), buyer.user)
    login_verified(client, buyer.user)
    page = client.get(grid_url(grid)).content.decode()
    assert "Pondérations : 100 %, grille complète." in page
    # WHEN the agent types their amounts (French style) and notes
    assert offer_post(client, grid, west, "120 000,00", WEST_NOTES).status_code == 302
    assert offer_post(client, grid, east, "100000", EAST_NOTES).status_code == 302
    # THEN the ranking follows the règlement: equal totals, east better on the price
    page = client.get(grid_url(grid)).content.decode()
    ranking = page[page.index('<table class="ranking">') :]
    assert ranking.index("Travaux Est") < ranking.index("Bâtiment Ouest")
    assert ranking.count("87,50") == 2
    assert "Égalité départagée par le critère « Prix des prestations »" in ranking
    assert "62,50" in ranking and "75,00" in ranking
    assert OfferAmount.objects.get(deposit=west).amount == D("120000.00")
    assert Score.objects.get(deposit=east, criterion__label="Planning").value == D("3.5")
    assert Score.objects.get(deposit=east, criterion__label="Planning").comment == "Commentaire Planning"


def test_a_note_outside_its_scale_is_shown_on_its_field_and_nothing_is_kept(
    client, consultation_opened, buyer, company_user
):
    deposit = deposit_received(consultation_opened, company_user)
    grid = seed_grid(grid_create(user=buyer.user, consultation=consultation_opened), buyer.user)
    login_verified(client, buyer.user)
    response = offer_post(client, grid, deposit, "1000", {**WEST_NOTES, "SOPAQ": "3,5"})
    assert response.status_code == 400
    page = response.content.decode()
    sopaq = grid.criteria.get(label="SOPAQ")
    assert (
        f'<ul class="errorlist" id="id_o{deposit.pk}-base-note_{sopaq.pk}_error"><li>La note 3,5 sur '
        "le critère « SOPAQ » sort de son échelle : elle doit être comprise entre 0 et 3.</li></ul>"
    ) in page
    assert 'value="3,5"' in page
    assert not Score.objects.exists() and not OfferAmount.objects.exists()


def test_only_opened_on_time_offers_of_the_lot_from_admitted_candidates_are_scored(
    client, consultation_with_lots, buyer, company_user, other_company_user, clock
):
    from tests.factories import CompanyUserFactory

    lot_1, lot_2 = consultation_with_lots.lots.order_by("number")
    on_lot_1 = deposit_received(consultation_with_lots, company_user, lots=[lot_1], variant_lots=[lot_1])
    on_lot_2 = deposit_received(consultation_with_lots, other_company_user, lots=[lot_2])
    deposit_received(
        consultation_with_lots,
        CompanyUserFactory(company__name="Retard SARL"),
        lots=[lot_1],
        status=DepositStatus.LATE,
    )
    refused = deposit_received(
        consultation_with_lots, CompanyUserFactory(company__name="Refus SA"), lots=[lot_1]
    )
    CandidatureReview.objects.create(
        deposit=refused, admitted=False, reason="DC2 absent.", reviewed_at=clock(), reviewed_by=buyer.user
    )
    grid = seed_grid(grid_create(user=buyer.user, consultation=consultation_with_lots, lot=lot_1), buyer.user)
    login_verified(client, buyer.user)
    page = client.get(grid_url(grid)).content.decode()
    assert "Bâtiment Ouest (variante)" in page
    assert "Travaux Est" not in page and "Retard SARL" not in page
    assert "Candidature non admise : son offre n'est pas analysée." in page
    assert offer_post(client, grid, on_lot_1, "5000", WEST_NOTES, word="variante").status_code == 302
    assert offer_post(client, grid, on_lot_2, "5000", WEST_NOTES).status_code == 404
    assert OfferAmount.objects.get(deposit=on_lot_1).variant is True
    with pytest.raises(GridError, match="La candidature de ce candidat n'est pas admise"):
        offer_record(user=buyer.user, grid=grid, deposit=refused, amount=D("1000"))


def test_a_scale_cannot_shrink_below_a_note_and_a_deleted_criterion_takes_its_notes(
    client, consultation_opened, buyer, company_user
):
    deposit = deposit_received(consultation_opened, company_user)
    grid = seed_grid(grid_create(user=buyer.user, consultation=consultation_opened), buyer.user)
    offer_record(
        user=buyer.user,
        grid=grid,
        deposit=deposit,
        amount=D("1000"),
        notes={criterion: (D("5"), "") for criterion in grid.criteria.filter(label="Environnement")},
    )
    environment = grid.criteria.get(label="Environnement")
    with pytest.raises(GridError, match="Une note déjà saisie sur ce critère vaut 5"):
        criterion_update(
            user=buyer.user, criterion=environment, label="Environnement", weight=D("5"), scale=D("4")
        )
    login_verified(client, buyer.user)
    response = client.post(
        reverse("awards:criterion_delete", args=[consultation_opened.pk, grid.pk, environment.pk]),
        follow=True,
    )
    assert "Le critère « Environnement » est supprimé, avec ses notes." in response.content.decode()
    assert not Score.objects.exists()
    assert "totalisent 95 % au lieu de 100 %" in response.content.decode()


def test_grid_writes_take_the_permission_to_decide_and_stop_at_the_decision(
    client, grid, consultation_opened, buyer, opener
):
    with pytest.raises(PermissionDenied):
        criterion_add(user=opener.user, grid=grid, label="Prix", weight=D("100"))
    login_verified(client, opener.user)
    response = client.post(
        reverse("awards:criterion_add", args=[consultation_opened.pk, grid.pk]),
        {"add-label": "Prix", "add-weight": "100", "add-kind": "other"},
    )
    assert response.status_code == 403
    client.logout()
    login_verified(client, AgentFactory(organisation=OrganisationFactory(), can_decide=True).user)
    assert client.get(grid_url(grid)).status_code == 404
    Consultation.objects.filter(pk=consultation_opened.pk).update(state=State.DECIDED)
    with pytest.raises(GridError, match="avant la décision"):
        criterion_add(user=buyer.user, grid=grid, label="Prix", weight=D("100"))
    assert not Criterion.objects.exists()


def test_a_criterion_is_renamed_and_reweighted_from_the_screen(client, grid, consultation_opened, buyer):
    criterion = criterion_add(user=buyer.user, grid=grid, label="Valeur techniqe", weight=D("40"))
    login_verified(client, buyer.user)
    prefix = f"c{criterion.pk}"
    response = client.post(
        reverse("awards:criterion_update", args=[consultation_opened.pk, grid.pk, criterion.pk]),
        {
            f"{prefix}-label": "Valeur technique",
            f"{prefix}-weight": "100",
            f"{prefix}-kind": "other",
            f"{prefix}-scale": "20",
        },
        follow=True,
    )
    assert "Pondérations : 100 %, grille complète." in response.content.decode()
    criterion.refresh_from_db()
    assert (criterion.label, criterion.weight, criterion.scale) == ("Valeur technique", D("100"), D("20"))
