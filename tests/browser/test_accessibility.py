"""axe-core (bundled by axe-playwright-python) on the pages that exist, in the system Chromium.

axe finds part of what RGAA asks (contrast, names, labels, landmarks, language); the
keyboard tests beside it cover what axe cannot see.
"""

import io
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def assert_no_violation(page):
    results = Axe().run(page, options=WCAG_AA)
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
    assert problems == [], page.url


@pytest.mark.parametrize(
    "path", ["/", "/annonces/", "/compte/connexion/", "/compte/inscription/", "/compte/mot-de-passe/oublie/"]
)
def test_public_pages_have_no_wcag_aa_violation(page, path):
    page.goto(path)
    assert_no_violation(page)


def test_a_form_with_errors_has_no_violation_and_focuses_a_summary_linking_to_each_field(page):
    page.goto("/compte/inscription/")
    page.get_by_role("button", name="Créer le compte").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Le formulaire contient 12 erreurs.")
    summary.get_by_role("link", name="Numéro SIRET : Ce champ est obligatoire.").click()
    expect(page.get_by_label("Numéro SIRET")).to_be_focused()
    assert_no_violation(page)


@pytest.mark.parametrize(
    "email,password,path",
    [
        ("acheteur@demoville.fr", "Demoville-Acheteur-2026", "/acheteur/"),
        ("contact@armor-batiment.fr", "Armor-Batiment-2026", "/entreprise/"),
    ],
)
def test_the_spaces_have_no_violation(page, email, password, path):
    call_command("seed_demo", stdout=io.StringIO())
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    assert_no_violation(page)
    page.goto("/compte/profil/")
    assert_no_violation(page)
