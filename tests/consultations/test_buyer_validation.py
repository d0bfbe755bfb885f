"""« Demande de validation »: the checklist of missing data, the request, and the
validator's approval (which schedules the publication) or sending back to draft."""

import html
from datetime import datetime, timedelta

import pytest
from django.urls import reverse

from consultations.models import PublicationRule, State
from consultations.services.lifecycle import consultation_validation_request
from tests.factories import PARIS, T0, ConsultationFactory


def text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


@pytest.fixture
def draft(buyer):
    return ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user)


def validation_url(consultation):
    return reverse("consultations:buyer_validation", args=[consultation.pk])


def test_the_checklist_lists_what_is_missing_each_linked_to_its_tab(client, buyer, clock):
    # GIVEN a draft without main CPV, RC, deadline nor requested documents
    draft = ConsultationFactory(
        organisation=buyer.organisation,
        created_by=buyer.user,
        cpv_code="",
        deadline=None,
        dce=False,
        requested=False,
    )
    client.force_login(buyer.user)

    # WHEN the agent opens the validation page
    response = client.get(validation_url(draft))

    # THEN each missing item is listed with a link to its tab, and the request button is disabled
    page = text(response)
    tabs = {item["tab"] for item in response.context["checklist"]}
    assert tabs == {"identification", "pieces", "calendrier", "modalites"}
    assert "code CPV principal" in page
    assert "règlement de consultation" in page
    assert reverse("consultations:buyer_tab", args=[draft.pk, "calendrier"]) in page
    assert 'value="request" disabled' in page


def test_a_complete_draft_can_be_sent_for_validation(
    client, buyer, validator, draft, clock, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(buyer.user)
    page = text(client.get(validation_url(draft)))
    assert "Toutes les données obligatoires sont renseignées" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(validation_url(draft), {"action": "request"}, follow=True)

    draft.refresh_from_db()
    assert draft.state == State.PENDING_VALIDATION
    assert "demande de validation est envoyée" in text(response)
    assert [message.to for message in mailoutbox] == [[validator.user.email]]


def test_the_service_refusal_is_shown_in_the_error_summary(client, buyer, clock):
    draft = ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user, deadline=None)
    client.force_login(buyer.user)

    # A forged request despite the disabled button
    response = client.post(validation_url(draft), {"action": "request"})

    page = text(response)
    assert response.status_code == 200
    assert 'class="error-summary"' in page
    assert "Des données obligatoires manquent." in page
    assert "date limite de remise des plis est à renseigner" in page
    draft.refresh_from_db()
    assert draft.state == State.DRAFT


def test_the_validator_approves_and_sees_the_scheduled_publication_date(
    client, buyer, validator, draft, clock
):
    # GIVEN a draft to publish on a chosen date, waiting for validation
    draft.publication_rule = PublicationRule.CHOSEN_DATE
    draft.publication_date = T0 + timedelta(days=2)
    draft.save()
    consultation_validation_request(consultation=draft, user=buyer.user)
    client.force_login(validator.user)
    page = text(client.get(validation_url(draft)))
    assert "Valider" in page and "Renvoyer en brouillon" in page

    # WHEN the validator approves with a comment
    response = client.post(
        validation_url(draft), {"action": "approve", "comment": "Bon pour publication"}, follow=True
    )

    # THEN the consultation is scheduled, and the date of publication is shown in Paris time
    draft.refresh_from_db()
    assert draft.state == State.SCHEDULED
    assert draft.validation_comment == "Bon pour publication"
    assert draft.validated_by == validator.user
    page = text(response)
    assert "mise en ligne est programmée le 04/03/2026 09:00:00" in page
    assert "Mise en ligne programmée le" in page


def test_approval_with_publication_at_validation_goes_online(
    client, buyer, validator, draft, clock, django_capture_on_commit_callbacks
):
    consultation_validation_request(consultation=draft, user=buyer.user)
    client.force_login(validator.user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(validation_url(draft), {"action": "approve", "comment": ""})

    draft.refresh_from_db()
    assert draft.state == State.ONLINE
    assert draft.published_at == T0


def test_sending_back_to_draft_needs_a_comment(client, buyer, validator, draft, clock):
    consultation_validation_request(consultation=draft, user=buyer.user)
    client.force_login(validator.user)

    response = client.post(validation_url(draft), {"action": "reject", "comment": "   "})

    assert response.status_code == 200
    assert "comment" in response.context["form"].errors
    draft.refresh_from_db()
    assert draft.state == State.PENDING_VALIDATION


def test_the_validator_sends_back_to_draft_and_the_writer_reads_why(
    client, buyer, validator, draft, clock, mailoutbox, django_capture_on_commit_callbacks
):
    consultation_validation_request(consultation=draft, user=buyer.user)
    client.force_login(validator.user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(validation_url(draft), {"action": "reject", "comment": "Le CCTP manque de précision."})

    draft.refresh_from_db()
    assert draft.state == State.DRAFT
    assert [m.to for m in mailoutbox] == [[buyer.user.email]]
    client.force_login(buyer.user)
    page = text(client.get(validation_url(draft)))
    assert "Le CCTP manque de précision." in page


def test_the_writer_cannot_approve_his_own_consultation(client, buyer, draft, clock):
    consultation_validation_request(consultation=draft, user=buyer.user)
    client.force_login(buyer.user)

    page = text(client.get(validation_url(draft)))
    response = client.post(validation_url(draft), {"action": "approve"})

    assert 'value="approve"' not in page
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.state == State.PENDING_VALIDATION


def test_a_validator_cannot_request_validation(client, validator, draft, clock):
    client.force_login(validator.user)

    response = client.post(validation_url(draft), {"action": "request"})

    assert response.status_code == 403


def test_approving_a_draft_is_refused_by_the_service(client, validator, draft, clock):
    client.force_login(validator.user)

    response = client.post(validation_url(draft), {"action": "approve"})

    assert "n'attend pas de validation" in text(response)
    draft.refresh_from_db()
    assert draft.state == State.DRAFT


def test_a_deadline_passed_while_waiting_blocks_the_approval(client, buyer, validator, draft, clock):
    consultation_validation_request(consultation=draft, user=buyer.user)
    clock.set(draft.deadline + timedelta(seconds=1))
    client.force_login(validator.user)

    response = client.post(validation_url(draft), {"action": "approve"})

    page = text(response)
    assert "date limite de remise des plis est passée" in page
    draft.refresh_from_db()
    assert draft.state == State.PENDING_VALIDATION


def test_the_page_shows_the_validation_once_done(client, buyer, validator, draft, clock):
    consultation_validation_request(consultation=draft, user=buyer.user)
    client.force_login(validator.user)
    client.post(validation_url(draft), {"action": "approve", "comment": "OK"})

    client.force_login(buyer.user)
    page = text(client.get(validation_url(draft)))

    assert "Validée le" in page
    assert datetime(2026, 3, 2, 9, 0, tzinfo=PARIS).strftime("%d/%m/%Y %H:%M:%S") in page
