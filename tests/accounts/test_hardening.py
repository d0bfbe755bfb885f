"""Doors that must stay shut: each test names the way in it closes."""

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.validators import siret_is_valid
from tests.accounts.test_two_factor import current_code
from tests.factories import AgentFactory, UserFactory


@pytest.mark.django_db
def test_changing_the_case_of_the_address_does_not_escape_the_lock(client, company_user, password, settings):
    email = company_user.user.email
    variants = [email, email.upper(), email.title(), email.swapcase()]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": variants[attempt % 4], "password": "mauvais"})
    response = client.post(reverse("accounts:login"), {"username": email, "password": password})
    assert response.status_code == 429


@pytest.mark.django_db
def test_a_deactivated_user_loses_its_open_session(client, company_user):
    client.force_login(company_user.user)
    assert client.get(reverse("accounts:profile")).status_code == 200
    User.objects.filter(pk=company_user.user.pk).update(is_active=False)
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


@pytest.mark.django_db
def test_two_addresses_differing_by_case_cannot_coexist():
    UserFactory(email="Marie@Exemple.fr")
    assert User.objects.get().email == "marie@exemple.fr"
    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(email="MARIE@exemple.fr", first_name="M", last_name="X")])


@pytest.mark.django_db
def test_removing_totp_needs_a_session_verified_with_the_code(client, company_user):
    TOTPDevice.objects.create(user=company_user.user, name="app", confirmed=True)
    client.force_login(company_user.user)  # password only, never typed the code
    response = client.post(reverse("accounts:two_factor_remove"), follow=True)
    assert TOTPDevice.objects.filter(user=company_user.user).exists()
    assert "Saisissez d&#x27;abord un code" in response.content.decode()


@pytest.mark.django_db
def test_an_agent_of_another_organisation_does_not_exist_for_an_administrator(
    client, buyer, other_organisation
):
    other = AgentFactory(organisation=other_organisation)
    client.force_login(buyer.user)
    assert client.get(reverse("accounts:agent_edit", args=[other.pk])).status_code == 404


@pytest.mark.django_db
def test_platform_administrators_must_use_a_second_factor_for_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:two_factor"))
    client.get(response.url)
    device = TOTPDevice.objects.get(user=staff)
    client.post(reverse("accounts:two_factor"), {"token": current_code(device)})
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refusé en production"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_a_siret_of_zeros_is_refused():
    assert not siret_is_valid("00000000000000")
