"""The practice consultation (« consultation de test »): created once by a command (and by
seed_demo), open to any company at any time, encrypted to a key nobody holds, kept out of
the public list, and its deposits marked as practice."""

import html
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from consultations.models import Consultation, State
from consultations.notices import NoticeFilters, notices_latest, notices_search
from deposits.models import DepositStatus
from deposits.practice import practice_consultation_ensure
from deposits.services.deposits import deposit_start
from deposits.services.responses import deposit_validate, finalisation_message
from tests.deposits.test_tus import pdf_bytes, upload


def text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


@pytest.fixture
def practice(db, clock):
    return practice_consultation_ensure()


def test_the_command_creates_the_practice_consultation_once(db, clock):
    output = io.StringIO()
    call_command("practice_consultation", stdout=output)
    call_command("practice_consultation", stdout=io.StringIO())
    consultation = Consultation.objects.get(is_practice=True)
    assert "Consultation de test prête" in output.getvalue()
    assert consultation.state == State.ONLINE and consultation.deadline is None
    assert consultation.organisation.name == "Plateforme — consultation de test"
    # Encrypted to one key, of which only the certificate exists
    (key,) = consultation.opening_keys.all()
    assert key.certificate_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in key.certificate_pem


def test_it_is_not_in_the_public_list(practice, buyer):
    from tests.factories import consultation_online

    listed = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    assert list(notices_search(NoticeFilters())) == [listed]
    assert practice not in notices_latest()
    assert practice not in list(notices_search(NoticeFilters(include_closed=True)))


def test_any_company_deposits_to_it_after_any_deadline_and_it_counts_as_a_test(practice, company_user, clock):
    # GIVEN a time years away
    clock.advance(days=3 * 365)
    # WHEN a company deposits
    deposit = deposit_start(consultation=practice, user=company_user.user)
    upload(deposit, company_user.user, "essai.pdf", pdf_bytes(3000))
    deposit = deposit_validate(deposit=deposit, user=company_user.user, conditions_accepted=True)
    # THEN it is received, marked as a practice deposit, and told so
    assert deposit.is_practice and deposit.status == DepositStatus.ON_TIME
    assert "Votre dépôt d'essai a bien été reçu le" in finalisation_message(deposit)
    assert "consultation de test" in finalisation_message(deposit)


def test_the_company_space_link_leads_to_the_practice_deposit_page(client, company_user, clock):
    client.force_login(company_user.user)
    response = client.get(reverse("deposits:company_practice"), follow=True)
    practice = Consultation.objects.get(is_practice=True)
    assert response.redirect_chain[-1][0] == reverse("deposits:company_deposit", args=[practice.pk])
    page = text(response)
    assert "Consultation de test : déposez-y un pli pour essayer votre poste de travail" in page
    # No backup copy for a test
    assert "Copie de sauvegarde" not in page


def test_the_practice_deposit_goes_through_the_page(client, company_user, practice, clock):
    from tests.deposits.test_tus import upload_http

    client.force_login(company_user.user)
    client.post(reverse("deposits:company_deposit", args=[practice.pk]))
    deposit = practice.deposits.get()
    upload_http(client, deposit, "essai.pdf", pdf_bytes(3000))
    clock.advance(days=400)
    response = client.post(
        reverse("deposits:company_validate", args=[deposit.pk]), {"conditions": "on"}, follow=True
    )
    assert "Votre dépôt d'essai a bien été reçu le" in text(response)
    deposit.refresh_from_db()
    assert deposit.is_practice and deposit.received_at == clock()
