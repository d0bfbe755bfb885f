"""draft → pending validation → scheduled → online → closed, with the platform's clock held by the test."""

from datetime import timedelta

import pytest

from audit.models import Event
from consultations.errors import ConsultationError
from consultations.models import PublicationRule, State
from consultations.services.lifecycle import (
    consultation_approve,
    consultation_reject,
    consultation_update,
    consultation_validation_request,
)
from consultations.tasks import consultations_sweep
from tests.factories import T0, ConsultationFactory


@pytest.fixture
def draft(buyer):
    return ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user)


def test_a_consultation_goes_online_at_its_chosen_date_and_not_a_second_before(
    draft, buyer, validator, clock, django_capture_on_commit_callbacks
):
    # GIVEN a draft to publish on the 5th at 10:00
    publication = T0 + timedelta(days=3, hours=1)
    consultation_update(
        consultation=draft,
        user=buyer.user,
        publication_rule=PublicationRule.CHOSEN_DATE,
        publication_date=publication,
    )
    consultation_validation_request(consultation=draft, user=buyer.user)
    assert draft.state == State.PENDING_VALIDATION

    # WHEN the validator approves, and the ETA task fires at once (eager worker)
    with django_capture_on_commit_callbacks(execute=True):
        consultation_approve(consultation=draft, user=validator.user, comment="Bon pour publication")
    draft.refresh_from_db()

    # THEN it is scheduled, not online, whatever the worker did
    assert draft.state == State.SCHEDULED
    assert draft.scheduled_publication_at == publication

    clock.set(publication - timedelta(seconds=1))
    consultations_sweep()
    draft.refresh_from_db()
    assert draft.state == State.SCHEDULED

    clock.set(publication)
    consultations_sweep()
    draft.refresh_from_db()
    assert draft.state == State.ONLINE
    assert draft.published_at == publication
    assert draft.dce_versions.get(number=1).published_at == publication
    assert list(
        Event.objects.filter(target_id=str(draft.pk)).values_list("action", flat=True).order_by("sequence")
    ) == [
        "consultation.updated",
        "consultation.validation_requested",
        "consultation.approved",
        "consultation.published",
    ]


def test_publication_on_validation_goes_online_at_approval(
    draft, buyer, validator, clock, django_capture_on_commit_callbacks
):
    consultation_validation_request(consultation=draft, user=buyer.user)
    with django_capture_on_commit_callbacks(execute=True):
        consultation_approve(consultation=draft, user=validator.user)
    draft.refresh_from_db()
    assert draft.state == State.ONLINE
    assert draft.published_at == T0


def test_the_deadline_closes_the_consultation_by_the_sweep(
    draft, buyer, validator, clock, django_capture_on_commit_callbacks
):
    consultation_validation_request(consultation=draft, user=buyer.user)
    with django_capture_on_commit_callbacks(execute=True):
        consultation_approve(consultation=draft, user=validator.user)
    clock.set(draft.deadline - timedelta(microseconds=1))
    consultations_sweep()
    draft.refresh_from_db()
    assert draft.state == State.ONLINE
    clock.set(draft.deadline)
    consultations_sweep()
    draft.refresh_from_db()
    assert draft.state == State.CLOSED


def test_validation_request_lists_what_is_missing(buyer, clock):
    draft = ConsultationFactory(
        organisation=buyer.organisation,
        created_by=buyer.user,
        cpv_code="",
        deadline=None,
        dce=False,
        requested=False,
    )
    with pytest.raises(ConsultationError) as raised:
        consultation_validation_request(consultation=draft, user=buyer.user)
    problems = " ".join(raised.value.problems)
    assert "code CPV principal" in problems
    assert "règlement de consultation" in problems
    assert "date limite de remise des plis" in problems
    assert "document demandé" in problems
    draft.refresh_from_db()
    assert draft.state == State.DRAFT


def test_a_deadline_in_the_past_blocks_the_approval(draft, buyer, validator, clock):
    consultation_validation_request(consultation=draft, user=buyer.user)
    clock.set(draft.deadline + timedelta(minutes=1))
    with pytest.raises(ConsultationError) as raised:
        consultation_approve(consultation=draft, user=validator.user)
    assert "est passée" in " ".join(raised.value.problems)


def test_the_validator_sends_back_to_draft_with_a_comment(
    draft, buyer, validator, clock, django_capture_on_commit_callbacks, mailoutbox
):
    consultation_validation_request(consultation=draft, user=buyer.user)
    with django_capture_on_commit_callbacks(execute=True):
        consultation_reject(consultation=draft, user=validator.user, comment="Préciser l'objet")
    draft.refresh_from_db()
    assert draft.state == State.DRAFT
    assert [m.to for m in mailoutbox][-1] == [buyer.user.email]
    assert "Préciser l'objet" in mailoutbox[-1].body


def test_contract_and_procedure_types_are_locked_once_saved(draft, buyer):
    with pytest.raises(ConsultationError):
        consultation_update(consultation=draft, user=buyer.user, procedure_type="open_tender")
    draft.refresh_from_db()
    assert draft.procedure_type == "adapted_gte_90k"


def test_only_a_validator_approves(draft, buyer, clock):
    from django.core.exceptions import PermissionDenied

    consultation_validation_request(consultation=draft, user=buyer.user)
    with pytest.raises(PermissionDenied):
        consultation_approve(consultation=draft, user=buyer.user)


def test_a_consultation_whose_question_period_would_be_over_cannot_be_sent_for_validation(buyer, clock):
    # GIVEN a deadline 3 business days after now, and questions closing 6 business days before it
    draft = ConsultationFactory(
        organisation=buyer.organisation, created_by=buyer.user, deadline=T0 + timedelta(days=3)
    )
    with pytest.raises(ConsultationError) as raised:
        consultation_validation_request(consultation=draft, user=buyer.user)
    assert "date limite des questions" in " ".join(raised.value.problems)
