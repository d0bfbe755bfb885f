"""The suites' screens: « Créer une suite » from « Mes actions », the chain of suites on
the details pages, the invitation à concourir, and a negotiation's deposit page."""

import html
import re

import pytest
from django.urls import reverse

from awards.models import Decision, Outcome
from consultations.models import Consultation, ContractType, ProcedureType, State, SuiteKind
from consultations.services.suites import suite_create
from deposits.models import Deposit
from messaging.models import Kind, Message
from tests.conftest import login_verified
from tests.consultations.test_suites import decided_consultation, deposit_received, go_online
from tests.factories import AgentFactory, ConsultationFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def create_url(consultation):
    return reverse("consultations:suite_create", args=[consultation.pk])


def detail_url(consultation):
    return reverse("consultations:buyer_detail", args=[consultation.pk])


@pytest.fixture
def agent_client(client, buyer):
    login_verified(client, buyer.user)
    return client


def test_my_actions_offer_a_suite_once_the_consultation_is_decided(agent_client, buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])

    page = text(agent_client.get(detail_url(initial)))

    assert "Créer une suite" in page and create_url(initial) in page
    initial.state = State.EVALUATION
    initial.save()
    assert "Créer une suite" not in text(agent_client.get(detail_url(initial)))


def test_the_suite_screen_shows_the_situations_the_lots_and_the_buttons(agent_client, buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL, Outcome.UNSUCCESSFUL])

    page = text(agent_client.get(create_url(initial)))

    for wording in (
        "Consultation entièrement infructueuse",
        "Consultation partiellement infructueuse",
        "Phase de négociation prévue",
        "Cette nouvelle phase porte sur le(s) lot(s) suivant(s)",
        "Tous les lots",
        "Sélection du/des lot(s) suivant(s)",
        "Lot 1 - Lot 1 — partie 1 (Infructueux)",
        "Annuler",
        "Valider",
    ):
        assert wording in page, wording


def test_validating_creates_the_suite_and_opens_its_identification_tab(agent_client, buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL, Outcome.UNSUCCESSFUL])

    response = agent_client.post(create_url(initial), {"kind": SuiteKind.UNSUCCESSFUL, "lots_scope": "all"})

    suite = Consultation.objects.get(parent=initial)
    assert response.status_code == 302
    assert response.url == reverse("consultations:buyer_tab", args=[suite.pk, "identification"])
    tab = text(agent_client.get(response.url))
    assert 'value="2026-INIT-S1"' in tab
    assert "ne pourront plus être modifiés une fois cet onglet enregistré" in tab
    # Saving the tab locks the contract and procedure types.
    form = {
        "contract_type": ContractType.CONTRACT,
        "procedure_type": ProcedureType.NEGOTIATED,
        "category": suite.category,
        "reference": suite.reference,
        "title": suite.title,
        "object": suite.object,
        "cpv_code": suite.cpv_code,
        "next": "stay",
    }
    agent_client.post(response.url, form)
    suite.refresh_from_db()
    assert suite.identification_locked and suite.procedure_type == ProcedureType.NEGOTIATED


def test_a_selection_without_lots_is_refused_next_to_the_lots(agent_client, buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL, Outcome.UNSUCCESSFUL])

    response = agent_client.post(
        create_url(initial), {"kind": SuiteKind.PARTIALLY_UNSUCCESSFUL, "lots_scope": "selection"}
    )

    page = text(response)
    assert response.status_code == 200
    assert "Sélectionnez au moins un lot à relancer." in page
    # What was chosen stays chosen.
    assert "checked" in re.search(r'<input[^>]*value="partially_unsuccessful"[^>]*>', page).group(0)
    assert "checked" in re.search(r'<input[^>]*value="selection"[^>]*>', page).group(0)
    assert not initial.suites.exists()


def test_an_awarded_lot_is_refused_with_its_number(agent_client, buyer, clock, company_user):
    initial = decided_consultation(buyer, clock, [Outcome.AWARDED, Outcome.UNSUCCESSFUL], winner=company_user)
    lot_1 = initial.lots.get(number=1)

    response = agent_client.post(
        create_url(initial),
        {"kind": SuiteKind.PARTIALLY_UNSUCCESSFUL, "lots_scope": "selection", "lots": [str(lot_1.pk)]},
    )

    assert "Le lot 1 « Lot 1 — partie 1 » a été attribué : il ne peut pas être relancé." in text(response)
    assert not initial.suites.exists()


def test_before_the_decision_the_screen_refuses_with_the_reason(agent_client, buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    initial.state = State.EVALUATION
    initial.save()

    page = text(agent_client.get(create_url(initial)))
    agent_client.post(create_url(initial), {"kind": SuiteKind.UNSUCCESSFUL})

    assert "Créez une suite une fois la phase de décision terminée" in page
    assert not initial.suites.exists()


def test_another_organisations_agent_gets_not_found_and_a_validator_is_forbidden(
    client, buyer, clock, other_organisation, validator
):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    stranger = AgentFactory(organisation=other_organisation, can_create=True)
    login_verified(client, stranger.user)
    assert client.get(create_url(initial)).status_code == 404
    login_verified(client, validator.user)
    assert client.post(create_url(initial), {"kind": SuiteKind.UNSUCCESSFUL}).status_code == 403
    assert not initial.suites.exists()


def test_a_negotiation_lists_the_on_time_candidates_and_invites_the_chosen_ones(
    agent_client, buyer, clock, company_user, other_company_user
):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    deposit_received(initial, company_user)
    deposit_received(initial, other_company_user)
    assert "Travaux Est" in text(agent_client.get(create_url(initial)))

    agent_client.post(
        create_url(initial),
        {"kind": SuiteKind.NEGOTIATION, "lots_scope": "all", "companies": [str(company_user.company.pk)]},
    )

    suite = initial.suites.get()
    assert list(suite.invited_companies.all()) == [company_user.company]
    assert suite.is_restricted


def test_both_details_pages_show_the_permanent_link(agent_client, buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    suite = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)

    initial_page = text(agent_client.get(detail_url(initial)))
    suite_page = text(agent_client.get(detail_url(suite)))

    assert "Suites : " in initial_page and f'href="{detail_url(suite)}">2026-INIT-S1</a>' in initial_page
    assert "Suite de la consultation" in suite_page
    assert f'href="{detail_url(initial)}">2026-INIT</a>' in suite_page
    assert "confirmez-les ou remplacez-les" in suite_page


def test_a_suite_of_a_suite_shows_the_whole_chain(agent_client, buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    first = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)
    first.state = State.DECIDED
    first.save()
    Decision.objects.create(
        consultation=first, lot=first.lots.get(), outcome=Outcome.UNSUCCESSFUL, reason="Rien.",
        decided_at=clock(), decided_by=buyer.user,
    )  # fmt: skip
    second = suite_create(user=buyer.user, consultation=first, kind=SuiteKind.UNSUCCESSFUL)

    page = text(agent_client.get(detail_url(initial)))
    chain = page.split("Toute la chaîne")[1].split("</ol>")[0]

    assert chain.index("2026-INIT<") < chain.index("2026-INIT-S1<") < chain.index("2026-INIT-S2<")
    assert f'href="{detail_url(second)}"' in chain and f'href="{detail_url(first)}"' in chain
    assert "suite de 2026-INIT-S1" in chain


def test_the_invitation_screen_sends_to_the_invited_candidates(
    agent_client, buyer, clock, company_user, other_company_user, django_capture_on_commit_callbacks
):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    deposit_received(initial, company_user)
    deposit_received(initial, other_company_user)
    suite = suite_create(
        user=buyer.user, consultation=initial, kind=SuiteKind.NEGOTIATION, companies=[company_user.company]
    )
    url = reverse("consultations:suite_invite", args=[suite.pk])
    assert "une fois la suite en ligne" in text(agent_client.get(url))
    go_online(suite, clock)
    assert url in text(agent_client.get(detail_url(suite)))

    page = text(agent_client.get(url))
    assert suite.access_code in page and "Travaux Est" not in page.split("<form")[1]
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url,
            {
                "companies": [str(company_user.company.pk)],
                "subject": "Invitation",
                "body": "Madame, Monsieur",
            },
        )

    assert response.status_code == 302
    message = Message.objects.get(thread__consultation=suite, kind=Kind.INVITATION)
    assert message.thread.company == company_user.company and suite.access_code in message.body


def test_a_company_not_invited_cannot_start_a_deposit_even_with_the_code(
    client, buyer, clock, company_user, other_company_user
):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    deposit_received(initial, company_user)
    deposit_received(initial, other_company_user)
    suite = suite_create(
        user=buyer.user, consultation=initial, kind=SuiteKind.NEGOTIATION, companies=[company_user.company]
    )
    go_online(suite, clock)
    client.force_login(other_company_user.user)
    client.post(reverse("consultations:access", args=[suite.pk]), {"code": suite.access_code})

    response = client.post(reverse("deposits:company_deposit", args=[suite.pk]), follow=True)

    assert "réservée aux candidats invités" in text(response)
    assert not Deposit.objects.filter(consultation=suite).exists()


def test_a_draft_that_is_not_a_suite_has_no_invitation_screen(agent_client, buyer):
    draft = ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user)
    assert agent_client.get(reverse("consultations:suite_invite", args=[draft.pk])).status_code == 404


def test_a_consultation_without_lots_is_relaunched_from_the_screen(agent_client, buyer, clock):
    initial = decided_consultation(buyer, clock, [])

    page = text(agent_client.get(create_url(initial)))
    response = agent_client.post(create_url(initial), {"kind": SuiteKind.UNSUCCESSFUL})

    assert "Consultation sans lots" in page and "Tous les lots" not in page
    assert response.status_code == 302 and initial.suites.get().lots.count() == 0
