"""A company answers a consultation in the system Chromium: two files sent with
tus-js-client, the progress bars reaching 100 %, then « Valider » and the time of receipt.

``company_deposits_two_files`` is the company's part, written to be reused by the test
that goes on to the deadline and the opening."""

import contextlib
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from config import clock
from consultations.calendar import PARIS
from deposits import ingest
from deposits.models import Deposit, DepositState, DepositStatus
from deposits.selectors import part_names
from tests.browser.test_accessibility import assert_no_violation
from tests.browser.test_consultation_flow import log_in
from tests.deposits.test_tus import pdf_bytes, text_bytes
from tests.factories import AgentFactory, CompanyUserFactory, OrganisationFactory, consultation_online

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Two files of several tus chunks' worth of segments, but small enough for a quick test.
FILES = {"Acte d'engagement.pdf": pdf_bytes(1_500_000, seed=7), "Mémoire technique.txt": text_bytes(700_000)}


def company_deposits_two_files(page, consultation, company_user, tmp_path: Path) -> Deposit:
    """The company user logs in, answers the consultation with two files and validates;
    returns the finalised deposit. Checks the progress bars and the accessibility on the way."""
    log_in(page, company_user.user.email)
    page.goto(f"/consultations/{consultation.pk}/")
    page.get_by_role("main").get_by_role("button", name="Répondre à la consultation").click()
    expect(page.get_by_role("heading", name="Répondre à la consultation", level=1)).to_be_visible()
    assert_no_violation(page)

    paths = []
    for name, content in FILES.items():
        path = tmp_path / name
        path.write_bytes(content)
        paths.append(path)
    # The requested document, then a free file of the offer envelope
    page.get_by_label("Acte d'engagement", exact=True).set_input_files(str(paths[0]))
    page.get_by_label("Autres fichiers (facultatif)").last.set_input_files(str(paths[1]))

    for name in FILES:
        bar = page.get_by_role("progressbar", name=f"Progression de l'envoi de {name}")
        expect(bar).to_have_attribute("value", "100", timeout=30_000)
    uploads = page.locator("li.upload")
    expect(uploads).to_have_count(2)
    for index in range(2):
        expect(uploads.nth(index).locator(".upload-status")).to_have_text("Envoyé", timeout=30_000)
    expect(page.get_by_role("progressbar", name="Progression totale des envois")).to_have_attribute(
        "value", "100"
    )
    expect(page.locator("#overall-status")).to_have_text("2 fichiers sur 2 envoyés")
    assert_no_violation(page)

    deposit = Deposit.objects.get(consultation=consultation, state=DepositState.DRAFT)
    received = sorted((f.name, f.size, f.is_complete) for f in deposit_files_of(deposit))
    assert received == sorted((name, len(content), True) for name, content in FILES.items())

    page.get_by_label("J'ai lu et j'accepte les conditions d'utilisation").check()
    page.get_by_role("button", name="Valider", exact=True).click()
    expect(page.get_by_text("Votre dépôt a bien été reçu le")).to_be_visible()
    assert_no_violation(page)
    deposit.refresh_from_db()
    return deposit


def deposit_files_of(deposit):
    from deposits.selectors import deposit_files

    return list(deposit_files(deposit))


def test_a_company_deposits_two_files_with_progress_bars_and_is_told_when_it_was_received(page, tmp_path):
    organisation = OrganisationFactory(name="Commune de Navigateur")
    agent = AgentFactory(organisation=organisation, can_create=True, user__email="redac@nav.fr")
    consultation = consultation_online(
        organisation=organisation,
        created_by=agent.user,
        published_at=clock.now() - timedelta(days=1),
        deadline=clock.now() + timedelta(days=30),
    )
    company_user = CompanyUserFactory(company__name="Couvreurs Associés", user__email="offre@couvreurs.fr")

    deposit = company_deposits_two_files(page, consultation, company_user, tmp_path)

    assert deposit.state == DepositState.FINALISED and deposit.status == DepositStatus.ON_TIME
    assert deposit.conditions_accepted_at == deposit.received_at
    moment = deposit.received_at.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M:%S")
    expect(page.get_by_text(f"Votre dépôt a bien été reçu le {moment}")).to_be_visible()


def test_an_upload_cut_by_a_reload_resumes_where_it_stopped_when_the_file_is_chosen_again(page, tmp_path):
    organisation = OrganisationFactory(name="Commune de Reprise")
    agent = AgentFactory(organisation=organisation, can_create=True)
    consultation = consultation_online(
        organisation=organisation,
        created_by=agent.user,
        published_at=clock.now() - timedelta(days=1),
        deadline=clock.now() + timedelta(days=30),
    )
    company_user = CompanyUserFactory(company__name="Réseaux du Trégor")
    content = pdf_bytes(20 * 1024 * 1024, seed=3)
    path = tmp_path / "Offre complète.pdf"
    path.write_bytes(content)
    log_in(page, company_user.user.email)
    page.goto(f"/consultations/{consultation.pk}/")
    page.get_by_role("main").get_by_role("button", name="Répondre à la consultation").click()

    # GIVEN an upload whose connection drops after its first chunk (8 MiB)
    patches = []

    def cut_after_first_chunk(route):
        if route.request.method != "PATCH":
            return route.continue_()
        patches.append(route.request.url)
        return route.continue_() if len(patches) == 1 else route.abort()

    page.route("**/depots/tus/**", cut_after_first_chunk)
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.status == 204):
        page.get_by_label("Acte d'engagement", exact=True).set_input_files(str(path))
    deposit = Deposit.objects.get(consultation=consultation, state=DepositState.DRAFT)
    (interrupted,) = deposit_files_of(deposit)
    # WHEN the page is reloaded, the connection back, and the same file chosen again
    page.reload()
    page.unroute("**/depots/tus/**")
    interrupted.refresh_from_db()
    assert 0 < interrupted.offset < len(content)
    expect(page.get_by_text("Envoi interrompu à")).to_be_visible()
    page.get_by_label("Acte d'engagement", exact=True).set_input_files(str(path))
    # THEN only what was missing is sent, into the same upload
    expect(page.get_by_text("Reprise d'un envoi interrompu")).to_be_visible()
    bar = page.get_by_role("progressbar", name="Progression de l'envoi de Offre complète.pdf")
    expect(bar).to_have_attribute("value", "100", timeout=60_000)
    # The bar is full once the bytes are sent; « Envoyé » once the server answered the last one.
    expect(page.locator("li.upload .upload-status")).to_have_text("Envoyé", timeout=60_000)
    (resumed,) = deposit_files_of(deposit)
    assert resumed.upload_id == interrupted.upload_id and resumed.is_complete
    # A file sent in several requests is hashed when read back (as the sealing does).
    data_key = ingest.upload_key_open(resumed.upload_key, upload_id=resumed.upload_id)
    stored = ingest.verify_stored(resumed.encrypted_header(), part_names(resumed), data_key)
    assert stored.size == len(content) and stored.sha256 == hashlib.sha256(content).hexdigest()


def answering_company(page, name: str):
    organisation = OrganisationFactory(name=f"Commune de {name}")
    agent = AgentFactory(organisation=organisation, can_create=True)
    consultation = consultation_online(
        organisation=organisation,
        created_by=agent.user,
        published_at=clock.now() - timedelta(days=1),
        deadline=clock.now() + timedelta(days=30),
    )
    company_user = CompanyUserFactory(company__name=f"Entreprise {name}")
    log_in(page, company_user.user.email)
    page.goto(f"/consultations/{consultation.pk}/")
    page.get_by_role("main").get_by_role("button", name="Répondre à la consultation").click()
    expect(page.get_by_role("heading", name="Répondre à la consultation", level=1)).to_be_visible()
    return consultation


def page_overflows(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_on_a_phone_a_paused_upload_is_named_at_validation_and_removing_it_gives_the_focus_back(
    page, tmp_path
):
    page.set_viewport_size({"width": 360, "height": 800})
    answering_company(page, "Pause")
    # Measured once the stylesheets are in (the heading may show before they are applied)
    page.wait_for_load_state("load")
    # The page fits a 360 px screen (WCAG 1.4.10): only the tables scroll, in their region
    assert not page_overflows(page)
    # The consortium's fieldset has its border and does not widen the page
    fieldset = page.locator("fieldset.consortium")
    assert fieldset.evaluate("e => getComputedStyle(e).minWidth") in ("0px", "0")
    breadcrumb = page.locator("nav.breadcrumb ol")
    assert breadcrumb.evaluate("e => getComputedStyle(e).listStyleType") == "none"
    # The conditions' label is beside its box, whole, without « : »
    label = page.locator("label[for=id_conditions]")
    assert not label.inner_text().strip().endswith(":")
    box, text = page.locator("#id_conditions").bounding_box(), label.bounding_box()
    assert text["x"] >= box["x"] + box["width"] and text["x"] + text["width"] <= 360

    # GIVEN an upload whose chunks the server is slow to take (held here)
    held = []

    def hold_patches(route):
        if route.request.method == "PATCH":
            held.append(route)
        else:
            route.continue_()

    page.route("**/depots/tus/**", hold_patches)
    path = tmp_path / "Offre.pdf"
    path.write_bytes(pdf_bytes(300_000, seed=5))
    page.get_by_label("Acte d'engagement", exact=True).set_input_files(str(path))
    upload = page.locator("li.upload")
    pause = upload.get_by_role("button", name="Mettre en pause")
    resume = upload.get_by_role("button", name="Reprendre")
    expect(pause).to_be_visible()
    expect(resume).to_be_hidden()
    # WHEN it is paused, the « Mettre en pause » button disappears and « Reprendre » has the focus
    pause.click()
    expect(pause).to_be_hidden()
    expect(resume).to_be_visible()
    expect(resume).to_be_focused()
    # AND « Valider » says which file is paused and what to do
    page.get_by_label("J'ai lu et j'accepte les conditions d'utilisation").check()
    page.get_by_role("button", name="Valider", exact=True).click()
    expect(page.locator("#validate-wait")).to_have_text(
        "L'envoi de « Offre.pdf » est en pause : reprenez-le ou retirez-le avant de valider votre pli."
    )
    # AND « Retirer » takes the row away and gives the focus back to the file's input
    upload.get_by_role("button", name="Retirer").click()
    expect(upload).to_have_count(0)
    expect(page.get_by_label("Acte d'engagement", exact=True)).to_be_focused()
    expect(page.locator("#overall-status")).to_contain_text("Fichier retiré du pli.")
    assert not page_overflows(page)
    page.unroute("**/depots/tus/**")
    for route in held:
        with contextlib.suppress(Exception):  # the request was already cancelled by the page
            route.abort()


def test_a_proxys_error_page_is_not_shown_but_a_french_sentence(page, tmp_path):
    answering_company(page, "Proxy")
    # GIVEN a proxy in front of the platform that answers with its own English page
    page.route(
        "**/depots/tus/**",
        lambda route: route.fulfill(
            status=413,
            content_type="text/html",
            body="<html><body><h1>413 Request Entity Too Large</h1><hr>nginx</body></html>",
        ),
    )
    path = tmp_path / "Offre.pdf"
    path.write_bytes(pdf_bytes(3000, seed=6))
    page.get_by_label("Acte d'engagement", exact=True).set_input_files(str(path))
    error = page.locator("li.upload .upload-error")
    expect(error).to_have_text("Le serveur a refusé ce fichier.")
    expect(page.locator("li.upload")).not_to_contain_text("nginx")
    # A refusal is final: no « Reprendre »
    expect(page.locator("li.upload").get_by_role("button", name="Reprendre")).to_be_hidden()


def test_a_file_chosen_before_the_page_finished_loading_is_sent(page, tmp_path):
    # GIVEN the upload script arrives late (a slow connection): it is held back
    held = []
    page.route("**/static/js/deposit.js", lambda route: held.append(route))
    answering_company(page, "Lenteur")
    path = tmp_path / "Acte.pdf"
    path.write_bytes(pdf_bytes(64 * 1024, seed=7))
    # WHEN the company chooses its file before the script has run
    page.get_by_label("Acte d'engagement", exact=True).set_input_files(str(path))
    expect(page.locator("li.upload")).to_have_count(0)
    held[0].continue_()
    # THEN the file is sent once the script runs, without choosing it again
    expect(page.locator("li.upload .upload-status")).to_have_text("Envoyé", timeout=30_000)
