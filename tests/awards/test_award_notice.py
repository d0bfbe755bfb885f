"""The award notice (« avis d'attribution »): public once the essential data are published,
as a page and as a PDF sealed by the platform."""

import pytest
from django.urls import reverse

from signatures.platform import pdf_check
from tests.awards.conftest import consultation_opened_make, deposit_received
from tests.awards.test_decp import PARTNER_SIRET, awarded, published
from tests.factories import CompanyUserFactory
from tests.pdf import pdf_text, pdf_title


@pytest.fixture
def decision(buyer, company_user, other_company_user, clock):
    consultation = consultation_opened_make(buyer, clock, lots=2)
    first, second = consultation.lots.all()
    # offers on the awarded lot 2: the winner's and one other; lot 1 only: not counted
    deposit_received(consultation, other_company_user, lots=[first, second])
    deposit_received(consultation, CompanyUserFactory(), lots=[first])
    return awarded(consultation, buyer, company_user, clock, lot=second)


def notice_url(decision, pdf=False):
    return reverse("awards:award_notice_pdf" if pdf else "awards:award_notice", args=[decision.pk])


def test_there_is_no_notice_before_the_essential_data_are_published(client, decision):
    assert client.get(notice_url(decision)).status_code == 404
    assert client.get(notice_url(decision, pdf=True)).status_code == 404


def test_the_public_notice_names_the_buyer_the_winners_the_amount_and_the_offers(
    client, decision, buyer, company_user
):
    published(decision, buyer)
    page = client.get(notice_url(decision)).content.decode()
    organisation = decision.consultation.organisation
    assert "Avis d'attribution" in page
    assert organisation.name in page and organisation.siret in page
    assert decision.consultation.reference in page
    assert "Lot 2 : Lot n° 2" in page
    # both members of the consortium, with their SIRET
    assert company_user.company.name in page and company_user.company.siret in page
    assert "Charpentes du Sud" in page and PARTNER_SIRET in page
    assert "250\u00a0000,00 €" in page and "24 mois" in page
    assert "Nombre d'offres reçues</th><td>2</td>" in page
    assert notice_url(decision, pdf=True) in page


def test_the_notice_pdf_is_sealed_and_says_what_the_page_says(client, decision, buyer, company_user):
    published(decision, buyer)
    response = client.get(notice_url(decision, pdf=True))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="avis-d-attribution-')
    content = response.content
    assert pdf_title(content) == f"Avis d'attribution — {decision.consultation.reference} — lot 2"
    assert pdf_check(content).valid
    # the text a reader of the PDF sees
    text = pdf_text(content)
    assert company_user.company.siret in text and PARTNER_SIRET in text
    assert "Date de notification" in text
    assert decision.notification.first_read_at.strftime("%d/%m/%Y") in text
    assert "Nombre d'offres reçues" in text


def test_anonymous_downloads_of_the_notice_are_sealed_once(client, decision, buyer):
    # A public download must not cost a seal and a timestamp each time
    published(decision, buyer)
    first = client.get(notice_url(decision, pdf=True)).content
    second = client.get(notice_url(decision, pdf=True)).content
    assert first == second and pdf_check(first).valid


def test_the_public_consultation_page_links_the_notice_once_published(client, decision, buyer):
    page_url = reverse("consultations:detail", args=[decision.consultation.pk])
    assert notice_url(decision) not in client.get(page_url).content.decode()
    published(decision, buyer)
    page = client.get(page_url).content.decode()
    assert "Avis d'attribution du lot 2" in page
    assert notice_url(decision) in page
