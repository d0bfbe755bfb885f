"""Review of issue 6 (analysis, decisions, essential data): bad input on the award screens
is refused in French, never a server error."""

import pytest
from django.urls import reverse

from awards.models import ContractModification, Decision, EssentialData
from deposits.models import DepositStatus
from tests.awards.conftest import deposit_received
from tests.awards.test_corrections import grid_make, offer_make
from tests.awards.test_decp import COMPLEMENTS, awarded, published
from tests.conftest import login_verified


@pytest.fixture
def grid_with_offer(consultation_opened, buyer, company_user, clock):
    grid = grid_make(consultation_opened, buyer.user, clock)
    row = offer_make(grid, company_user, "90000.00", "30", buyer.user)
    return grid, row


@pytest.mark.parametrize("offer", ["abc", "12abc", " "])
def test_corrections_with_an_unreadable_offer_id_is_not_found_not_a_server_error(
    client, grid_with_offer, buyer, offer
):
    grid, row = grid_with_offer
    login_verified(client, buyer.user)
    url = reverse("awards:corrections", args=[grid.consultation_id, grid.pk])
    response = client.post(
        url, {"action": "withdraw", "offer": offer, f"withdraw-{row.pk}-reason": "Erreur."}
    )
    assert response.status_code == 404


@pytest.fixture
def decision(consultation_opened, buyer, company_user, clock):
    return awarded(consultation_opened, buyer, company_user, clock, members=False)


def essential_data_url(decision):
    return reverse("awards:essential_data", args=[decision.consultation_id, decision.pk])


def test_a_modification_posted_before_any_essential_data_is_refused_in_french(client, decision, buyer, clock):
    # GIVEN an awarded contract whose essential data were never saved nor published
    assert not EssentialData.objects.filter(decision=decision).exists()
    login_verified(client, buyer.user)
    # WHEN a modification is posted anyway (stale page, crafted request)
    response = client.post(
        essential_data_url(decision),
        {"action": "modification", "notified_on": clock().date().isoformat(), "duration_months": "30"},
    )
    # THEN it is refused with the reason, nothing is recorded
    assert response.status_code == 400
    assert "Publiez d&#x27;abord les données essentielles du marché" in response.content.decode()
    assert not ContractModification.objects.exists()


@pytest.mark.parametrize("months", ["40000", "99999999999999999999999"])
def test_a_modification_with_a_huge_duration_is_refused_next_to_the_field(
    client, decision, buyer, clock, months
):
    published(decision, buyer, COMPLEMENTS | {"typeGroupementOperateurs": "Pas de groupement"})
    login_verified(client, buyer.user)
    response = client.post(
        essential_data_url(decision),
        {"action": "modification", "notified_on": clock().date().isoformat(), "duration_months": months},
    )
    assert response.status_code == 400
    assert not ContractModification.objects.exists()


# --- Numbers with a huge exponent (« 1e99 ») ---------------------------------------------------


def test_a_criterion_weight_with_a_huge_exponent_is_refused_next_to_the_field(client, grid_with_offer, buyer):
    grid, _row = grid_with_offer
    login_verified(client, buyer.user)
    url = reverse("awards:criterion_add", args=[grid.consultation_id, grid.pk])
    response = client.post(url, {"add-label": "Délais", "add-weight": "1e99", "add-kind": "other"})
    assert response.status_code == 400
    assert "Ce nombre est trop grand." in response.content.decode()
    assert not grid.criteria.filter(label="Délais").exists()


def test_a_decision_amount_with_a_huge_exponent_is_refused_next_to_the_field(
    client, consultation_opened, buyer, company_user
):
    deposit = deposit_received(consultation_opened, company_user)
    login_verified(client, buyer.user)
    response = client.post(
        reverse("awards:decision_record", args=[consultation_opened.pk]),
        {
            "lot": "0",
            "decision-0-outcome": "awarded",
            "decision-0-winner": str(deposit.pk),
            "decision-0-amount": "1e99",
            "decision-0-duration_months": "12",
        },
    )
    assert response.status_code == 400
    assert "Ce nombre est trop grand." in response.content.decode()
    assert not Decision.objects.exists()


def test_a_corrected_amount_with_a_huge_exponent_is_refused_next_to_the_field(client, grid_with_offer, buyer):
    grid, row = grid_with_offer
    login_verified(client, buyer.user)
    url = reverse("awards:corrections", args=[grid.consultation_id, grid.pk])
    response = client.post(
        url,
        {
            "action": "correct",
            "offer": str(row.pk),
            f"correct-{row.pk}-corrected_amount": "1e99",
            f"correct-{row.pk}-reason": "Ligne 4 recalculée.",
        },
    )
    assert response.status_code == 200  # the screen again, with the refusal next to the field
    assert "Le montant rectifié est trop élevé." in response.content.decode()
    row.refresh_from_db()
    assert row.corrected_amount is None


# --- Refusals the screens must show ------------------------------------------------------------


def test_an_award_to_a_late_deposit_posted_on_the_screen_is_refused_with_a_precise_message(
    client, consultation_opened, buyer, company_user, other_company_user
):
    deposit_received(consultation_opened, company_user)
    late = deposit_received(consultation_opened, other_company_user, status=DepositStatus.LATE)
    login_verified(client, buyer.user)
    response = client.post(
        reverse("awards:decision_record", args=[consultation_opened.pk]),
        {
            "lot": "0",
            "decision-0-outcome": "awarded",
            "decision-0-winner": str(late.pk),
            "decision-0-amount": "1000",
            "decision-0-duration_months": "12",
        },
    )
    assert response.status_code == 400
    assert "qui ont remis une offre dans les délais pour ce lot" in response.content.decode()
    assert not Decision.objects.exists()


def test_a_grid_without_its_lot_is_refused_with_a_message_on_the_hub(client, consultation_with_lots, buyer):
    login_verified(client, buyer.user)
    response = client.post(reverse("awards:grid_create", args=[consultation_with_lots.pk]), {"lot": "abc"})
    assert response.status_code == 400
    assert "Choisissez le lot dont la grille est à créer." in response.content.decode()


def test_publishing_twice_says_the_data_are_already_published(client, decision, buyer):
    # GIVEN complete essential data, published by a first click
    decp_complements = COMPLEMENTS | {"typeGroupementOperateurs": "Pas de groupement"}
    from awards import decp

    decp.complements_save(user=buyer.user, decision=decision, values=decp_complements)
    login_verified(client, buyer.user)
    assert client.post(essential_data_url(decision), {"action": "publish"}).status_code == 302
    # WHEN the button is clicked again (double click, back button)
    response = client.post(essential_data_url(decision), {"action": "publish"})
    # THEN the page says why nothing happened
    assert response.status_code == 400
    assert "Ces données essentielles sont déjà publiées." in response.content.decode()


HUGE = 99999999999999999999999


def test_huge_ids_in_the_urls_are_not_found(client, grid_with_offer, buyer, company_user):
    grid, row = grid_with_offer
    pk = grid.consultation_id
    login_verified(client, buyer.user)
    for name, args in [
        ("awards:evaluation", [HUGE]),
        ("awards:grid", [pk, HUGE]),
        ("awards:corrections", [pk, HUGE]),
        ("awards:essential_data", [pk, HUGE]),
        ("awards:award_notice", [HUGE]),
        ("awards:award_notice_pdf", [HUGE]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    assert client.get(f"/donnees-essentielles/{HUGE}.json").status_code == 404
    for name, args in [
        ("awards:criterion_update", [pk, grid.pk, HUGE]),
        ("awards:candidature_review", [pk, HUGE]),
        ("awards:decision_letters", [pk, HUGE]),
    ]:
        assert client.post(reverse(name, args=args)).status_code == 404, name
    response = client.post(
        reverse("awards:corrections", args=[pk, grid.pk]), {"action": "withdraw", "offer": str(HUGE)}
    )
    assert response.status_code == 404


def test_the_corrections_screen_with_the_offers_amounts_is_never_cached(client, grid_with_offer, buyer):
    grid, _row = grid_with_offer
    login_verified(client, buyer.user)
    response = client.get(reverse("awards:corrections", args=[grid.consultation_id, grid.pk]))
    assert response.status_code == 200 and "90" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_empty_posts_on_every_award_screen_are_never_a_server_error(
    client, grid_with_offer, buyer, company_user, clock
):
    grid, row = grid_with_offer
    consultation = grid.consultation
    pk = consultation.pk
    deposit = row.deposit
    criterion = grid.criteria.get(label="Valeur technique")
    decision = awarded(consultation, buyer, company_user, clock, deposit=deposit, members=False)
    login_verified(client, buyer.user)
    for name, args in [
        ("awards:grid_create", [pk]),
        ("awards:candidature_review", [pk, deposit.pk]),
        ("awards:complements_request", [pk, deposit.pk]),
        ("awards:criterion_add", [pk, grid.pk]),
        ("awards:criterion_update", [pk, grid.pk, criterion.pk]),
        ("awards:offer_record", [pk, grid.pk, deposit.pk, "base"]),
        ("awards:offer_record", [pk, grid.pk, deposit.pk, "autre"]),
        ("awards:corrections", [pk, grid.pk]),
        ("awards:decision_record", [pk]),
        ("awards:decision_letters", [pk, decision.pk]),
        ("awards:decision_signature", [pk, decision.pk]),
        ("awards:decision_notify", [pk, decision.pk]),
        ("awards:essential_data", [pk, decision.pk]),
    ]:
        response = client.post(reverse(name, args=args), {})
        assert response.status_code < 500, name
    for name, args in [("awards:grid_create", [pk]), ("awards:decision_record", [pk])]:
        assert client.get(reverse(name, args=args)).status_code == 405, name


def test_an_award_to_an_offer_still_sealed_is_refused(client, consultation_opened, buyer, company_user):
    # GIVEN a deposit on time whose candidature is opened but whose offer is still sealed
    # (opening by envelope: the offers of the admitted candidates are opened afterwards)
    sealed = deposit_received(consultation_opened, company_user, offers_opened=False)
    login_verified(client, buyer.user)
    # WHEN the agent awards the contract to it
    response = client.post(
        reverse("awards:decision_record", args=[consultation_opened.pk]),
        {
            "lot": "0",
            "decision-0-outcome": "awarded",
            "decision-0-winner": str(sealed.pk),
            "decision-0-amount": "1000",
            "decision-0-duration_months": "12",
        },
    )
    # THEN it is refused: nobody has read that offer
    assert response.status_code == 400
    assert "Bâtiment Ouest n&#x27;est pas encore ouverte" in response.content.decode()
    assert not Decision.objects.exists()
