import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_company_user_opens_the_home_page_logs_in_and_sees_its_space(page):
    # GIVEN the demo data
    call_command("seed_demo", stdout=io.StringIO())

    # WHEN a visitor opens the home page
    page.goto("/")
    expect(page).to_have_title("Salle des marchés publics")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    nav = page.get_by_role("navigation", name="Menu principal")
    expect(nav.get_by_role("link", name="Annonces")).to_be_visible()
    expect(nav.get_by_role("link", name="Espace entreprise")).to_be_visible()
    expect(nav.get_by_role("link", name="Espace acheteur")).to_be_visible()

    # AND logs in as the demo company user
    page.get_by_role("banner").get_by_role("link", name="Se connecter").click()
    page.get_by_label("Adresse électronique").fill("contact@armor-batiment.fr")
    page.get_by_label("Mot de passe").fill("Armor-Batiment-2026")
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()

    # THEN it lands in the company space of its company
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace entreprise")
    expect(page.get_by_role("heading", name="Armor Bâtiment")).to_be_visible()
    expect(page.get_by_text("44123456400017")).to_be_visible()


def test_the_skip_link_is_the_first_stop_of_the_keyboard_and_leads_to_the_content(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()


def test_a_wrong_password_says_so_in_french_and_keeps_the_address(page):
    call_command("seed_demo", stdout=io.StringIO())
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill("contact@armor-batiment.fr")
    page.get_by_label("Mot de passe").fill("pas-le-bon")
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_contain_text("Adresse électronique ou mot de passe incorrect.")
    expect(page.get_by_label("Adresse électronique")).to_have_value("contact@armor-batiment.fr")
