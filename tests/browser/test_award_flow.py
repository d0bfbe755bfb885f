"""From opened bids to a relaunch, in the system Chromium: an agent scores two offers on
lot 1, awards lot 1, declares lot 2 unsuccessful, and creates a suite for lot 2 only; the
company invited by the secure messaging finds the suite with the access code it received."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from awards.models import Criterion, CriterionKind, Decision, EvaluationGrid, Outcome, PriceFormula
from config import clock
from consultations.models import Access, Consultation, State, SuiteKind
from messaging.models import Kind, Message
from tests.awards.conftest import consultation_opened_make, deposit_received
from tests.browser.test_accessibility import assert_no_violation
from tests.browser.test_consultation_flow import log_in, log_out
from tests.factories import AgentFactory, CompanyUserFactory, OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def offer_card(page, company_name):
    return page.locator("section.offer-card").filter(
        has=page.get_by_role("heading", name=re.compile(re.escape(company_name)))
    )


def lot_section(page, number):
    return page.locator("section.decision-lot").filter(
        has=page.get_by_role("heading", name=re.compile(rf"^Lot {number} —"))
    )


def test_scores_award_unsuccessful_lot_and_a_suite_found_with_the_invitations_code(page):
    organisation = OrganisationFactory(name="Commune de Décision")
    agent = AgentFactory(
        organisation=organisation, can_create=True, can_decide=True, user__email="marches@decision.fr"
    )
    west = CompanyUserFactory(company__name="Bâtiment Ouest", user__email="offres@batiment-ouest.fr")
    lake = CompanyUserFactory(company__name="Charpentes du Lac", user__email="offres@charpentes.fr")
    initial = consultation_opened_make(agent, lots=2)
    Consultation.objects.filter(pk=initial.pk).update(access=Access.RESTRICTED, access_code="Init2345")
    lot1, lot2 = initial.lots.order_by("number")
    west_deposit = deposit_received(initial, west, lots=[lot1, lot2])
    deposit_received(initial, lake, lots=[lot1, lot2])
    # The grid of lot 1, as the agent set it up: price 60 % (règlement's formula), technique 40 %.
    grid = EvaluationGrid.objects.create(
        consultation=initial, lot=lot1, created_at=clock.now(), created_by=agent.user
    )
    Criterion.objects.create(
        grid=grid,
        position=1,
        label="Prix",
        weight=Decimal("60"),
        kind=CriterionKind.PRICE,
        price_formula=PriceFormula.PROPORTIONAL,
    )
    Criterion.objects.create(grid=grid, position=2, label="Valeur technique", weight=Decimal("40"))

    # GIVEN the agent on the grid of lot 1
    log_in(page, agent.user.email)
    page.goto(f"/acheteur/consultations/{initial.pk}/")
    page.get_by_role("link", name="Analyse des offres et décision").click()
    page.goto(f"/acheteur/consultations/{initial.pk}/analyse/grille/{grid.pk}/")

    # WHEN it scores the two offers: amount and a note with its comment
    for company, amount, note in (
        ("Bâtiment Ouest", "100 000", "30"),
        ("Charpentes du Lac", "120 000", "38"),
    ):
        card = offer_card(page, company)
        card.get_by_label("Montant de l'offre (EUR HT)").fill(amount)
        card.get_by_label(re.compile("^Note « Valeur technique »")).fill(note)
        card.get_by_label("Commentaire « Valeur technique »").fill("Mémoire technique lu en commission.")
        card.get_by_role("button", name="Enregistrer le montant et les notes").click()
        expect(page.get_by_role("heading", name=re.compile("Classement"))).to_be_visible()

    # THEN the ranking applies the formula: 60 + 30 = 90 for the lowest price, 50 + 38 = 88
    ranking = page.locator("table").filter(has_text="Valeur technique").last
    rows = ranking.locator("tbody tr")
    expect(rows.first).to_contain_text("Bâtiment Ouest")
    expect(rows.first).to_contain_text("90")
    expect(rows.nth(1)).to_contain_text("Charpentes du Lac")
    expect(rows.nth(1)).to_contain_text("88")
    assert_no_violation(page)

    # WHEN it awards lot 1 to the first and declares lot 2 unsuccessful
    page.goto(f"/acheteur/consultations/{initial.pk}/decisions/")
    first = lot_section(page, 1)
    first.get_by_label("Attribué").check()
    first.get_by_label("Attributaire").select_option(value=str(west_deposit.pk))
    first.get_by_label("Montant du marché (EUR HT)").fill("100 000")
    first.get_by_label("Durée du marché (mois)").fill("12")
    first.get_by_role("button", name="Enregistrer la décision").click()
    expect(lot_section(page, 1).get_by_role("heading", name="Décision enregistrée")).to_be_visible()
    second = lot_section(page, 2)
    second.get_by_label("Infructueux").check()
    second.get_by_label("Motif").fill("Les deux offres dépassent le budget de l'opération.")
    second.get_by_role("button", name="Enregistrer la décision").click()
    expect(lot_section(page, 2).get_by_role("heading", name="Décision enregistrée")).to_be_visible()
    assert_no_violation(page)
    assert {d.lot.number: d.outcome for d in Decision.objects.filter(consultation=initial)} == {
        1: Outcome.AWARDED,
        2: Outcome.UNSUCCESSFUL,
    }

    # AND creates a suite from « Mes actions », for lot 2 only
    page.goto(f"/acheteur/consultations/{initial.pk}/")
    expect(page.get_by_text("Décidée").first).to_be_visible()
    page.get_by_role("link", name="Créer une suite").click()
    page.get_by_role("radio", name=re.compile("Consultation partiellement infructueuse")).check()
    page.get_by_role("radio", name="Sélection du/des lot(s) suivant(s)").check()
    page.get_by_role("checkbox", name=re.compile(r"Lot 2 - ")).check()
    assert_no_violation(page)
    page.get_by_role("button", name="Valider").click()
    suite = Consultation.objects.get(parent=initial)
    assert suite.suite_kind == SuiteKind.PARTIALLY_UNSUCCESSFUL
    assert [(lot.number, lot.origin_id) for lot in suite.lots.all()] == [(2, lot2.pk)]
    assert suite.access == Access.RESTRICTED and suite.access_code not in ("", "Init2345")
    expect(page).to_have_url(re.compile(rf"/acheteur/consultations/{suite.pk}/"))

    # The suite goes through its tabs and validation as any consultation (tested elsewhere).
    now = clock.now()
    Consultation.objects.filter(pk=suite.pk).update(
        state=State.ONLINE, published_at=now, scheduled_publication_at=now, deadline=now + timedelta(days=21)
    )
    suite.dce_versions.update(published_at=now)

    # WHEN the agent sends the invitation à concourir to the candidate of lot 2
    page.goto(f"/acheteur/consultations/{suite.pk}/")
    expect(page.get_by_text(initial.reference).first).to_be_visible()  # the permanent link
    page.get_by_role("link", name="Envoyer l'invitation à concourir").click()
    page.get_by_role("checkbox", name=re.compile("Bâtiment Ouest")).uncheck()
    page.get_by_role("checkbox", name=re.compile("Charpentes du Lac")).check()
    page.get_by_role("button", name="Envoyer l'invitation à concourir").click()
    expect(page.get_by_text(re.compile("Invitation"))).not_to_have_count(0)
    log_out(page)
    (invitation,) = Message.objects.filter(kind=Kind.INVITATION)
    assert (invitation.thread.company, invitation.thread.consultation) == (lake.company, suite)

    # THEN the company reads it in its inbox and unlocks the suite with the code it gives
    log_in(page, lake.user.email)
    page.goto("/entreprise/messages/")
    page.get_by_role("link", name=re.compile(re.escape(suite.reference))).first.click()
    page.get_by_role("link", name=re.compile(re.escape(invitation.subject))).first.click()
    body = page.get_by_role("main").inner_text()
    code = re.search(r"Code d'accès : (\S+)", body).group(1)
    assert code == suite.access_code
    page.goto(f"/consultations/{suite.pk}/")
    expect(page.get_by_text(initial.reference).first).to_be_visible()
    page.get_by_label("Code d'accès").fill(code)
    page.get_by_role("button", name="Accéder au dossier").click()
    expect(page.get_by_text("Code d'accès accepté")).to_be_visible()
    assert_no_violation(page)
