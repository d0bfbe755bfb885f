"""Abnormally low offers: the detection rule, the justification asked through the secure
messaging, the decision, and a rejected offer left out of the ranking."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse

from audit.models import Event
from awards.models import LowOfferDecision
from awards.services.low_offers import (
    OfferError,
    grid_low_offers,
    justification_replies,
    justification_request,
    low_offer_decide,
    low_offers_detect,
)
from awards.services.scoring import grid_results, offer_amount_record
from messaging.models import Kind
from messaging.services.sending import message_reply
from tests.awards.test_corrections import grid_make, offer_make
from tests.conftest import login_verified
from tests.factories import CompanyUserFactory


@pytest.fixture
def grid(consultation_opened, buyer, clock):
    return grid_make(consultation_opened, buyer.user, clock)


@pytest.fixture
def third_company_user(db):
    return CompanyUserFactory(company__name="Charpentes Nord")


@pytest.fixture
def offers(grid, buyer, company_user, other_company_user, third_company_user):
    """Two offers at 100 000 € and one at 70 000 € (below 80 % of 100 000)."""
    return {
        "Bâtiment Ouest": offer_make(grid, company_user, "100000.00", "30", buyer.user),
        "Travaux Est": offer_make(grid, other_company_user, "100000.00", "30", buyer.user),
        "Charpentes Nord": offer_make(grid, third_company_user, "70000.00", "20", buyer.user),
    }


def test_an_offer_below_80_percent_of_the_average_of_the_others_is_flagged(grid, offers):
    checks = grid_low_offers(grid)

    low = checks[offers["Charpentes Nord"].pk]
    assert low.flagged
    assert (low.others_average, low.limit, low.threshold, low.others_count) == (
        D("100000.00"),
        D("80000.00"),
        D("80"),
        2,
    )
    # 100 000 against the average of 100 000 and 70 000 (85 000): above its limit of 68 000
    high = checks[offers["Bâtiment Ouest"].pk]
    assert not high.flagged and high.others_average == D("85000.00") and high.limit == D("68000.00")


def test_the_rule_follows_the_grid_threshold_and_is_strict():
    offers = [("a", D("100000")), ("b", D("80000"))]
    # exactly 80 % of the other offer: not below it
    assert not low_offers_detect(offers, D("80"))["b"].flagged
    assert low_offers_detect(offers, D("81"))["b"].flagged
    assert not low_offers_detect([("a", D("100")), ("b", D("70"))], D("60"))["b"].flagged


def test_a_single_offer_and_variants_are_compared_only_with_their_kind(grid, offers, buyer, company_user):
    variant = offer_amount_record(
        grid=grid, deposit=offers["Bâtiment Ouest"].deposit, amount=D("10000"), variant=True, user=buyer.user
    )
    check = grid_low_offers(grid)[variant.pk]
    # the only variant: nothing to compare with, whatever the base offers say
    assert not check.flagged and check.others_average is None
    assert grid_low_offers(grid)[offers["Travaux Est"].pk].others_average == D("85000.00")


def test_the_justification_is_asked_through_the_secure_messaging(
    grid, offers, buyer, third_company_user, clock, mailoutbox, django_capture_on_commit_callbacks
):
    row = offers["Charpentes Nord"]
    due = clock() + timedelta(days=8)

    with django_capture_on_commit_callbacks(execute=True):
        message = justification_request(
            user=buyer.user,
            amount=row,
            body="Merci de justifier le prix du lot charpente.",
            answer_due_at=due,
        )

    row.refresh_from_db()
    assert row.justification_request == message
    assert message.kind == Kind.DOCUMENTS_REQUEST
    assert message.subject == "Demande de justification d'une offre anormalement basse"
    assert message.thread.company == third_company_user.company and message.answer_due_at == due
    assert [m.to for m in mailoutbox] == [[third_company_user.user.email]]
    assert Event.objects.filter(action="awards.low_offer_justification_request").count() == 1
    # asked once
    with pytest.raises(OfferError, match="déjà été demandée"):
        justification_request(user=buyer.user, amount=row, body="Encore", answer_due_at=due)


def test_a_justification_request_needs_a_text_and_a_future_answer_date(grid, offers, buyer, clock):
    row = offers["Charpentes Nord"]
    with pytest.raises(OfferError) as refused:
        justification_request(user=buyer.user, amount=row, body="Justifiez.", answer_due_at=None)
    assert refused.value.field == "answer_due_at"
    with pytest.raises(OfferError) as refused:
        justification_request(user=buyer.user, amount=row, body="Justifiez.", answer_due_at=clock())
    assert refused.value.message == "La date de réponse attendue doit être dans le futur."
    with pytest.raises(OfferError) as refused:
        justification_request(
            user=buyer.user, amount=row, body=" ", answer_due_at=clock() + timedelta(days=1)
        )
    assert refused.value.field == "body"
    row.refresh_from_db()
    assert row.justification_request is None


def test_an_offer_cannot_be_rejected_without_asking_its_justification_first(grid, offers, buyer):
    row = offers["Charpentes Nord"]
    with pytest.raises(OfferError) as refused:
        low_offer_decide(user=buyer.user, amount=row, decision=LowOfferDecision.REJECTED, reason="Trop bas.")
    assert refused.value.message.startswith(
        "Une offre ne peut être rejetée comme anormalement basse qu'après avoir demandé à l'entreprise"
    )
    with pytest.raises(OfferError, match="motif de la décision"):
        low_offer_decide(user=buyer.user, amount=row, decision=LowOfferDecision.KEPT, reason="")
    row.refresh_from_db()
    assert row.low_offer_decision == ""


def test_a_rejected_offer_is_neither_ranked_nor_the_lowest_price(
    grid, offers, buyer, third_company_user, clock
):
    row = offers["Charpentes Nord"]
    # GIVEN the lowest offer (70 000) sets every price point
    assert {r.result.label: r.result.total for r in grid_results(grid=grid)}["Travaux Est"] == D("72.00")
    request = justification_request(
        user=buyer.user, amount=row, body="Justifiez votre prix.", answer_due_at=clock() + timedelta(days=8)
    )
    reply = message_reply(user=third_company_user.user, message=request, body="Nous vendons à perte.")
    assert justification_replies(row) == [reply]

    # WHEN the agent rejects it
    low_offer_decide(
        user=buyer.user,
        amount=row,
        decision=LowOfferDecision.REJECTED,
        reason="La vente à perte ne justifie pas le prix.",
    )

    # THEN it leaves the ranking and the lowest price is 100 000: the others get the 60 points
    ranked = grid_results(grid=grid)
    assert [(r.rank, r.result.label, r.result.total) for r in ranked] == [
        (1, "Bâtiment Ouest", D("90.00")),
        (1, "Travaux Est", D("90.00")),
    ]
    row.refresh_from_db()
    assert (row.low_offer_decision, row.low_offer_decided_by) == (LowOfferDecision.REJECTED, buyer.user)
    assert Event.objects.get(action="awards.low_offer_decide").data["decision"] == "rejected"


def test_a_kept_offer_stays_in_the_ranking(grid, offers, buyer):
    row = offers["Charpentes Nord"]
    low_offer_decide(
        user=buyer.user,
        amount=row,
        decision=LowOfferDecision.KEPT,
        reason="Prix cohérent avec le marché local.",
    )
    assert "Charpentes Nord" in [r.result.label for r in grid_results(grid=grid)]


# --- The screen ----------------------------------------------------------------------------


def corrections_url(grid):
    return reverse("awards:corrections", args=[grid.consultation.pk, grid.pk])


def test_the_screen_shows_the_rule_and_its_figures_and_asks_the_justification(
    client, grid, offers, buyer, clock, third_company_user
):
    login_verified(client, buyer.user)
    page = client.get(corrections_url(grid)).content.decode()
    assert "Offre anormalement basse" in page
    assert "moyenne des autres offres : 100\u00a0000,00\u00a0€ HT" in page
    assert "seuil : 80\u00a0% soit 80\u00a0000,00\u00a0€ HT" in page
    row = offers["Charpentes Nord"]
    # the request is pre-filled with the legal text and the offer's amount
    assert "paraît anormalement bas" in page and "70\u00a0000,00\u00a0€ HT" in page
    due = (clock() + timedelta(days=8)).date()

    response = client.post(
        corrections_url(grid),
        {
            "action": "request",
            "offer": row.pk,
            f"request-{row.pk}-body": "Justifiez le prix de la charpente.",
            f"request-{row.pk}-answer_due_date": due.isoformat(),
            f"request-{row.pk}-answer_due_time": "12:00",
        },
    )

    assert response.status_code == 302
    row.refresh_from_db()
    assert row.justification_request.body == "Justifiez le prix de la charpente."
    page = client.get(corrections_url(grid)).content.decode()
    assert "Justification demandée le" in page and "Aucune réponse pour l'instant." in page
    # the company's answer appears with the offer, with a link to the message
    reply = message_reply(
        user=third_company_user.user, message=row.justification_request, body="Bois de récupération."
    )
    page = client.get(corrections_url(grid)).content.decode()
    assert "Bois de récupération." in page
    assert reverse("messaging:buyer_message", args=[grid.consultation.pk, reply.pk]) in page


def test_the_screen_refuses_a_rejection_without_justification_next_to_the_choice(client, grid, offers, buyer):
    login_verified(client, buyer.user)
    row = offers["Charpentes Nord"]

    response = client.post(
        corrections_url(grid),
        {
            "action": "decide",
            "offer": row.pk,
            f"decide-{row.pk}-decision": "rejected",
            f"decide-{row.pk}-reason": "Prix intenable.",
        },
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "qu&#x27;après avoir demandé à l&#x27;entreprise de la justifier" in page
    assert "Prix intenable." in page
    row.refresh_from_db()
    assert row.low_offer_decision == ""
