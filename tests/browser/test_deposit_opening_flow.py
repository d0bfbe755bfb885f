"""From the key to the opened files, in the system Chromium: an agent generates the
consultation's opening key and downloads its PKCS#12, a company deposits two files with the
progress bars, the deadline passes, and the agent — holding the permission to open and a
session confirmed by its one-time code — opens the bids with the downloaded PKCS#12 and its
password, then downloads a file identical to what the company sent, and the PV d'ouverture."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from consultations.models import OpeningMode, State
from consultations.search import search_refresh
from deposits.models import DepositStatus, Opening, OpeningCheck
from tests.accounts.test_two_factor import current_code
from tests.browser.test_accessibility import assert_no_violation
from tests.browser.test_deposit_flow import FILES, company_deposits_two_files
from tests.factories import (
    PASSWORD,
    AgentFactory,
    CompanyUserFactory,
    ConsultationFactory,
    OrganisationFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
KEY_PASSWORD = "Clé de l'ouverture du lavoir"


def log_in_with_code(page, email, device):
    """The password, then the code of the agent's authenticator app."""
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Code de vérification", level=1)).to_be_visible()
    page.get_by_label("Code à 6 chiffres").fill(current_code(device))
    page.get_by_role("main").get_by_role("button", name="Valider").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def put_online(consultation, *, published_at):
    """What the validation does (covered by test_consultation_flow), without the workflow."""
    consultation.state = State.ONLINE
    consultation.published_at = consultation.scheduled_publication_at = published_at
    consultation.save(update_fields=["state", "published_at", "scheduled_publication_at"])
    consultation.dce_versions.update(published_at=published_at)
    search_refresh(consultation)


def test_the_agent_opens_with_the_downloaded_key_the_files_a_company_deposited(
    page, browser, live_server, clock, tmp_path
):
    # The platform's clock, held by the test, starts at the real time (certificates, timestamps).
    clock.set(timezone.now().replace(microsecond=0))
    organisation = OrganisationFactory(name="Commune du Lavoir")
    agent = AgentFactory(
        organisation=organisation, can_create=True, can_open=True, user__email="ouverture@lavoir.fr"
    )
    device = TOTPDevice.objects.create(user=agent.user, name="Application", confirmed=True)
    company_user = CompanyUserFactory(company__name="Maçonnerie du Lavoir", user__email="offre@macon.fr")
    consultation = ConsultationFactory(
        organisation=organisation,
        created_by=agent.user,
        reference="LAV-2026-01",
        title="Restauration du lavoir communal",
        opening_mode=OpeningMode.BY_RESPONSE,
        deadline=clock() + timedelta(days=10),
        opening_key=False,
    )

    # GIVEN the agent, logged in with its code, generates the consultation's opening key and
    # downloads its PKCS#12 (it stays logged in: a code serves once)
    log_in_with_code(page, agent.user.email, device)
    page.goto(f"/acheteur/consultations/{consultation.pk}/cles/")
    generate = page.get_by_role("region", name="Générer une bi-clé")
    generate.get_by_label("Libellé de la clé").fill("Clé de l'agent")
    generate.get_by_label("Mot de passe du fichier de clé :", exact=True).fill(KEY_PASSWORD)
    generate.get_by_label("Mot de passe du fichier de clé (confirmation)").fill(KEY_PASSWORD)
    with page.expect_download() as key_download:
        generate.get_by_role("button", name="Générer la clé et télécharger le fichier de clé privée").click()
    key_file = tmp_path / "cle" / key_download.value.suggested_filename
    key_download.value.save_as(key_file)
    assert key_file.suffix == ".p12" and consultation.opening_keys.count() == 1
    put_online(consultation, published_at=clock() - timedelta(hours=1))

    # AND a company deposits two files, on time, from its own browser
    company_context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    try:
        deposit = company_deposits_two_files(company_context.new_page(), consultation, company_user, tmp_path)
    finally:
        company_context.close()
    assert deposit.status == DepositStatus.ON_TIME
    # Before the deadline the agent learns nothing of it
    page.goto(f"/acheteur/consultations/{consultation.pk}/plis/")
    expect(page.get_by_role("heading", name="Avant la date limite")).to_be_visible()
    expect(page.get_by_role("form", name="Ouvrir les réponses")).to_have_count(0)

    # WHEN the deadline passes
    clock.set(consultation.deadline + timedelta(seconds=1))

    # AND the agent opens the responses with the downloaded PKCS#12 and its password
    page.reload()
    expect(page.get_by_role("heading", name="Plis et ouverture", level=1)).to_be_visible()
    opening_form = page.get_by_role("form", name="Ouvrir les réponses")
    opening_form.get_by_label("Fichier de clé privée (.p12 ou .pfx)").set_input_files(str(key_file))
    opening_form.get_by_label("Mot de passe du fichier de clé").fill(KEY_PASSWORD)
    assert_no_violation(page)
    opening_form.get_by_role("button", name="Ouvrir les réponses").click()

    # THEN both files are opened, intact
    expect(page.get_by_text("2 fichiers déchiffrés et vérifiés")).to_be_visible()
    opening = Opening.objects.get(consultation=consultation)
    assert opening.scope == Opening.Scope.RESPONSES and opening.opened_by == agent.user
    register = page.get_by_role("region", name="Plis reçus, dans l'ordre de réception (heure de Paris)")
    for name in FILES:  # each file, listed inside its envelope
        expect(
            register.get_by_role("listitem")
            .get_by_role("listitem")
            .filter(has=page.get_by_role("link", name=name))
        ).to_contain_text("Intègre")
    assert sorted(f.opening_check for f in deposit_files(deposit)) == [OpeningCheck.INTACT] * 2
    assert_no_violation(page)

    # AND a file downloaded from the page is, byte for byte, what the company sent
    name = "Mémoire technique.txt"
    with page.expect_download() as file_download:
        register.get_by_role("link", name=name, exact=True).click()
    assert file_download.value.suggested_filename == name
    assert Path(file_download.value.path()).read_bytes() == FILES[name]

    # AND the PV d'ouverture is there, as a PDF
    with page.expect_download() as minutes_download:
        page.get_by_role("link", name=re.compile("^PV d'ouverture \\(PDF\\)")).click()
    assert minutes_download.value.suggested_filename.endswith(".pdf")
    assert Path(minutes_download.value.path()).read_bytes().startswith(b"%PDF")


def deposit_files(deposit):
    from deposits.selectors import deposit_files as files_of

    return list(files_of(deposit))
