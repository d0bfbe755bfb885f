"""Review of issue 6 (suites, deletion): bad input on the suites' screens is refused in
French, never a server error, and the rules of the issue hold through the screens."""

import html

import pytest
from django.urls import reverse

from awards.models import Outcome
from consultations.models import Consultation, SuiteKind
from consultations.services.suites import suite_create
from messaging.models import Kind, Message
from tests.conftest import login_verified
from tests.consultations.test_suites import decided_consultation, deposit_received, go_online

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"


def text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


@pytest.fixture
def agent_client(client, buyer):
    login_verified(client, buyer.user)
    return client


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "bogus"},
        {"kind": SuiteKind.PARTIALLY_UNSUCCESSFUL, "lots_scope": "selection", "lots": ["abc"]},
        {"kind": SuiteKind.PARTIALLY_UNSUCCESSFUL, "lots_scope": "selection", "lots": [HUGE]},
        {"kind": SuiteKind.PARTIALLY_UNSUCCESSFUL, "lots_scope": "bogus"},
        {"kind": SuiteKind.NEGOTIATION, "companies": ["abc"]},
        {"kind": SuiteKind.NEGOTIATION, "companies": [HUGE]},
        {},
    ],
)
def test_odd_input_on_the_suite_screen_creates_nothing_and_is_no_server_error(
    agent_client, buyer, clock, company_user, other_company_user, data
):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL, Outcome.AWARDED], winner=company_user)
    deposit_received(initial, other_company_user)
    response = agent_client.post(reverse("consultations:suite_create", args=[initial.pk]), data)
    assert response.status_code in (200, 400)
    assert not initial.suites.exists()


@pytest.mark.parametrize("companies", [["abc"], [HUGE], []])
def test_odd_recipients_on_the_invitation_screen_send_nothing(
    agent_client, buyer, clock, company_user, companies
):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    deposit_received(initial, company_user)
    suite = suite_create(
        user=buyer.user, consultation=initial, kind=SuiteKind.NEGOTIATION, companies=[company_user.company]
    )
    go_online(suite, clock)
    response = agent_client.post(
        reverse("consultations:suite_invite", args=[suite.pk]),
        {"companies": companies, "subject": "Invitation", "body": "Madame, Monsieur"},
    )
    assert response.status_code in (200, 400)
    assert not Message.objects.filter(thread__consultation=suite, kind=Kind.INVITATION).exists()


def test_deleting_a_consultation_that_has_a_suite_is_refused_on_the_screen(agent_client, buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)
    response = agent_client.post(
        reverse("consultations:consultation_delete", args=[initial.pk]), {"confirm": "on"}
    )
    assert response.status_code == 409
    assert "Cette consultation a une suite : le lien est permanent" in text(response)
    assert Consultation.objects.filter(pk=initial.pk).exists()
