import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Company, User
from tests.conftest import links_in
from tests.factories import PASSWORD, CompanyFactory

FORM = {
    "siret": "732 829 320 00074",
    "name": "Menuiserie Dupont",
    "legal_form": "SARL",
    "street": "3 rue des Artisans",
    "postal_code": "29200",
    "city": "Brest",
    "first_name": "Jeanne",
    "last_name": "Dupont",
    "email": "Jeanne.Dupont@menuiserie-dupont.fr",
    "password1": PASSWORD,
    "password2": PASSWORD,
    "accept_terms": "on",
}


@pytest.mark.django_db
def test_registration_mails_a_link_that_activates_the_account_then_login_works(
    client, django_capture_on_commit_callbacks
):
    # GIVEN a company that registers
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:register"), FORM)
    assert response.status_code == 200
    assert "Confirmez votre adresse" in response.content.decode()
    company = Company.objects.get(siret="73282932000074")
    user = User.objects.get(email="jeanne.dupont@menuiserie-dupont.fr")
    assert company.users.get().user == user
    # THEN it cannot log in before confirming
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    assert "pas encore actif" in response.content.decode()
    assert "_auth_user_id" not in client.session

    # WHEN it follows the link of the confirmation e-mail
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    [link] = links_in(mail.outbox[0])
    response = client.get(link, follow=True)
    assert "Votre adresse est confirmée" in response.content.decode()

    # THEN it logs in and lands in the company space
    response = client.post(
        reverse("accounts:login"),
        {"username": "JEANNE.DUPONT@menuiserie-dupont.fr", "password": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("accounts:company_space")
    assert "Menuiserie Dupont" in response.content.decode()
    # AND the link is single-use
    client.post(reverse("accounts:logout"))
    assert client.get(link).status_code == 400


@pytest.mark.django_db
def test_registration_refuses_an_invalid_siret_and_keeps_what_was_typed(client):
    response = client.post(reverse("accounts:register"), {**FORM, "siret": "73282932000075"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "clé de contrôle est fausse" in body
    assert 'value="Menuiserie Dupont"' in body
    assert not Company.objects.exists()


@pytest.mark.django_db
def test_registering_a_company_already_known_points_to_its_manager(client):
    CompanyFactory(siret="73282932000074")
    response = client.post(reverse("accounts:register"), FORM)
    assert "déjà inscrite" in response.content.decode()
    assert not User.objects.filter(email=FORM["email"].lower()).exists()


@pytest.mark.django_db
def test_a_weak_password_is_refused_with_the_reason(client):
    response = client.post(
        reverse("accounts:register"), {**FORM, "password1": "12345678", "password2": "12345678"}
    )
    body = response.content.decode()
    assert "Le formulaire contient" in body
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_forged_confirmation_link_is_refused(client, company_user):
    company_user.user.is_active = False
    company_user.user.save()
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(company_user.user.pk))
    response = client.get(reverse("accounts:register_confirm", args=[uid, "abc-123"]))
    assert response.status_code == 400
    company_user.user.refresh_from_db()
    assert not company_user.user.is_active


@pytest.mark.django_db
def test_a_registration_never_confirmed_gives_back_the_siret_and_address_after_a_day(
    client, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:register"), {**FORM, "name": "Usurpateur"})
    # Within the link's lifetime the SIRET stays taken...
    response = client.post(reverse("accounts:register"), FORM)
    assert "déjà inscrite" in response.content.decode()
    # ...then the unconfirmed registration no longer holds it.
    User.objects.update(date_joined=timezone.now() - timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:register"), FORM)
    assert "Confirmez votre adresse" in response.content.decode()
    assert Company.objects.get(siret="73282932000074").name == "Menuiserie Dupont"
