"""The analysis report (« rapport d'analyse des offres »): what the PDF and the spreadsheet
say, and who may produce them."""

import io
from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse

from audit.models import Event
from awards.models import CandidatureReview, EvaluationGrid, LowOfferDecision
from awards.services.corrections import offer_amount_correct
from awards.services.low_offers import justification_request, low_offer_decide
from consultations.calendar import PARIS
from tests.awards.conftest import consultation_opened_make
from tests.awards.test_corrections import grid_make, offer_make
from tests.conftest import login_verified
from tests.factories import AgentFactory, CompanyUserFactory, consultation_online
from tests.pdf import pdf_text, pdf_title


@pytest.fixture
def analysed(buyer, clock, company_user, other_company_user):
    """Lot 1 analysed: three offers, one corrected, one rejected as abnormally low, the
    candidatures reviewed; lot 2 with a grid still without criteria."""
    consultation = consultation_opened_make(buyer, clock, lots=2)
    lot_1, lot_2 = consultation.lots.order_by("number")
    grid = grid_make(consultation, buyer.user, clock, lot=lot_1)
    third = CompanyUserFactory(company__name="Charpentes Nord")
    west = offer_make(grid, company_user, "100000.00", "30", buyer.user, lots=[lot_1])
    east = offer_make(grid, other_company_user, "95000.00", "36", buyer.user, lots=[lot_1])
    north = offer_make(grid, third, "50000.00", "20", buyer.user, lots=[lot_1])
    offer_amount_correct(
        user=buyer.user,
        amount=west,
        corrected_amount=D("110000.00"),
        reason="Ligne 7 : 1 100,00 × 100 = 110 000,00 € HT",
    )
    justification_request(
        user=buyer.user, amount=north, body="Justifiez votre prix.", answer_due_at=clock() + timedelta(days=5)
    )
    low_offer_decide(
        user=buyer.user,
        amount=north,
        decision=LowOfferDecision.REJECTED,
        reason="Aucune justification reçue dans le délai.",
    )
    for row, admitted, reason in (
        (west, True, ""),
        (east, True, ""),
        (north, False, "Attestation d'assurance absente."),
    ):
        CandidatureReview.objects.create(
            deposit=row.deposit,
            admitted=admitted,
            financial_ok=admitted,
            reason=reason,
            reviewed_at=clock(),
            reviewed_by=buyer.user,
        )
    EvaluationGrid.objects.create(
        consultation=consultation, lot=lot_2, created_at=clock(), created_by=buyer.user
    )
    return consultation


def report_url(consultation, fmt):
    return reverse(f"awards:report_{fmt}", args=[consultation.pk])


def test_the_pdf_report_states_the_grid_candidatures_amounts_decisions_points_and_ranks(
    client, analysed, buyer, clock
):
    clock.set(datetime(2026, 4, 2, 10, 30, 5, tzinfo=PARIS))
    login_verified(client, buyer.user)

    response = client.get(report_url(analysed, "pdf"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="rapport-analyse-{analysed.reference}.pdf"' in response["Content-Disposition"]
    content = response.content
    assert pdf_title(content) == f"Rapport d'analyse des offres — {analysed.reference}"
    text = pdf_text(content)
    assert f"{analysed.reference} — {analysed.title}" in text
    # the grid of lot 1: criteria, weights, formula
    assert "Lot 1 : Lot n° 1" in text
    assert "Prix 60 % Prix (calculé par une formule) Proportionnelle" in text
    assert "Valeur technique 40 %" in text
    # candidatures: admitted, refused with the reason
    assert "Non admise Attestation d'assurance absente." in text
    # amounts: submitted, corrected with the recomputed line
    assert "100 000,00 € HT 110 000,00 € HT Ligne 7 : 1 100,00 × 100 = 110 000,00 € HT" in text
    assert "Offre rejetée : Aucune justification reçue dans le délai." in text
    # ranking without the rejected offer: east 60 + 36 = 96, west 51,82 + 30 = 81,82
    assert "1 Travaux Est 95 000,00 € HT 60 36 96" in text
    assert "2 Bâtiment Ouest 110 000,00 € HT 51,82 30 81,82" in text
    assert "Charpentes Nord : offre rejetée comme anormalement basse, non classée." in text
    # the agents' comments; lot 2 not ready; who produced it and when
    assert "Mémoire technique complet." in text
    assert (
        "Lot 2 : Lot n° 2" in text and "Classement non établi : La grille ne comporte aucun critère." in text
    )
    name = buyer.user.get_full_name()
    assert (
        f"Rapport établi par la plateforme le 02/04/2026 10:30:05 (heure de Paris) à la demande de {name}."
        in text
    )
    event = Event.objects.get(action="awards.report_exported")
    assert event.actor == buyer.user and event.data["format"] == "pdf"
    # sealed by the platform (PAdES), as the opening minutes
    assert event.data["sealed"] and b"/ETSI.CAdES.detached" in content


def test_the_xlsx_report_holds_the_same_figures_as_numbers(client, analysed, buyer):
    from openpyxl import load_workbook

    login_verified(client, buyer.user)

    response = client.get(report_url(analysed, "xlsx"))

    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Consultation", "Lot 1", "Lot 2"]
    summary = workbook["Consultation"]
    assert summary["A1"].value == f"Rapport d'analyse des offres — {analysed.reference}"
    assert [[cell.value for cell in row] for row in summary.iter_rows(min_row=7, max_row=7, max_col=2)] == [
        ["Rapport produit par", buyer.user.get_full_name()]
    ]
    sheet = workbook["Lot 1"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(row for row in rows if row[0] == "Offre" and row[1] == "Variante")
    start = rows.index(header) + 1
    end = next(i for i in range(start, len(rows)) if not rows[i][0])
    offers = {row[0]: dict(zip(header, row, strict=True)) for row in rows[start:end]}
    west = offers["Bâtiment Ouest"]
    assert (west["Montant remis (€ HT)"], west["Montant rectifié (€ HT)"], west["Montant jugé (€ HT)"]) == (
        100000,
        110000,
        110000,
    )
    assert west["Motif de la rectification"] == "Ligne 7 : 1 100,00 × 100 = 110 000,00 € HT"
    assert (west["Prix"], west["Valeur technique"], west["Total"], west["Rang"]) == (51.82, 30, 81.82, 2)
    assert offers["Travaux Est"]["Rang"] == 1
    north = offers["Charpentes Nord"]
    assert (
        north["Anormalement basse (règle)"],
        north["Décision sur l'offre anormalement basse"],
        north["Rang"],
    ) == (
        "Oui",
        "Offre rejetée",
        "Rejetée",
    )
    assert ["Charpentes Nord (" in (row[0] or "") and row[2] == "Non admise" for row in rows].count(True) == 1
    assert any(
        row[:4] == ["Bâtiment Ouest", "Valeur technique", 30, "Mémoire technique complet."] for row in rows
    )


def test_the_report_is_read_by_agents_who_decide_or_open_and_not_before_the_opening(
    client, analysed, buyer, organisation, other_organisation
):
    opener = AgentFactory(organisation=organisation, can_open=True)
    login_verified(client, opener.user)
    assert client.get(report_url(analysed, "xlsx")).status_code == 200

    creator = AgentFactory(organisation=organisation, can_create=True)
    client.logout()
    login_verified(client, creator.user)
    assert client.get(report_url(analysed, "pdf")).status_code == 403

    outsider = AgentFactory(organisation=other_organisation, can_decide=True, can_open=True)
    client.logout()
    login_verified(client, outsider.user)
    assert client.get(report_url(analysed, "pdf")).status_code == 404

    client.logout()
    login_verified(client, buyer.user)
    online = consultation_online(organisation=organisation, created_by=buyer.user)
    assert client.get(report_url(online, "pdf")).status_code == 404
