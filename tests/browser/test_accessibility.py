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


def assert_no_violation(page, *, except_rules=()):
    options = {**WCAG_AA, "rules": {rule: {"enabled": False} for rule in except_rules}}
    results = Axe().run(page, options=options)
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


def _log_in(page, email, password):
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def test_the_consultation_pages_have_no_violation(page):
    """Notices with results, a consultation, the download choice, the access code form,
    then the buyer's dashboard, details, every tab and the validation page."""
    from consultations.models import Consultation

    call_command("seed_demo", stdout=io.StringIO())
    public = Consultation.objects.get(reference="DEMO-2026-001")
    restricted = Consultation.objects.get(reference="DEMO-2026-003")
    for path in [
        "/annonces/?q=toiture",
        f"/consultations/{public.pk}/",
        f"/consultations/{public.pk}/dce/",
        f"/consultations/{restricted.pk}/",
    ]:
        page.goto(path)
        assert_no_violation(page)
    # Swagger UI (a developers' tool we serve as it is) nests a button in its operation
    # headers; its contrast is fixed by our stylesheet, that markup is not ours to change.
    page.goto("/api/docs/")
    expect(page.get_by_text("/api/consultations/{id}/", exact=True)).to_be_visible()
    assert_no_violation(page, except_rules=["nested-interactive"])

    _log_in(page, "acheteur@demoville.fr", "Demoville-Acheteur-2026")
    for path in [
        "/acheteur/consultations/",
        f"/acheteur/consultations/{public.pk}/",
        f"/acheteur/consultations/{public.pk}/validation/",
        f"/acheteur/consultations/{public.pk}/rectificatif/",
        f"/acheteur/consultations/{public.pk}/questions/",
        "/acheteur/consultations/nouvelle/",
        *(
            f"/acheteur/consultations/{public.pk}/modifier/{tab}/"
            for tab in ("identification", "pieces", "lots", "calendrier", "modalites")
        ),
    ]:
        page.goto(path)
        assert_no_violation(page)
