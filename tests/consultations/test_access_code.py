"""The access code of a restricted consultation: it opens the DCE for the session;
wrong codes are throttled.

The throttle lives in the cache (local memory, or Redis when REDIS_URL is set).
"""

import pytest
from django.core.cache import cache

from consultations.models import Access, Consultation
from consultations.views.public import access_attempt_keys
from tests.factories import consultation_online

CODE = "K7P-42QZ"


ADDRESSES = ["127.0.0.1", "203.0.113.7", "198.51.100.2"]


@pytest.fixture(autouse=True)
def _forget_attempts(db):
    """Only this test's counters are removed: a shared Redis may serve others."""
    yield
    cache.delete_many(
        [
            key
            for pk in Consultation.objects.values_list("pk", flat=True)
            for address in ADDRESSES
            for key in access_attempt_keys(pk, address)
        ]
    )


@pytest.fixture
def restricted(organisation):
    return consultation_online(organisation=organisation, access=Access.RESTRICTED, access_code=CODE)


def try_code(client, consultation, code, **extra):
    return client.post(f"/consultations/{consultation.pk}/acces/", {"code": code}, **extra)


def test_the_right_code_opens_the_documents_for_the_session(client, restricted, clock):
    response = try_code(client, restricted, f"  {CODE} ")
    assert response.status_code == 302
    assert response["Location"] == f"/consultations/{restricted.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Code d&#x27;accès accepté" in page or "Code d'accès accepté" in page
    assert "CCTP.pdf" in page
    assert f"/consultations/{restricted.pk}/dce/" in page
    assert client.get(f"/consultations/{restricted.pk}/dce/").status_code == 200


def test_a_wrong_code_says_so_on_the_field_and_opens_nothing(client, restricted, clock):
    response = try_code(client, restricted, "K7P-42QY")
    assert response.status_code == 200
    assert response.context["access_form"].errors["code"] == [
        "Ce code d'accès n'est pas celui de cette consultation. Vérifiez-le auprès de l'acheteur."
    ]
    page = response.content.decode()
    assert 'href="#id_code"' in page  # the error summary links to the field
    assert "CCTP.pdf" not in page
    assert client.get(f"/consultations/{restricted.pk}/dce/").status_code == 302


def test_an_empty_code_is_asked_for(client, restricted, clock):
    response = try_code(client, restricted, "")
    assert "Ce champ est obligatoire." in response.context["access_form"].errors["code"]


def test_the_code_of_another_consultation_does_not_open_this_one(client, restricted, organisation, clock):
    other = consultation_online(organisation=organisation, access=Access.RESTRICTED, access_code="AUTRE-CODE")
    try_code(client, other, "AUTRE-CODE")
    assert client.get(f"/consultations/{restricted.pk}/dce/").status_code == 302
    assert client.get(f"/consultations/{other.pk}/dce/").status_code == 200


def test_after_five_wrong_codes_even_the_right_one_is_refused_for_15_minutes(client, restricted, clock):
    for n in range(5):
        assert "pas celui de cette consultation" in try_code(client, restricted, f"FAUX-{n}").content.decode()

    refused = try_code(client, restricted, CODE)
    assert refused.status_code == 429
    assert "Trop de codes erronés" in refused.context["access_form"].errors["code"][0]
    assert client.get(f"/consultations/{restricted.pk}/dce/").status_code == 302

    clock.advance(minutes=14, seconds=59)
    assert try_code(client, restricted, CODE).status_code == 429

    clock.advance(seconds=1)
    assert try_code(client, restricted, CODE).status_code == 302
    assert client.get(f"/consultations/{restricted.pk}/dce/").status_code == 200


def test_the_throttle_counts_per_address_and_per_consultation(client, restricted, organisation, clock):
    for n in range(5):
        try_code(client, restricted, f"FAUX-{n}", REMOTE_ADDR="203.0.113.7")
    assert try_code(client, restricted, CODE, REMOTE_ADDR="203.0.113.7").status_code == 429
    # Another address may still try, and the same address may try another consultation.
    assert try_code(client, restricted, CODE, REMOTE_ADDR="198.51.100.2").status_code == 302
    other = consultation_online(organisation=organisation, access=Access.RESTRICTED, access_code="AUTRE-CODE")
    assert try_code(client, other, "AUTRE-CODE", REMOTE_ADDR="203.0.113.7").status_code == 302


def test_changing_address_inside_one_ipv6_block_does_not_escape_the_throttle(client, restricted, clock):
    for n in range(5):
        try_code(client, restricted, f"FAUX-{n}", REMOTE_ADDR=f"2001:db8:1:2::{n + 1}")
    assert try_code(client, restricted, CODE, REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code == 429
    assert try_code(client, restricted, CODE, REMOTE_ADDR="2001:db8:1:3::1").status_code == 302


def test_right_codes_do_not_use_up_the_attempts(client, restricted, clock):
    for _ in range(8):
        client.logout()  # a new session each time: the code is asked again
        assert try_code(client, restricted, CODE).status_code == 302


def test_four_wrong_codes_then_the_right_one_opens(client, restricted, clock):
    for n in range(4):
        try_code(client, restricted, f"FAUX-{n}")
    assert try_code(client, restricted, CODE).status_code == 302


def test_a_get_on_the_access_url_changes_nothing(client, restricted, clock):
    assert client.get(f"/consultations/{restricted.pk}/acces/").status_code == 405


def test_a_public_consultation_needs_no_code(client, organisation, clock):
    consultation = consultation_online(organisation=organisation)
    assert try_code(client, consultation, "n'importe").status_code == 302
    assert client.get(f"/consultations/{consultation.pk}/dce/").status_code == 200


def test_the_agent_of_the_buyer_sees_the_documents_without_the_code(client, restricted, buyer, clock):
    client.force_login(buyer.user)
    page = client.get(f"/consultations/{restricted.pk}/").content.decode()
    assert "CCTP.pdf" in page


def test_the_access_url_of_an_unpublished_consultation_is_404(client, organisation, clock):
    from tests.factories import ConsultationFactory

    draft = ConsultationFactory(organisation=organisation, access=Access.RESTRICTED, access_code=CODE)
    assert try_code(client, draft, CODE).status_code == 404


def test_the_window_is_fifteen_minutes_from_the_first_wrong_code(client, restricted, clock):
    try_code(client, restricted, "FAUX-0")
    clock.advance(minutes=10)
    for n in range(1, 5):
        try_code(client, restricted, f"FAUX-{n}")
    assert try_code(client, restricted, CODE).status_code == 429
    clock.advance(minutes=5)
    assert try_code(client, restricted, CODE).status_code == 302
