"""The letters of a decision: rejection letters with the ranking, the award letter and its
certificates deadline in « jours francs », the letters of an unsuccessful or « sans suite » lot."""

from datetime import date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from audit.models import Event
from awards.models import Criterion, CriterionKind, EvaluationGrid, Outcome, PriceFormula
from awards.services.decisions import DecisionError, decision_record
from awards.services.letters import clear_days_end, letters_send
from awards.services.scoring import offer_amount_record, score_record
from deposits.models import DepositStatus
from messaging.models import Kind, Message
from tests.awards.conftest import deposit_received
from tests.conftest import login_verified
from tests.factories import CompanyUserFactory

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def third_company_user(db):
    return CompanyUserFactory(company__name="Charpente Sud")


def grid_for(consultation, lot, buyer, clock):
    """Price 60 % (proportional), technical value 40 % noted in points."""
    grid = EvaluationGrid.objects.create(
        consultation=consultation, lot=lot, created_at=clock(), created_by=buyer.user
    )
    Criterion.objects.create(
        grid=grid,
        position=1,
        label="Prix",
        weight=D("60"),
        kind=CriterionKind.PRICE,
        price_formula=PriceFormula.PROPORTIONAL,
    )
    Criterion.objects.create(grid=grid, position=2, label="Valeur technique", weight=D("40"))
    return grid


def offer_scored(grid, deposit, amount, technical, user):
    offer_amount_record(grid=grid, deposit=deposit, amount=D(amount), user=user)
    score_record(
        criterion=grid.criteria.get(label="Valeur technique"), deposit=deposit, value=D(technical), user=user
    )


def letters_by_company(decision):
    return {
        m.thread.company.name: m for m in Message.objects.filter(thread__consultation=decision.consultation)
    }


def test_an_awarded_lot_sends_a_rejection_letter_with_the_ranking_and_the_award_letter(
    consultation_with_lots,
    buyer,
    clock,
    company_user,
    other_company_user,
    third_company_user,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    # GIVEN lot 1 scored on its grid: west 60 + 30 = 90, east 50 + 35 = 85; south bid on lot 2 only,
    # and a late deposit on lot 1
    consultation = consultation_with_lots
    lot1, lot2 = consultation.lots.order_by("number")
    west = deposit_received(consultation, company_user, lots=[lot1])
    east = deposit_received(consultation, other_company_user, lots=[lot1])
    deposit_received(consultation, third_company_user, lots=[lot2])
    deposit_received(
        consultation, CompanyUserFactory(company__name="Retard SARL"), lots=[lot1], status="late"
    )
    grid = grid_for(consultation, lot1, buyer, clock)
    offer_scored(grid, west, "100000", "30", buyer.user)
    offer_scored(grid, east, "120000", "35", buyer.user)
    decision = decision_record(
        user=buyer.user,
        consultation=consultation,
        lot=lot1,
        outcome=Outcome.AWARDED,
        deposit=west,
        amount=D("100000"),
        duration_months=12,
        reason="Offre économiquement la plus avantageuse.",
    )
    # WHEN the letters are sent (Thursday 2 April 2026, 12:00)
    with django_capture_on_commit_callbacks(execute=True):
        sent = letters_send(user=buyer.user, decision=decision)
    # THEN one message per company that bid on time on lot 1, each in its own thread
    letters = letters_by_company(decision)
    assert sorted(letters) == ["Bâtiment Ouest", "Travaux Est"]
    assert len(sent) == 2
    rejection, award = letters["Travaux Est"], letters["Bâtiment Ouest"]
    assert rejection.kind == Kind.REJECTION
    assert rejection.subject == f"Lettre de rejet — {consultation.reference} — lot 1"
    assert "Votre offre : rang 2 sur 2, 85 points sur 100." in rejection.body
    assert "L'offre retenue, de Bâtiment Ouest : rang 1 sur 2, 90 points sur 100." in rejection.body
    assert "- Prix (60 %) : 50 points pour votre offre, 60 pour l'offre retenue" in rejection.body
    assert "Motifs de la décision : Offre économiquement la plus avantageuse." in rejection.body
    # the award letter asks for the certificates within 7 jours francs: the 2nd and the 10th
    # do not count, the 10th April is a Friday: the end of Friday 10 April, Paris time
    assert award.kind == Kind.AWARD
    assert "attestations de régularité fiscale et sociale" in award.body
    assert "7 jours francs, soit au plus tard le 10/04/2026" in award.body
    assert award.answer_due_at == datetime(2026, 4, 10, 23, 59, 59, 999999, tzinfo=PARIS)
    # and tells where the acte d'engagement waits for the winner's signature
    assert f"/entreprise/marches/{decision.pk}/signature/" in award.body
    assert "signature" not in rejection.body
    # the other company is not told the winner's amount, the winner is
    assert "100\u202f000,00 € HT" in award.body and "€ HT" not in rejection.body
    # each company is mailed separately; the decision keeps when and how
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [company_user.user.email, other_company_user.user.email]
    )
    decision.refresh_from_db()
    assert decision.letters_sent_at == clock() and decision.letters_electronic is True
    assert Event.objects.get(action="awards.letters_sent").data["messages"] == [m.pk for m in sent]


def test_without_a_grid_the_rejection_letter_says_the_offers_were_not_scored(
    consultation_opened, buyer, company_user, other_company_user, django_capture_on_commit_callbacks
):
    west = deposit_received(consultation_opened, company_user)
    deposit_received(consultation_opened, other_company_user)
    decision = decision_record(
        user=buyer.user,
        consultation=consultation_opened,
        lot=None,
        outcome=Outcome.AWARDED,
        deposit=west,
        amount=D("5000"),
        duration_months=3,
    )
    with django_capture_on_commit_callbacks(execute=True):
        letters_send(user=buyer.user, decision=decision)
    rejection = letters_by_company(decision)["Travaux Est"]
    assert "Aucune grille de notation n'a été établie" in rejection.body
    assert "Le marché est attribué à Bâtiment Ouest." in rejection.body


def test_an_incomplete_grid_stops_the_letters(
    consultation_opened, buyer, clock, company_user, other_company_user
):
    west = deposit_received(consultation_opened, company_user)
    east = deposit_received(consultation_opened, other_company_user)
    grid = grid_for(consultation_opened, None, buyer, clock)
    offer_scored(grid, west, "100000", "30", buyer.user)
    offer_amount_record(grid=grid, deposit=east, amount=D("90000"), user=buyer.user)  # not noted
    decision = decision_record(
        user=buyer.user,
        consultation=consultation_opened,
        lot=None,
        outcome=Outcome.AWARDED,
        deposit=west,
        amount=D("100000"),
        duration_months=12,
    )
    with pytest.raises(DecisionError) as refused:
        letters_send(user=buyer.user, decision=decision)
    assert refused.value.message == (
        "Le classement des offres ne peut pas être établi : "
        "L'offre de Travaux Est n'est pas notée sur le critère « Valeur technique »."
    )
    decision.refresh_from_db()
    assert decision.letters_sent_at is None
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("outcome", "kind", "words"),
    [
        (Outcome.UNSUCCESSFUL, Kind.REJECTION, "est déclaré infructueux"),
        (Outcome.CANCELLED, Kind.CANCELLATION, "est déclaré sans suite"),
    ],
)
def test_an_unsuccessful_or_sans_suite_lot_tells_every_bidder_the_reason(
    consultation_with_lots,
    buyer,
    company_user,
    other_company_user,
    third_company_user,
    outcome,
    kind,
    words,
    django_capture_on_commit_callbacks,
):
    consultation = consultation_with_lots
    lot1, lot2 = consultation.lots.order_by("number")
    deposit_received(consultation, company_user, lots=[lot1, lot2])
    deposit_received(consultation, other_company_user, lots=[lot2])
    deposit_received(consultation, third_company_user, lots=[lot1])
    decision = decision_record(
        user=buyer.user, consultation=consultation, lot=lot2, outcome=outcome, reason="Besoin redéfini."
    )
    with django_capture_on_commit_callbacks(execute=True):
        letters_send(user=buyer.user, decision=decision)
    letters = letters_by_company(decision)
    assert sorted(letters) == ["Bâtiment Ouest", "Travaux Est"]
    for letter in letters.values():
        assert letter.kind == kind
        assert f"le lot 2 « Lot n° 2 » de la consultation {consultation.reference}" in letter.body
        assert words in letter.body
        assert "Motif : Besoin redéfini." in letter.body


def test_letters_are_sent_once(consultation_opened, buyer, company_user, django_capture_on_commit_callbacks):
    deposit_received(consultation_opened, company_user)
    decision = decision_record(
        user=buyer.user,
        consultation=consultation_opened,
        lot=None,
        outcome=Outcome.CANCELLED,
        reason="Abandon.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        letters_send(user=buyer.user, decision=decision)
    with pytest.raises(DecisionError, match="ont déjà été envoyées le 02/04/2026"):
        letters_send(user=buyer.user, decision=decision)
    assert Message.objects.count() == 1


def test_no_letter_goes_once_the_consultation_is_declared_sans_suite(
    consultation_with_lots, buyer, company_user, django_capture_on_commit_callbacks
):
    from consultations.services.lifecycle import consultation_cancel

    deposit_received(consultation_with_lots, company_user)
    lot = consultation_with_lots.lots.get(number=1)
    decision = decision_record(
        user=buyer.user,
        consultation=consultation_with_lots,
        lot=lot,
        outcome=Outcome.UNSUCCESSFUL,
        reason="Trop cher.",
    )
    # GIVEN the consultation is declared sans suite before the letters of lot 1 went
    consultation_cancel(consultation=consultation_with_lots, user=buyer.user, reason="Besoin disparu.")
    # THEN the letters of the old decision are refused, and nothing is sent
    messages_before = Message.objects.count()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(DecisionError, match="la consultation est « Sans suite »"),
    ):
        letters_send(user=buyer.user, decision=decision)
    assert Message.objects.count() == messages_before
    decision.refresh_from_db()
    assert decision.letters_sent_at is None


def test_the_certificates_deadline_must_be_plausible(consultation_opened, buyer, company_user):
    deposit = deposit_received(consultation_opened, company_user)
    decision = decision_record(
        user=buyer.user,
        consultation=consultation_opened,
        lot=None,
        outcome=Outcome.AWARDED,
        deposit=deposit,
        amount=D("1000"),
        duration_months=1,
    )
    with pytest.raises(DecisionError) as refused:
        letters_send(user=buyer.user, decision=decision, certificates_days=0)
    assert refused.value.field == "certificates_days"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("sent_on", "days", "last_day"),
    [
        # Monday 2 March: neither the 2nd nor the 9th count, Tuesday 10 March
        (date(2026, 3, 2), 7, date(2026, 3, 10)),
        # Thursday 5 March, 1 day: the 6th counts, Saturday 7 → Monday 9 March
        (date(2026, 3, 5), 1, date(2026, 3, 9)),
        # Thursday 2 April, 3 days: Monday 6 April is Easter Monday → Tuesday 7 April
        (date(2026, 4, 2), 3, date(2026, 4, 7)),
    ],
)
def test_jours_francs_exclude_both_ends_and_end_on_a_working_day(sent_on, days, last_day):
    assert clear_days_end(sent_on, days) == last_day


def test_alsace_moselle_has_its_own_holidays():
    # Friday 25 December 2026 is everywhere a holiday; Saturday 26 then Sunday 27; Monday 28
    assert clear_days_end(date(2026, 12, 22), 2) == date(2026, 12, 28)
    # Good Friday (3 April 2026) is a holiday in Moselle only
    assert clear_days_end(date(2026, 3, 31), 2) == date(2026, 4, 3)
    assert clear_days_end(date(2026, 3, 31), 2, "57") == date(2026, 4, 7)


def test_the_screen_sends_the_letters_and_lists_them(
    client, consultation_opened, buyer, company_user, other_company_user, django_capture_on_commit_callbacks
):
    west = deposit_received(consultation_opened, company_user)
    deposit_received(consultation_opened, other_company_user)
    deposit_received(
        consultation_opened, CompanyUserFactory(company__name="Retard SARL"), status=DepositStatus.LATE
    )
    decision = decision_record(
        user=buyer.user,
        consultation=consultation_opened,
        lot=None,
        outcome=Outcome.AWARDED,
        deposit=west,
        amount=D("1000"),
        duration_months=1,
    )
    login_verified(client, buyer.user)
    url = reverse("awards:decision_letters", args=[consultation_opened.pk, decision.pk])
    refused = client.post(url, {"letters-0-certificates_days": "90", "letters-0-electronic": "1"})
    assert refused.status_code == 400
    assert 'id="id_letters-0-certificates_days_error"' in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"letters-0-certificates_days": "10", "letters-0-electronic": "0"})
    assert response.status_code == 302
    page = client.get(reverse("awards:decisions", args=[consultation_opened.pk])).content.decode()
    assert "Lettres envoyées le 02/04/2026 12:00" in page
    assert "Lettre de rejet" in page and "Lettre d&#x27;attribution" in page
    assert "Retard SARL" not in page
    decision.refresh_from_db()
    assert (decision.certificates_days, decision.letters_electronic) == (10, False)
    # the decision is final: its form is gone
    assert "Modifier la décision" not in page
    # 10 jours francs from Thursday 2 April: the 13th, a Monday
    award = Message.objects.get(kind=Kind.AWARD)
    assert award.answer_due_at.astimezone(PARIS).date() == date(2026, 4, 13)
    # sent twice (a second tab): refused, and said at the top of the lot
    again = client.post(url, {"letters-0-certificates_days": "10", "letters-0-electronic": "1"})
    assert again.status_code == 400
    assert "Les lettres de cette décision ont déjà été envoyées le 02/04/2026." in again.content.decode()
    assert Message.objects.count() == 2


def test_a_bidder_whose_candidature_was_refused_is_told_why_it_was_not_ranked(
    consultation_opened, buyer, clock, company_user, other_company_user, django_capture_on_commit_callbacks
):
    from awards.models import CandidatureReview

    west = deposit_received(consultation_opened, company_user)
    east = deposit_received(consultation_opened, other_company_user)
    CandidatureReview.objects.create(
        deposit=east,
        admitted=False,
        technical_ok=False,
        reason="Références insuffisantes.",
        reviewed_at=clock(),
        reviewed_by=buyer.user,
    )
    grid = grid_for(consultation_opened, None, buyer, clock)
    offer_scored(grid, west, "100000", "30", buyer.user)
    decision = decision_record(
        user=buyer.user,
        consultation=consultation_opened,
        lot=None,
        outcome=Outcome.AWARDED,
        deposit=west,
        amount=D("100000"),
        duration_months=12,
    )
    with django_capture_on_commit_callbacks(execute=True):
        letters_send(user=buyer.user, decision=decision)
    rejection = letters_by_company(decision)["Travaux Est"]
    assert (
        "Votre offre n'a pas été classée : votre candidature n'a pas été admise (Références insuffisantes.)."
        in rejection.body
    )
    assert "L'offre retenue, de Bâtiment Ouest : rang 1 sur 1, 90 points sur 100." in rejection.body
