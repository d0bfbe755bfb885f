"""Inputs found by review that used to end in a 500 or bend a rule."""

import io
from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError

from accounts.notifications import email_queue
from consultations.calendar import paris_moment
from consultations.models import Question
from consultations.services.amendments import amendment_publish
from tests.factories import T0, consultation_online


@pytest.mark.parametrize("path", ["/annonces/", "/api/consultations/"])
def test_a_date_far_in_the_future_is_a_message_not_a_crash(client, db, path):
    response = client.get(path, {"date_limite_avant": "9999-12-31"})
    assert response.status_code in (200, 400)
    assert "2100" in response.content.decode()


def test_a_rectificatif_may_push_the_deadline_but_never_bring_it_forward(buyer, clock):
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    earlier = consultation.deadline - timedelta(days=1)
    with pytest.raises(ValidationError) as raised:
        amendment_publish(
            consultation=consultation, user=buyer.user, reason="Raccourcir", changes={"deadline": earlier}
        )
    assert "ne peut pas avancer" in str(raised.value)
    consultation.refresh_from_db()
    assert consultation.deadline == T0 + timedelta(days=30, hours=3)


def test_a_deadline_is_kept_to_the_second_without_fractions():
    moment = paris_moment(T0.date(), time(12, 0, 0, 750000))
    assert moment.microsecond == 0 and moment.second == 0


def test_a_control_character_in_a_question_does_not_break_the_xlsx_register(
    client, buyer, company_user, clock
):
    from openpyxl import load_workbook

    consultation = consultation_online(
        organisation=buyer.organisation, created_by=buyer.user, reference="XL-1"
    )
    Question.objects.create(
        consultation=consultation,
        company=company_user.company,
        asked_by=company_user.user,
        asked_at=T0,
        text="Question\x01 avec un caractère de contrôle",
    )
    client.force_login(buyer.user)
    response = client.get(f"/acheteur/consultations/{consultation.pk}/registres/questions.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert any(row and "Question avec un caractère de contrôle" in str(row) for row in rows)


def test_a_line_break_in_a_reference_still_gives_a_one_line_subject(
    buyer, mailoutbox, django_capture_on_commit_callbacks
):
    consultation = consultation_online(
        organisation=buyer.organisation, created_by=buyer.user, reference="A\nB"
    )
    with django_capture_on_commit_callbacks(execute=True):
        email_queue(
            template="consultations/email/sent_back",
            context={"consultation": consultation, "comment": "l'école & co", "url": "http://x"},
            to=["a@exemple.fr"],
        )
    assert "\n" not in mailoutbox[0].subject and "A B" in mailoutbox[0].subject
    assert "l'école & co" in mailoutbox[0].body
