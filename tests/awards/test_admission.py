"""The admission of the candidatures and the requests for complements: the rules of the
service and the « Analyse des candidatures » screen."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from audit.models import Event
from awards.models import CandidatureReview
from awards.services.admission import AdmissionError, candidature_review, complements_request
from consultations.models import State
from deposits.models import DepositStatus
from messaging.models import Kind, Message
from messaging.services.sending import message_reply
from tests.awards.conftest import consultation_opened_make, deposit_received
from tests.conftest import login_verified
from tests.factories import AgentFactory, OrganisationFactory


def review(user, deposit, *, admitted=True, reason="", professional=True, technical=True, financial=True):
    return candidature_review(
        user=user,
        deposit=deposit,
        professional_ok=professional,
        technical_ok=technical,
        financial_ok=financial,
        admitted=admitted,
        reason=reason,
    )


def candidatures_url(consultation):
    return reverse("awards:candidatures", args=[consultation.pk])


def test_admitting_a_candidature_records_it_and_starts_the_analysis(consultation_opened, buyer, company_user):
    # GIVEN an on-time deposit whose candidature is opened
    deposit = deposit_received(consultation_opened, company_user)
    # WHEN the agent admits it
    review(buyer.user, deposit)
    # THEN it is admitted, the consultation is « en analyse », and the audit log says so
    assert CandidatureReview.objects.get(deposit=deposit).admitted is True
    consultation_opened.refresh_from_db()
    assert consultation_opened.state == State.EVALUATION
    event = Event.objects.get(action="awards.candidature_review")
    assert event.data["admitted"] is True


def test_a_refused_candidature_needs_its_reason(consultation_opened, buyer, company_user):
    deposit = deposit_received(consultation_opened, company_user)
    with pytest.raises(AdmissionError) as refused:
        review(buyer.user, deposit, admitted=False, professional=False, reason="  ")
    assert refused.value.message == (
        "Indiquez le motif pour lequel la candidature n'est pas admise : "
        "il sera repris dans la lettre de rejet."
    )
    assert refused.value.field == "reason"
    assert not CandidatureReview.objects.exists()
    review(buyer.user, deposit, admitted=False, professional=False, reason="Aucune référence de travaux.")
    assert CandidatureReview.objects.get(deposit=deposit).reason == "Aucune référence de travaux."


def test_admitting_despite_an_insufficient_capacity_needs_a_reason(consultation_opened, buyer, company_user):
    deposit = deposit_received(consultation_opened, company_user)
    with pytest.raises(AdmissionError, match="Une capacité n'est pas jugée suffisante"):
        review(buyer.user, deposit, financial=False)
    review(buyer.user, deposit, financial=False, reason="Le cotraitant apporte la capacité financière.")
    saved = CandidatureReview.objects.get(deposit=deposit)
    assert (saved.admitted, saved.financial_ok) == (True, False)


def test_a_late_deposit_or_an_unopened_candidature_is_not_reviewed(
    consultation_opened, buyer, company_user, other_company_user
):
    late = deposit_received(consultation_opened, company_user, status=DepositStatus.LATE)
    with pytest.raises(AdmissionError, match="n'a pas été reçu dans les délais"):
        review(buyer.user, late)
    unopened = deposit_received(consultation_opened, other_company_user, opened=False)
    with pytest.raises(AdmissionError) as refused:
        review(buyer.user, unopened)
    assert refused.value.message == (
        "La candidature de ce pli n'est pas encore ouverte : ouvrez d'abord les candidatures."
    )


def test_nothing_is_reviewed_before_the_deadline_nor_after_the_decision(buyer, company_user, clock):
    consultation = consultation_opened_make(buyer, state=State.ONLINE)
    deposit = deposit_received(consultation, company_user, opened=False)
    with pytest.raises(AdmissionError, match="La date limite de remise des plis n'est pas passée"):
        review(buyer.user, deposit)
    decided = consultation_opened_make(buyer, clock, state=State.DECIDED)
    with pytest.raises(AdmissionError, match="avant la décision ; la consultation est « Décidée »"):
        review(buyer.user, deposit_received(decided, company_user))


def test_only_an_agent_who_may_decide_reviews(consultation_opened, opener, company_user):
    deposit = deposit_received(consultation_opened, company_user)
    with pytest.raises(PermissionDenied):
        review(opener.user, deposit)


def test_a_request_for_complements_is_a_message_with_its_answer_date(
    consultation_opened, buyer, company_user, clock, mailoutbox, django_capture_on_commit_callbacks
):
    deposit = deposit_received(consultation_opened, company_user)
    due = clock() + timedelta(days=5)
    with django_capture_on_commit_callbacks(execute=True):
        message = complements_request(
            user=buyer.user,
            deposit=deposit,
            body="Merci de joindre votre attestation d'assurance.",
            answer_due_at=due,
        )
    assert (message.kind, message.answer_due_at) == (Kind.DOCUMENTS_REQUEST, due)
    assert message.thread.company == company_user.company
    assert message.subject == f"Demande de compléments — consultation {consultation_opened.reference}"
    assert [mail.to for mail in mailoutbox] == [[company_user.user.email]]
    with pytest.raises(AdmissionError) as refused:
        complements_request(user=buyer.user, deposit=deposit, body="Encore une pièce.", answer_due_at=clock())
    assert refused.value.message == "La date de réponse attendue doit être dans le futur."
    assert refused.value.field == "answer_due_at"


# --- The screen -------------------------------------------------------------------------------


def test_the_screen_lists_the_on_time_candidatures_with_consortium_members(
    client, consultation_opened, buyer, company_user, other_company_user
):
    deposit_received(consultation_opened, company_user, members=[("40483304800022", "Charpentes du Nord")])
    deposit_received(consultation_opened, other_company_user, status=DepositStatus.LATE)
    login_verified(client, buyer.user)
    page = client.get(candidatures_url(consultation_opened)).content.decode()
    assert "Bâtiment Ouest" in page
    assert "Charpentes du Nord (40483304800022) — Cotraitant" in page
    assert "Travaux Est" not in page
    assert "Pas encore examinée" in page


def test_the_screen_records_a_review_and_refuses_a_refusal_without_reason(
    client, consultation_opened, buyer, company_user
):
    deposit = deposit_received(consultation_opened, company_user)
    login_verified(client, buyer.user)
    url = reverse("awards:candidature_review", args=[consultation_opened.pk, deposit.pk])
    prefix = f"r{deposit.pk}"
    # WHEN the agent refuses it without a reason
    response = client.post(url, {f"{prefix}-professional_ok": "on", f"{prefix}-decision": "refused"})
    # THEN the reason field says why, and nothing is recorded
    assert response.status_code == 400
    page = response.content.decode()
    assert "Indiquez le motif pour lequel la candidature n&#x27;est pas admise" in page
    assert re.search(f'aria-describedby="[^"]*id_{prefix}-reason_error"', page)
    assert not CandidatureReview.objects.exists()
    # WHEN a reason is given, THEN it is recorded and shown
    response = client.post(
        url,
        {
            f"{prefix}-professional_ok": "on",
            f"{prefix}-decision": "refused",
            f"{prefix}-reason": "DC2 absent.",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Non admise" in page and "DC2 absent." in page
    assert CandidatureReview.objects.get(deposit=deposit).technical_ok is False


def test_the_screen_shows_the_requests_sent_their_answers_and_those_overdue(
    client, consultation_opened, buyer, company_user, other_company_user, clock
):
    west = deposit_received(consultation_opened, company_user)
    east = deposit_received(consultation_opened, other_company_user)
    login_verified(client, buyer.user)
    due_day = (clock() + timedelta(days=3)).date()
    for deposit in (west, east):
        prefix = f"m{deposit.pk}"
        response = client.post(
            reverse("awards:complements_request", args=[consultation_opened.pk, deposit.pk]),
            {
                f"{prefix}-subject": "",
                f"{prefix}-body": "Merci de fournir le DC2.",
                f"{prefix}-answer_due_date": due_day.isoformat(),
                f"{prefix}-answer_due_time": "12:00",
            },
        )
        assert response.status_code == 302
    request = Message.objects.get(thread__company=company_user.company, kind=Kind.DOCUMENTS_REQUEST)
    clock.advance(days=1)
    message_reply(user=company_user.user, message=request, body="Voici le DC2.")
    clock.advance(days=5)
    page = client.get(candidatures_url(consultation_opened)).content.decode()
    assert page.count(f"réponse attendue avant le {due_day:%d/%m/%Y} 12:00") == 2
    assert "Répondu le" in page
    assert page.count("Sans réponse, délai dépassé") == 1


def test_a_past_answer_date_is_refused_and_the_text_kept(
    client, consultation_opened, buyer, company_user, clock
):
    deposit = deposit_received(consultation_opened, company_user)
    login_verified(client, buyer.user)
    prefix = f"m{deposit.pk}"
    yesterday = (clock() - timedelta(days=1)).date()
    response = client.post(
        reverse("awards:complements_request", args=[consultation_opened.pk, deposit.pk]),
        {
            f"{prefix}-body": "Merci de fournir le DC2.",
            f"{prefix}-answer_due_date": yesterday.isoformat(),
            f"{prefix}-answer_due_time": "12:00",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "La date de réponse attendue doit être dans le futur." in page
    assert "Merci de fournir le DC2.</textarea>" in page
    assert not Message.objects.exists()


def test_the_screen_is_for_the_buyers_agents_only(
    client, consultation_opened, buyer, opener, company_user, clock
):
    deposit = deposit_received(consultation_opened, company_user)
    url = candidatures_url(consultation_opened)
    login_verified(client, AgentFactory(organisation=OrganisationFactory(), can_decide=True).user)
    assert client.get(url).status_code == 404
    client.logout()
    login_verified(client, company_user.user)
    assert client.get(url).status_code == 403
    client.logout()
    # an agent who may not decide reads the screen but cannot review
    login_verified(client, opener.user)
    assert "Enregistrer l&#x27;examen" not in client.get(url).content.decode()
    post = client.post(
        reverse("awards:candidature_review", args=[consultation_opened.pk, deposit.pk]),
        {f"r{deposit.pk}-decision": "admitted"},
    )
    assert post.status_code == 403
    assert not CandidatureReview.objects.exists()


def test_before_the_deadline_the_screen_tells_nothing(client, buyer, company_user, clock):
    consultation = consultation_opened_make(buyer, state=State.ONLINE)
    deposit_received(consultation, company_user, opened=False)
    login_verified(client, buyer.user)
    response = client.get(candidatures_url(consultation), follow=True)
    page = response.content.decode()
    assert "L&#x27;analyse commence après l&#x27;ouverture des plis." in page
    assert "Bâtiment Ouest" not in page


def test_an_offer_noted_before_its_candidature_is_refused_leaves_the_ranking(
    consultation_opened, buyer, company_user, other_company_user, clock
):
    from decimal import Decimal

    from awards.models import Criterion, CriterionKind, EvaluationGrid, PriceFormula
    from awards.services.scoring import grid_results, offer_amount_record, score_record

    # GIVEN two offers noted on a grid (price 60 %, technique 40 %)
    grid = EvaluationGrid.objects.create(
        consultation=consultation_opened, created_at=clock(), created_by=buyer.user
    )
    Criterion.objects.create(
        grid=grid,
        label="Prix",
        weight=Decimal("60"),
        kind=CriterionKind.PRICE,
        price_formula=PriceFormula.PROPORTIONAL,
    )
    technique = Criterion.objects.create(grid=grid, label="Technique", weight=Decimal("40"))
    cheap = deposit_received(consultation_opened, company_user)
    dear = deposit_received(consultation_opened, other_company_user)
    for deposit, amount in ((cheap, "50000"), (dear, "100000")):
        offer_amount_record(grid=grid, deposit=deposit, amount=Decimal(amount), user=buyer.user)
        score_record(
            criterion=technique, deposit=deposit, value=Decimal("30"), comment="Vu.", user=buyer.user
        )
    assert [r.result.key for r in grid_results(grid=grid)] == [(cheap.pk, False), (dear.pk, False)]
    # WHEN the cheaper one's candidature is then refused
    review(buyer.user, cheap, admitted=False, financial=False, reason="Chiffre d'affaires insuffisant.")
    # THEN it is no longer ranked, and the other offer is now the lowest price (60 + 30)
    (only,) = grid_results(grid=grid)
    assert only.result.key == (dear.pk, False)
    assert only.result.total == Decimal("90.00")
