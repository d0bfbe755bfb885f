import pytest
from django.urls import reverse

from audit.models import Event


@pytest.mark.django_db
def test_login_is_recorded_in_the_audit_history(client, company_user, password):
    client.post(reverse("accounts:login"), {"username": company_user.user.email, "password": password})
    assert Event.objects.filter(action="accounts.login", actor=company_user.user).exists()


@pytest.mark.django_db
def test_repeated_failures_lock_the_login_even_with_the_right_password(
    client, company_user, password, settings
):
    email = company_user.user.email
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("accounts:login"), {"username": email, "password": "mauvais"})
        assert "incorrect" in response.content.decode()
    last_failure = client.post(reverse("accounts:login"), {"username": email, "password": "mauvais"})
    assert last_failure.status_code == 429
    response = client.post(reverse("accounts:login"), {"username": email, "password": password})
    assert response.status_code == 429
    assert "bloquée" in response.content.decode()
    assert "_auth_user_id" not in client.session
    failures = Event.objects.filter(action="accounts.login_failed", data__username=email).count()
    # The wrong passwords, and the right one refused while locked.
    assert failures == settings.AXES_FAILURE_LIMIT + 1
    assert not Event.objects.filter(data__icontains="mauvais").exists()


@pytest.mark.django_db
def test_the_lock_applies_to_the_address_used_not_to_the_whole_account(
    client, company_user, password, settings
):
    email = company_user.user.email
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("accounts:login"),
            {"username": email, "password": "mauvais"},
            REMOTE_ADDR="203.0.113.9",
        )
    # A competitor failing on purpose elsewhere does not lock the bidder out on the eve of a deadline.
    response = client.post(
        reverse("accounts:login"),
        {"username": email, "password": password},
        REMOTE_ADDR="198.51.100.20",
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_logout_is_a_post_and_ends_the_session(client, company_user):
    client.force_login(company_user.user)
    response = client.post(reverse("accounts:logout"))
    assert "Vous êtes déconnecté" in response.content.decode()
    assert "_auth_user_id" not in client.session
