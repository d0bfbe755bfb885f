"""Personal API tokens (« Jetons d'accès à l'API »): made by a company user in the profile
area, shown once, kept as a hash only, refused once revoked or once the user is inactive."""

import hashlib
import re

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts.api_tokens import api_token_authenticate, api_token_create, api_token_revoke
from accounts.models import ApiToken
from audit.models import Event

PAGE = "/compte/jetons-api/"
TOKEN_RE = re.compile(r"sdm_[A-Za-z0-9_-]{43}")


@pytest.fixture
def company_client(client, company_user):
    client.force_login(company_user.user)
    return client


def test_a_token_is_shown_once_and_only_its_hash_is_kept(company_client, company_user, clock):
    # WHEN a company user creates a token from the page
    created = company_client.post(PAGE, {"label": "Logiciel de réponse"})
    # THEN the answer sends back to the page (POST, then GET)…
    assert created.status_code == 302 and created["Location"] == PAGE
    # … which shows it once, with the advice to copy it now
    response = company_client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    raw = TOKEN_RE.search(page).group(0)
    assert "Copiez ce jeton maintenant" in page
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    # AND the database holds its SHA-256 and its first characters, never the token
    token = ApiToken.objects.get()
    assert token.user == company_user.user and token.label == "Logiciel de réponse"
    assert token.token_sha256 == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:12] and token.created_at == clock()
    stored = [
        str(value) for value in ApiToken.objects.values_list(*[f.attname for f in ApiToken._meta.fields])[0]
    ]
    assert not any(raw in value for value in stored)
    # AND the list, seen again, gives only the beginning
    again = company_client.get(PAGE).content.decode()
    assert raw not in again and f"{raw[:12]}…" in again and "Logiciel de réponse" in again
    # AND the creation is in the audit log, without the token
    event = Event.objects.get(action="api_token.created")
    assert event.actor == company_user.user and raw not in str(event.data)


def test_a_token_authenticates_its_user_until_it_is_revoked(company_client, company_user, clock):
    token, raw = api_token_create(user=company_user.user, label="ERP")
    assert api_token_authenticate(raw) == token
    assert api_token_authenticate(raw + "x") is None
    assert api_token_authenticate(raw.replace("sdm_", "abc_")) is None
    # WHEN the user revokes it from the page, and confirms
    response = company_client.post(reverse("accounts:api_token_revoke", args=[token.pk]), follow=True)
    # THEN it says so, the list marks it revoked, and the token opens nothing any more
    page = response.content.decode()
    assert "est révoqué" in page and "Révoqué le" in page
    assert api_token_authenticate(raw) is None
    token.refresh_from_db()
    assert token.revoked_at == clock()
    assert Event.objects.filter(action="api_token.revoked", actor=company_user.user).count() == 1


def test_an_inactive_users_token_is_refused(company_user, clock):
    _token, raw = api_token_create(user=company_user.user, label="ERP")
    company_user.user.is_active = False
    company_user.user.save()
    assert api_token_authenticate(raw) is None


def test_the_last_use_is_recorded_at_most_once_a_minute(company_user, clock):
    token, raw = api_token_create(user=company_user.user, label="ERP")
    first = clock()
    api_token_authenticate(raw)
    clock.advance(seconds=40)
    api_token_authenticate(raw)
    token.refresh_from_db()
    assert token.last_used_at == first
    clock.advance(seconds=25)
    api_token_authenticate(raw)
    token.refresh_from_db()
    assert token.last_used_at == clock()


def test_a_label_is_required(company_client):
    response = company_client.post(PAGE, {"label": "   "})
    assert response.status_code == 400
    assert "Le formulaire contient une erreur" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_only_company_users_have_tokens(client, buyer):
    response = client.get(PAGE)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    client.force_login(buyer.user)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"label": "Essai"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_nobody_revokes_someone_elses_token(company_client, company_user, other_company_user, clock):
    token, raw = api_token_create(user=other_company_user.user, label="Autre")
    response = company_client.post(reverse("accounts:api_token_revoke", args=[token.pk]))
    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        api_token_revoke(token=token, user=company_user.user)
    assert api_token_authenticate(raw) == token


def test_revoking_needs_the_csrf_token(company_user, clock):
    token, raw = api_token_create(user=company_user.user, label="ERP")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(company_user.user)
    response = browser.post(reverse("accounts:api_token_revoke", args=[token.pk]))
    assert response.status_code == 403
    assert api_token_authenticate(raw) == token
    # With the page's token, it goes through
    page = browser.get(PAGE)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    browser.cookies[django_settings.CSRF_COOKIE_NAME] = page.cookies[django_settings.CSRF_COOKIE_NAME].value
    response = browser.post(
        reverse("accounts:api_token_revoke", args=[token.pk]), {"csrfmiddlewaretoken": csrf}
    )
    assert response.status_code == 302
    assert api_token_authenticate(raw) is None


def test_the_profile_links_to_the_tokens_of_a_company_user_only(client, company_user, buyer):
    client.force_login(company_user.user)
    assert PAGE in client.get(reverse("accounts:profile")).content.decode()
    client.force_login(buyer.user)
    assert PAGE not in client.get(reverse("accounts:profile")).content.decode()


def test_reloading_the_page_after_a_creation_makes_no_second_token(company_client, clock):
    response = company_client.post(PAGE, {"label": "ERP"}, follow=True)
    first = TOKEN_RE.search(response.content.decode()).group(0)
    # The reload is a GET of the page: no second token, and the first is not shown again
    again = company_client.get(PAGE).content.decode()
    assert ApiToken.objects.count() == 1
    assert first not in again and TOKEN_RE.search(again) is None


def test_the_new_token_has_a_copy_button_from_a_static_script_and_no_inline_script(company_client, clock):
    page = company_client.post(PAGE, {"label": "ERP"}, follow=True).content.decode()
    assert '<script src="/static/js/api-tokens.js" defer></script>' in page
    assert re.search(
        r'<button type="button" class="secondary" id="copy-token"[^>]*hidden>Copier le jeton</button>', page
    )
    assert re.search(r'<input id="new-token"[^>]*aria-describedby="new-token-advice"', page)
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page)
    # Not on the plain list
    assert "api-tokens.js" not in company_client.get(PAGE).content.decode()


def test_revoking_asks_for_a_confirmation_first(company_client, company_user, clock):
    token, raw = api_token_create(user=company_user.user, label="ERP")
    url = reverse("accounts:api_token_revoke", args=[token.pk])
    # The list links to the confirmation page; it revokes nothing by itself
    assert (
        f'<a href="{url}">Révoquer<span class="visually-hidden"> ERP</span></a>'
        in company_client.get(PAGE).content.decode()
    )
    confirm = company_client.get(url)
    page = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Révoquer le jeton « ERP »" in page and f'<form method="post" action="{url}"' in page
    assert 'name="csrfmiddlewaretoken"' in page and "Annuler et revenir à mes jetons" in page
    assert api_token_authenticate(raw) == token
    # Confirmed: revoked; the page asked again says so
    company_client.post(url)
    assert api_token_authenticate(raw) is None
    again = company_client.get(url, follow=True).content.decode()
    assert "est déjà révoqué" in again


def test_nobody_sees_the_confirmation_for_someone_elses_token(company_client, other_company_user, clock):
    token, _raw = api_token_create(user=other_company_user.user, label="Autre")
    assert company_client.get(reverse("accounts:api_token_revoke", args=[token.pk])).status_code == 404
