import re

import pytest
from django.core import mail
from django.urls import reverse

from audit.models import Event
from tests.conftest import can_log_in, links_in

NEW_PASSWORD = "Un-nouveau-mot-de-passe-2026"


@pytest.mark.django_db
def test_password_reset_by_email_lets_the_user_choose_a_new_password(
    client, company_user, password, django_capture_on_commit_callbacks
):
    email = company_user.user.email
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": email})
    assert len(mail.outbox) == 1
    [link] = links_in(mail.outbox[0])
    # Django swaps the token for a session marker, then shows the form.
    form_page = client.get(link, follow=True)
    assert "Choisir un mot de passe" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Mot de passe enregistré" in response.content.decode()
    assert not can_log_in(email, password)
    assert can_log_in(email, NEW_PASSWORD)
    assert Event.objects.filter(
        action="accounts.password_reset", target_id=str(company_user.user.pk)
    ).exists()


@pytest.mark.django_db
def test_password_reset_does_not_reveal_whether_an_account_exists(
    client, company_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        unknown = client.post(
            reverse("accounts:password_reset"), {"email": "inconnu@exemple.fr"}, follow=True
        )
        known = client.post(
            reverse("accounts:password_reset"), {"email": company_user.user.email}, follow=True
        )
    assert unknown.redirect_chain == known.redirect_chain

    def without_csrf(response):
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())

    assert without_csrf(unknown) == without_csrf(known)
    assert [m.to for m in mail.outbox] == [[company_user.user.email]]


@pytest.mark.django_db
def test_an_invited_agent_who_lost_the_invitation_can_ask_for_a_new_link(
    client, organisation, django_capture_on_commit_callbacks
):
    from tests.factories import AgentFactory

    agent = AgentFactory(organisation=organisation, user__password=None)
    assert not agent.user.has_usable_password()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": agent.user.email})
    assert [m.to for m in mail.outbox] == [[agent.user.email]]


@pytest.mark.django_db
def test_a_deactivated_account_gets_no_reset_link(client, company_user, django_capture_on_commit_callbacks):
    company_user.user.is_active = False
    company_user.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": company_user.user.email})
    assert mail.outbox == []


@pytest.mark.django_db
def test_changing_the_password_keeps_the_session_and_is_recorded(client, company_user, password):
    client.force_login(company_user.user)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Votre mot de passe est changé" in response.content.decode()
    assert client.get(reverse("accounts:company_space")).status_code == 200
    assert can_log_in(company_user.user.email, NEW_PASSWORD)
    assert Event.objects.filter(action="accounts.password_changed", actor=company_user.user).exists()
