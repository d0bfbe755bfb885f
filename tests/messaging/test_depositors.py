"""« Toutes les entreprises ayant déposé un pli »: the buyer writes to every depositor, but
only once the deadline has passed — before it, nobody but a depositor knows of its deposit."""

from datetime import timedelta

import pytest

from messaging.models import Message
from tests.deposits.test_finalize import finalised
from tests.factories import CompanyUserFactory, download_record
from tests.messaging.test_buyer_side import committed, compose_url, form_fields, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client, buyer):
    client.force_login(buyer.user)
    return client


@pytest.fixture
def consultation(buyer, clock):
    from tests.factories import consultation_online

    return consultation_online(organisation=buyer.organisation, created_by=buyer.user)


def test_after_the_deadline_every_depositor_is_reached_and_only_them(
    agent_client, consultation, company_user, clock
):
    # GIVEN one company that deposited on time, one late, one that only downloaded the DCE
    finalised(consultation, company_user)
    late = CompanyUserFactory(company__name="Charpentes du Nord")
    clock.set(consultation.deadline + timedelta(seconds=5))
    finalised(consultation, late)
    download_record(consultation, CompanyUserFactory(company__name="Jamais déposé"))

    # WHEN the agent writes to every depositor
    with committed():
        response = agent_client.post(compose_url(consultation), form_fields(recipients="depositors"))

    # THEN both depositors get their own message, and the one that only downloaded does not
    assert response.status_code == 302
    reached = set(Message.objects.values_list("thread__company__name", flat=True))
    assert reached == {"Bâtiment Ouest", "Charpentes du Nord"}


def test_before_the_deadline_the_depositors_are_not_revealed(agent_client, consultation, company_user, clock):
    finalised(consultation, company_user)

    response = agent_client.post(compose_url(consultation), form_fields(recipients="depositors"))

    assert response.status_code == 200
    assert "les déposants ne sont connus qu'après elle" in text_of(response)
    assert not Message.objects.exists()
    # Nor can the agent pick the depositor by name: it is not among the companies offered.
    assert "Bâtiment Ouest" not in text_of(agent_client.get(compose_url(consultation)))


def test_before_the_deadline_a_message_does_not_name_the_colleague_who_deposited(
    buyer, consultation, company_user, clock
):
    # GIVEN Alice downloaded the DCE and her colleague Bob deposited a bid
    from messaging.services.sending import recipient_users

    download_record(consultation, company_user)
    bob = CompanyUserFactory(company=company_user.company, user__email="bob@ouest.test")
    finalised(consultation, bob)
    # THEN before the deadline a message goes to Alice only: the buyer learns nothing
    assert [u.email for u in recipient_users(consultation, company_user.company)] == [company_user.user.email]
    # AND after it, Bob is among the recipients too
    clock.set(consultation.deadline + timedelta(seconds=1))
    emails = {u.email for u in recipient_users(consultation, company_user.company)}
    assert emails == {company_user.user.email, "bob@ouest.test"}
