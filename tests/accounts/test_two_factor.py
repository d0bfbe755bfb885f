import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import login_verified


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@pytest.mark.django_db
def test_an_agent_who_may_open_bids_must_set_up_totp_before_anything_else(client, opener, password):
    # GIVEN an agent with the opening permission and no authenticator yet
    response = client.post(
        reverse("accounts:login"),
        {"username": opener.user.email, "password": password},
        follow=True,
    )
    # THEN every page leads to the two-factor set-up
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:two_factor"))
    assert "impose la double authentification" in response.content.decode()
    blocked = client.get(reverse("accounts:buyer_space"))
    assert blocked.status_code == 302 and blocked.url.startswith(reverse("accounts:two_factor"))

    # WHEN it scans the code and types a wrong then the right code
    device = TOTPDevice.objects.get(user=opener.user, confirmed=False)
    wrong = client.post(
        reverse("accounts:two_factor"),
        {"token": "000000" if current_code(device) != "000000" else "111111"},
    )
    assert "Code incorrect" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    client.post(reverse("accounts:two_factor"), {"token": current_code(device)})

    # THEN the buyer space opens
    assert client.get(reverse("accounts:buyer_space")).status_code == 200
    device.refresh_from_db()
    assert device.confirmed


@pytest.mark.django_db
def test_a_user_with_totp_must_type_the_code_after_the_password(client, opener, password):
    device = TOTPDevice.objects.create(user=opener.user, name="app", confirmed=True)
    response = client.post(reverse("accounts:login"), {"username": opener.user.email, "password": password})
    assert response.url == reverse("accounts:login_otp")
    # The password alone opens no session.
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("accounts:buyer_space")).status_code == 302

    wrong = client.post(reverse("accounts:login_otp"), {"token": "12345"})
    assert "Code incorrect" in wrong.content.decode()
    assert "_auth_user_id" not in client.session
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save()

    response = client.post(reverse("accounts:login_otp"), {"token": current_code(device)})
    assert response.status_code == 302
    assert client.get(reverse("accounts:buyer_space")).status_code == 200


@pytest.mark.django_db
def test_totp_is_available_to_company_users_and_can_be_removed_when_not_required(client, company_user):
    client.force_login(company_user.user)
    assert client.get(reverse("accounts:company_space")).status_code == 200  # not required
    page = client.get(reverse("accounts:two_factor"))
    assert "Scannez ce code QR" in page.content.decode()
    device = TOTPDevice.objects.get(user=company_user.user)
    client.post(reverse("accounts:two_factor"), {"token": current_code(device)})
    device.refresh_from_db()
    assert device.confirmed
    client.post(reverse("accounts:two_factor_remove"))
    assert not TOTPDevice.objects.filter(user=company_user.user).exists()


@pytest.mark.django_db
def test_an_opener_cannot_remove_its_totp(client, opener):
    # A session verified with the code, so the refusal comes from the obligation itself.
    login_verified(client, opener.user)
    response = client.post(reverse("accounts:two_factor_remove"), follow=True)
    assert TOTPDevice.objects.filter(user=opener.user, confirmed=True).exists()
    assert "impose la double authentification" in response.content.decode()
