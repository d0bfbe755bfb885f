"""An agent asks a company for documents; the company follows the e-mail's link, logs in,
lands on the message and answers with an attachment; the agent sees the answer and the
time the company first read the request — in the system Chromium."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from config import clock
from consultations.calendar import PARIS
from messaging.models import Direction, Kind, Message
from tests.browser.test_accessibility import assert_no_violation
from tests.browser.test_consultation_flow import log_in, log_out
from tests.factories import (
    PASSWORD,
    AgentFactory,
    CompanyUserFactory,
    OrganisationFactory,
    consultation_online,
    download_record,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_request_for_documents_is_answered_from_the_emails_link(page, live_server, mailoutbox, tmp_path):
    organisation = OrganisationFactory(name="Commune de Messagerie")
    agent = AgentFactory(organisation=organisation, can_create=True, user__email="achat@messagerie.fr")
    company_user = CompanyUserFactory(company__name="Charpentes du Lac", user__email="offres@charpentes.fr")
    now = clock.now()
    consultation = consultation_online(
        organisation=organisation,
        created_by=agent.user,
        reference="MSG-2026-01",
        published_at=now - timedelta(days=2),
        deadline=now + timedelta(days=30),
    )
    download_record(consultation, company_user, at=now - timedelta(days=1))
    due = (now + timedelta(days=7)).astimezone(PARIS)

    # GIVEN the agent writes a « demande de compléments » from its template, with an answer date
    log_in(page, agent.user.email)
    page.goto(f"/acheteur/consultations/{consultation.pk}/messages/nouveau/")
    page.get_by_label("Type de message").first.select_option(label="Demande de compléments")
    page.get_by_role("button", name="Choisir ce modèle").click()
    expect(page.get_by_label("Objet")).to_have_value(re.compile("MSG-2026-01"))
    page.locator("form.msg-compose").get_by_label("Type de message").select_option(
        label="Demande de compléments"
    )
    page.get_by_label("Une entreprise", exact=True).check()
    page.get_by_label("Entreprise destinataire").select_option(label="Charpentes du Lac")
    body = page.get_by_label(re.compile(r"^Message\b"))
    body.fill(body.input_value().replace("- \n", "- l'attestation d'assurance décennale\n", 1))
    page.get_by_label("Réponse attendue avant le — date").fill(due.strftime("%Y-%m-%d"))
    page.get_by_label("Réponse attendue avant le — heure (Paris)").fill("12:00")
    assert_no_violation(page)
    page.get_by_role("button", name="Envoyer le message").click()
    expect(page.get_by_text("Message envoyé à 1 entreprise")).to_be_visible()
    log_out(page)

    # WHEN the company opens the e-mail's link while logged out, and logs in
    (mail,) = [m for m in mailoutbox if m.to == [company_user.user.email]]
    assert "Accéder au contenu du message" in mail.body
    assert "assurance décennale" not in mail.body
    link = re.search(r"https?://\S+/entreprise/messages/\d+/", mail.body).group(0)
    # The link names the platform's public address; this test's server listens elsewhere.
    page.goto(urlsplit(link).path)
    page.get_by_label("Adresse électronique").fill(company_user.user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()

    # THEN it lands straight on the message, and answers with an attachment
    expect(page.get_by_role("heading", level=1)).to_contain_text("Demande de compléments")
    expect(page.get_by_text("l'attestation d'assurance décennale")).to_be_visible()
    assert_no_violation(page)
    certificate = tmp_path / "Attestation_decennale.pdf"
    certificate.write_bytes(b"%PDF-1.4\n% attestation d'assurance\n%%EOF\n")
    page.get_by_label("Votre réponse").fill("Veuillez trouver ci-joint notre attestation.")
    page.get_by_label("Pièces jointes (facultatif)").set_input_files(str(certificate))
    page.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.get_by_text("Votre réponse a été envoyée le")).to_be_visible()
    log_out(page)

    request = Message.objects.get(kind=Kind.DOCUMENTS_REQUEST)
    reply = Message.objects.get(direction=Direction.TO_BUYER)
    assert request.first_read_by == company_user.user
    assert reply.in_reply_to == request and not reply.is_late
    read_at = request.first_read_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")

    # AND the agent sees the answer, its attachment, and when the company first read the request
    log_in(page, agent.user.email)
    page.goto(f"/acheteur/consultations/{consultation.pk}/messages/")
    expect(page.get_by_role("main")).to_contain_text(read_at)
    assert_no_violation(page)
    page.goto(f"/acheteur/consultations/{consultation.pk}/messages/{request.pk}/")
    expect(page.get_by_role("main")).to_contain_text(read_at)
    expect(page.get_by_role("main")).to_contain_text("Charpentes du Lac")
    page.goto(f"/acheteur/consultations/{consultation.pk}/messages/{reply.pk}/")
    expect(page.get_by_text("Veuillez trouver ci-joint notre attestation.")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Attestation_decennale.pdf"))).to_be_visible()
    assert_no_violation(page)
