import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_the_site_is_french_even_for_a_browser_that_prefers_english(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    body = response.content.decode()
    assert '<html lang="fr">' in body
    assert "Espace entreprise" in body


@pytest.mark.django_db
def test_english_is_available_from_the_language_selector(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = client.get("/").content.decode()
    assert '<html lang="en">' in body
    assert "Company space" in body and "Skip to content" in body
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    assert "Espace entreprise" in client.get("/").content.decode()
