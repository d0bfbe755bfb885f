"""An agent creates a consultation with two lots and its opening key, a validator approves
it, and a company finds it by keyword and downloads the DCE — in the system Chromium."""

import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from playwright.sync_api import expect

from config import clock
from consultations.calendar import PARIS
from consultations.models import Consultation, Download, State
from deposits.crypto import key_fingerprint
from tests.browser.test_accessibility import assert_no_violation
from tests.factories import PASSWORD, AgentFactory, CompanyUserFactory, OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
KEY_PASSWORD = "Phrase secrète de la chapelle"


def log_in(page, email):
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def log_out(page):
    page.get_by_role("button", name="Se déconnecter").click()


def save_and_stay(page):
    page.get_by_role("button", name="Enregistrer et rester sur cette page").first.click()


def test_an_agent_creates_a_consultation_with_two_lots_which_a_company_finds_and_downloads(page, tmp_path):
    organisation = OrganisationFactory(name="Commune de Navigateur")
    agent = AgentFactory(organisation=organisation, can_create=True, user__email="redac@nav.fr")
    AgentFactory(organisation=organisation, can_validate=True, user__email="valid@nav.fr")
    company_user = CompanyUserFactory(company__name="Couvreurs Associés", user__email="offre@couvreurs.fr")
    deadline = (clock.now() + timedelta(days=40)).astimezone(PARIS).replace(hour=12, minute=0, second=30)

    # GIVEN the agent in the buyer's space
    log_in(page, agent.user.email)
    page.goto("/acheteur/consultations/")
    page.get_by_role("link", name="Créer une consultation").first.click()

    # Identification
    page.get_by_label("Type de contrat").select_option(label="Marché")
    page.get_by_label("Type de procédure").select_option(label="Appel d'offres ouvert")
    page.get_by_label("Catégorie principale").select_option(label="Travaux")
    page.get_by_label("Référence").fill("NAV-2026-01")
    page.get_by_label("Intitulé").fill("Restauration de la chapelle Saint-Yves")
    page.get_by_label("Objet").fill("Travaux de maçonnerie et de charpente sur un monument protégé.")
    page.get_by_label("Code CPV principal").fill("45454100-5")
    save_and_stay(page)
    expect(page.get_by_text("ne peuvent plus être modifiés").first).to_be_visible()
    consultation = Consultation.objects.get(reference="NAV-2026-01")

    # Documents: the règlement de consultation and a plan
    page.goto(f"/acheteur/consultations/{consultation.pk}/modifier/pieces/")
    rules = tmp_path / "RC.pdf"
    rules.write_bytes(b"%PDF-1.4 reglement")
    plan = tmp_path / "Plan.pdf"
    plan.write_bytes(b"%PDF-1.4 plan de la chapelle")
    page.get_by_label("Règlement de consultation (RC)").set_input_files(str(rules))
    page.get_by_label("Autres pièces du DCE").set_input_files(str(plan))
    save_and_stay(page)
    expect(page.get_by_role("cell", name="Plan.pdf").or_(page.get_by_text("Plan.pdf")).first).to_be_visible()

    # Two lots
    page.goto(f"/acheteur/consultations/{consultation.pk}/modifier/lots/")
    for number, title in ((1, "Maçonnerie"), (2, "Charpente")):
        page.get_by_label("Numéro").fill(str(number))
        page.get_by_label("Intitulé").fill(title)
        page.get_by_label("Code CPV").fill("45454100-5")
        save_and_stay(page)
        expect(page.get_by_role("rowheader", name=title)).to_be_visible()
    assert_no_violation(page)

    # Calendar: the deadline to the second
    page.goto(f"/acheteur/consultations/{consultation.pk}/modifier/calendrier/")
    page.get_by_label("Date limite de remise des plis").fill(deadline.strftime("%Y-%m-%d"))
    page.get_by_label("Heure limite de remise des plis").fill(deadline.strftime("%H:%M:%S"))
    save_and_stay(page)
    expect(page.locator(".message-success, .messages").first).to_be_visible()

    # Modalities: the acte d'engagement asked in the offer envelope
    page.goto(f"/acheteur/consultations/{consultation.pk}/modifier/modalites/")
    offer = page.get_by_role("group", name="Enveloppe d'offre", exact=True)
    offer.get_by_label("Acte d'engagement", exact=True).check()
    save_and_stay(page)

    # Opening key: generated on the platform, its private key downloaded once as a PKCS#12
    page.get_by_role("link", name="Clés de chiffrement (bi-clés) de la consultation").click()
    generate = page.get_by_role("region", name="Générer une bi-clé")
    generate.get_by_label("Libellé de la clé").fill("Clé de la rédactrice")
    generate.get_by_label("Mot de passe du fichier de clé :", exact=True).fill(KEY_PASSWORD)
    generate.get_by_label("Mot de passe du fichier de clé (confirmation)").fill(KEY_PASSWORD)
    assert_no_violation(page)
    with page.expect_download() as key_download:
        generate.get_by_role("button", name="Générer la clé et télécharger le fichier de clé privée").click()
    assert key_download.value.suggested_filename.endswith(".p12")
    private_key, _certificate, _others = pkcs12.load_key_and_certificates(
        Path(key_download.value.path()).read_bytes(), KEY_PASSWORD.encode()
    )
    assert key_fingerprint(private_key.public_key()) == consultation.opening_keys.get().fingerprint

    # WHEN the agent asks for validation
    page.goto(f"/acheteur/consultations/{consultation.pk}/validation/")
    page.get_by_role("button", name="Demander la validation").click()
    consultation.refresh_from_db()
    assert consultation.state == State.PENDING_VALIDATION, page.content()
    log_out(page)

    # AND the validator approves it
    log_in(page, "valid@nav.fr")
    page.goto(f"/acheteur/consultations/{consultation.pk}/validation/")
    page.get_by_label("Commentaire du valideur").fill("Conforme.")
    page.get_by_role("button", name="Valider", exact=True).click()
    consultation.refresh_from_db()
    assert consultation.state == State.ONLINE
    assert consultation.deadline == deadline.replace(microsecond=0)
    log_out(page)

    # THEN a company finds it by keyword in the notices
    log_in(page, company_user.user.email)
    page.goto("/annonces/")
    page.get_by_label("Recherche rapide").first.fill("chapelle")
    page.get_by_label("Recherche rapide").first.press("Enter")
    result = page.get_by_role("link", name="Restauration de la chapelle Saint-Yves")
    expect(result).to_be_visible()
    assert_no_violation(page)
    result.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Restauration de la chapelle Saint-Yves")
    expect(page.get_by_text("Charpente").first).to_be_visible()
    assert_no_violation(page)

    # AND downloads the whole DCE, identified, as one ZIP
    page.get_by_role("link", name="Télécharger le DCE complet").first.click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Télécharger au nom de Couvreurs Associés").click()
    archive = zipfile.ZipFile(download_info.value.path())
    assert sorted(archive.namelist()) == ["Plan.pdf", "RC.pdf"]
    assert archive.read("Plan.pdf") == b"%PDF-1.4 plan de la chapelle"
    line = Download.objects.get(consultation=consultation)
    assert line.company == company_user.company and line.user == company_user.user and line.file_name == ""
