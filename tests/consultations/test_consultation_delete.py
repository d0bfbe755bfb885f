"""« Supprimer la consultation »: a draft only, and never one that has a suite (the link
is permanent, seed 000)."""

import html

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from audit.models import Event
from awards.models import Outcome
from consultations.errors import ConsultationError
from consultations.models import Consultation, DceFile, Lot, State, SuiteKind
from consultations.services.deletion import consultation_delete
from consultations.services.suites import suite_create
from tests.conftest import login_verified
from tests.consultations.test_suites import decided_consultation
from tests.factories import AgentFactory, ConsultationFactory, LotFactory

pytestmark = pytest.mark.django_db

SUITE_REFUSAL = "Cette consultation a une suite : le lien est permanent, elle ne peut plus être supprimée."


def text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def delete_url(consultation):
    return reverse("consultations:consultation_delete", args=[consultation.pk])


@pytest.fixture
def draft(buyer):
    draft = ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user, reference="2026-BROU")
    LotFactory(consultation=draft, number=1)
    return draft


def test_a_draft_is_deleted_with_its_lots_and_documents_and_the_deletion_is_audited(buyer, draft):
    blobs = list(DceFile.objects.filter(version__consultation=draft).values_list("blob", flat=True))

    consultation_delete(user=buyer.user, consultation=draft)

    assert not Consultation.objects.filter(pk=draft.pk).exists()
    assert not Lot.objects.filter(consultation_id=draft.pk).exists()
    event = Event.objects.get(action="consultation.deleted")
    assert event.target_id == str(draft.pk) and event.data["reference"] == "2026-BROU"
    assert blobs  # the stored files stay: another version or a suite may share them


@pytest.mark.parametrize("state", [State.PENDING_VALIDATION, State.ONLINE, State.DECIDED])
def test_only_a_draft_can_be_deleted(buyer, draft, state):
    draft.state = state
    draft.save()

    with pytest.raises(ConsultationError, match="Seul un brouillon peut être supprimé"):
        consultation_delete(user=buyer.user, consultation=draft)
    assert Consultation.objects.filter(pk=draft.pk).exists()


def test_the_initial_consultation_of_a_suite_cannot_be_deleted(buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)
    # Even were it a draft again, the link to its suite keeps it.
    for state in (State.DECIDED, State.DRAFT):
        Consultation.objects.filter(pk=initial.pk).update(state=state)
        with pytest.raises(ConsultationError) as refusal:
            consultation_delete(user=buyer.user, consultation=initial)
        assert refusal.value.message == SUITE_REFUSAL
    assert Consultation.objects.filter(pk=initial.pk).exists()


def test_a_suite_still_a_draft_can_be_abandoned_and_the_initial_keeps_the_trace(buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    suite = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)

    consultation_delete(user=buyer.user, consultation=suite)

    assert not initial.suites.exists()
    assert initial.lots.count() == 1
    event = Event.objects.get(action="consultation.suite_deleted")
    assert event.target_id == str(initial.pk) and event.data["suite_reference"] == "2026-INIT-S1"


def test_an_agent_without_the_create_permission_cannot_delete(draft, organisation):
    decider = AgentFactory(organisation=organisation, can_decide=True)

    with pytest.raises(PermissionDenied):
        consultation_delete(user=decider.user, consultation=draft)


def test_the_details_page_offers_the_deletion_of_a_draft_which_then_disappears(client, buyer, draft):
    login_verified(client, buyer.user)
    detail = text(client.get(reverse("consultations:buyer_detail", args=[draft.pk])))
    assert "Supprimer la consultation" in detail and delete_url(draft) in detail

    unconfirmed = client.post(delete_url(draft), {})
    assert "Cochez la case pour confirmer la suppression." in text(unconfirmed)
    response = client.post(delete_url(draft), {"confirm": "on"})

    assert response.status_code == 302 and response.url == reverse("consultations:buyer_dashboard")
    assert not Consultation.objects.filter(pk=draft.pk).exists()


def test_the_initial_of_a_suite_shows_the_refusal_and_no_deletion(client, buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)
    login_verified(client, buyer.user)

    detail = text(client.get(reverse("consultations:buyer_detail", args=[initial.pk])))
    response = client.post(delete_url(initial), {"confirm": "on"})

    assert delete_url(initial) not in detail
    assert response.status_code == 409 and SUITE_REFUSAL in text(response)
    assert Consultation.objects.filter(pk=initial.pk).exists()


def test_another_organisations_agent_gets_not_found(client, draft, other_organisation):
    stranger = AgentFactory(organisation=other_organisation, can_create=True)
    login_verified(client, stranger.user)

    assert client.post(delete_url(draft), {"confirm": "on"}).status_code == 404
    assert Consultation.objects.filter(pk=draft.pk).exists()
