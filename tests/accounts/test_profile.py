import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_the_profile_page_updates_the_name_and_phone(client, company_user):
    client.force_login(company_user.user)
    response = client.post(
        reverse("accounts:profile"),
        {"first_name": "Anne", "last_name": "Kervella", "phone": "02 98 00 00 00"},
        follow=True,
    )
    assert "Votre profil est enregistré" in response.content.decode()
    company_user.user.refresh_from_db()
    assert company_user.user.get_full_name() == "Anne Kervella"
