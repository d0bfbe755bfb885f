"""Questions of the companies: asked until the cut-off, answered anonymously, told to the downloaders."""

import re
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import Event
from consultations.errors import ConsultationError
from consultations.models import Access, Download, Question, State
from consultations.services.questions import question_answer, question_ask
from messaging.models import Kind, Message
from tests.factories import PARIS, T0, AgentFactory, CompanyUserFactory, consultation_online

# consultation_online's deadline: Wednesday 1 April 2026 at 12:00 (T0 + 30 days 3 hours).
DEADLINE = datetime(2026, 4, 1, 12, 0, tzinfo=PARIS)
# Six « jours ouvrés » before, at the same time of day: Tuesday 24 March 2026 at 12:00.
QUESTION_CUTOFF = datetime(2026, 3, 24, 12, 0, tzinfo=PARIS)


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(organisation=buyer.organisation, created_by=buyer.user)


def download(consultation, company_user, *, at=T0, file_name=""):
    return Download.objects.create(
        consultation=consultation,
        dce_version=consultation.dce_versions.get(number=1),
        company=company_user.company,
        user=company_user.user,
        downloaded_at=at,
        file_name=file_name,
    )


def questions_section(html: str) -> str:
    match = re.search(r'<section id="questions-reponses".*?</section>', html, re.S)
    assert match, "the consultation page has no questions section"
    return match.group(0)


def test_the_question_cutoff_is_six_business_days_before_the_deadline_at_the_same_time(consultation):
    assert consultation.deadline == DEADLINE
    assert consultation.question_deadline() == QUESTION_CUTOFF


def test_a_company_asks_a_question_until_one_second_before_the_cutoff(consultation, company_user, clock):
    clock.set(QUESTION_CUTOFF - timedelta(seconds=1))

    question = question_ask(
        consultation=consultation, user=company_user.user, text="  Le lot 2 est-il réservé ? "
    )

    assert question.company == company_user.company
    assert question.asked_by == company_user.user
    assert question.asked_at == QUESTION_CUTOFF - timedelta(seconds=1)
    assert question.text == "Le lot 2 est-il réservé ?"
    assert Event.objects.filter(action="question.asked", target_id=str(consultation.pk)).exists()


@pytest.mark.parametrize(
    "moment", [QUESTION_CUTOFF, QUESTION_CUTOFF + timedelta(days=2)], ids=["at", "after"]
)
def test_a_question_at_or_after_the_cutoff_is_refused(consultation, company_user, clock, moment):
    clock.set(moment)

    with pytest.raises(ConsultationError) as refused:
        question_ask(consultation=consultation, user=company_user.user, text="Trop tard ?")

    assert "La date limite pour poser des questions est dépassée" in refused.value.message
    assert "24/03/2026 à 12:00:00" in refused.value.message
    assert not Question.objects.exists()


def test_a_late_question_gets_a_clear_refusal_and_keeps_its_text(client, consultation, company_user, clock):
    client.force_login(company_user.user)
    url = reverse("consultations:question_ask", args=[consultation.pk])
    clock.set(QUESTION_CUTOFF - timedelta(minutes=1))
    client.get(url)  # the company opens the form in time…
    clock.set(QUESTION_CUTOFF + timedelta(seconds=5))  # …and sends it too late

    response = client.post(url, {"text": "Peut-on visiter le site le 25 mars ?"})

    assert response.status_code == 200
    content = response.content.decode()
    assert "La date limite pour poser des questions est dépassée" in content
    assert "Peut-on visiter le site le 25 mars ?" in content
    assert not Question.objects.exists()


def test_the_consultation_page_says_when_questions_are_closed(client, consultation, company_user, clock):
    client.force_login(company_user.user)
    ask_url = reverse("consultations:question_ask", args=[consultation.pk])

    clock.set(QUESTION_CUTOFF - timedelta(hours=1))
    before = questions_section(
        client.get(reverse("consultations:detail", args=[consultation.pk])).content.decode()
    )
    clock.set(QUESTION_CUTOFF)
    after = questions_section(
        client.get(reverse("consultations:detail", args=[consultation.pk])).content.decode()
    )

    assert "Poser une question" in before and ask_url in before
    assert "La date limite pour poser des questions est dépassée" not in before
    assert "La date limite pour poser des questions est dépassée" in after
    assert ask_url not in after


def test_a_company_asks_through_the_form_and_sees_its_question(client, consultation, company_user, clock):
    client.force_login(company_user.user)

    response = client.post(
        reverse("consultations:question_ask", args=[consultation.pk]), {"text": "Quelle est la surface ?"}
    )

    assert response.status_code == 302
    page = questions_section(client.get(response["Location"]).content.decode())
    assert "Vos questions" in page
    assert "Quelle est la surface ?" in page
    assert "En attente de réponse" in page


def test_an_empty_question_is_refused_on_its_field(client, consultation, company_user, clock):
    client.force_login(company_user.user)

    response = client.post(reverse("consultations:question_ask", args=[consultation.pk]), {"text": "   "})

    assert response.status_code == 200
    assert response.context["form"].errors["text"] == ["Écrivez votre question."]
    with pytest.raises(ValidationError) as refused:
        question_ask(consultation=consultation, user=company_user.user, text=" ")
    assert "text" in refused.value.message_dict


def test_only_company_users_ask_questions(client, consultation, buyer, clock):
    url = reverse("consultations:question_ask", args=[consultation.pk])

    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(buyer.user)
    assert client.get(url).status_code == 403
    with pytest.raises(PermissionDenied):
        question_ask(consultation=consultation, user=buyer.user, text="?")


def test_a_restricted_consultation_needs_its_access_code_before_a_question(
    client, buyer, company_user, clock
):
    restricted = consultation_online(
        organisation=buyer.organisation,
        created_by=buyer.user,
        access=Access.RESTRICTED,
        access_code="CODE-1234",
    )
    client.force_login(company_user.user)

    response = client.post(reverse("consultations:question_ask", args=[restricted.pk]), {"text": "Bonjour ?"})

    assert response.status_code == 302
    assert response["Location"] == reverse("consultations:detail", args=[restricted.pk])
    assert not Question.objects.exists()


def test_a_closed_consultation_takes_no_question(consultation, company_user, clock):
    consultation.state = State.CLOSED
    consultation.save()

    with pytest.raises(ConsultationError):
        question_ask(consultation=consultation, user=company_user.user, text="Encore une ?")


# --- Answers ------------------------------------------------------------------------------------


@pytest.fixture
def asked(consultation, company_user, clock):
    return question_ask(
        consultation=consultation,
        user=company_user.user,
        text="L'échafaudage est-il fourni ?",
    )


def test_the_answer_is_mailed_once_to_each_identified_downloader_and_to_the_asker(
    asked, buyer, company_user, other_company_user, clock, django_capture_on_commit_callbacks, mailoutbox
):
    # GIVEN one company that downloaded twice (identified), the asker who never downloaded,
    # and a company whose user downloaded anonymously (so no row in the register)
    consultation = asked.consultation
    download(consultation, other_company_user)
    download(consultation, other_company_user, at=T0 + timedelta(hours=1), file_name="CCTP.pdf")
    anonymous_downloader = CompanyUserFactory(company__name="Anonyme SARL")

    # WHEN the buyer answers
    with django_capture_on_commit_callbacks(execute=True):
        question_answer(question=asked, user=buyer.user, answer="Oui, il est fourni par le maître d'ouvrage.")

    # THEN the downloader is told once, the asker once, the anonymous downloader never
    recipients = sorted(address for message in mailoutbox for address in message.to)
    assert recipients == sorted([other_company_user.user.email, company_user.user.email])
    assert anonymous_downloader.user.email not in recipients
    for mail in mailoutbox:
        assert consultation.reference in mail.subject
        assert "/entreprise/messages/" in mail.body and "Accéder au contenu du message" in mail.body
        # The e-mail only points to the message: no question text, no company name.
        assert "échafaudage" not in mail.body
        assert "Bâtiment Ouest" not in mail.body
    # AND the message read on the platform holds the question and its answer, never who asked
    notices = Message.objects.filter(thread__consultation=consultation, kind=Kind.ANSWER)
    assert sorted(m.thread.company_id for m in notices) == sorted(
        [other_company_user.company_id, company_user.company_id]
    )
    for notice in notices:
        assert "échafaudage" in notice.body and "maître d'ouvrage" in notice.body
        assert "Bâtiment Ouest" not in notice.body
    asked.refresh_from_db()
    assert asked.is_answered and asked.answered_by == buyer.user
    assert Event.objects.filter(action="question.answered", target_id=str(consultation.pk)).exists()


def test_the_answer_is_published_without_the_company_name(
    client, asked, buyer, company_user, other_company_user, clock
):
    question_answer(question=asked, user=buyer.user, answer="Oui, il est fourni.")

    client.force_login(other_company_user.user)
    section = questions_section(
        client.get(reverse("consultations:detail", args=[asked.consultation.pk])).content.decode()
    )

    assert "Oui, il est fourni." in section
    assert "échafaudage" in section
    assert company_user.company.name not in section
    assert company_user.company.siret not in section
    assert company_user.user.email not in section
    assert company_user.user.last_name not in section
    assert "Vos questions" not in section  # not this company's question


def test_the_buyer_sees_who_asked_and_answers_from_the_list(client, asked, buyer, company_user, clock):
    client.force_login(buyer.user)
    url = reverse("consultations:buyer_questions", args=[asked.consultation.pk])

    listing = client.get(url).content.decode()
    assert "Bâtiment Ouest" in listing
    assert company_user.user.email in listing
    assert "Sans réponse" in listing

    response = client.post(
        reverse("consultations:question_answer", args=[asked.consultation.pk, asked.pk]),
        {"answer": "Oui, il est fourni."},
    )
    assert response.status_code == 302
    assert "Répondue" in client.get(url).content.decode()


def test_an_empty_answer_is_refused_and_nothing_is_published(client, asked, buyer, clock):
    client.force_login(buyer.user)

    response = client.post(
        reverse("consultations:question_answer", args=[asked.consultation.pk, asked.pk]), {"answer": "  "}
    )

    assert response.status_code == 200
    assert "Écrivez la réponse à publier." in response.content.decode()
    asked.refresh_from_db()
    assert not asked.is_answered


def test_a_question_is_answered_only_once(asked, buyer, clock):
    question_answer(question=asked, user=buyer.user, answer="Première réponse.")

    with pytest.raises(ConsultationError, match="déjà reçu une réponse"):
        question_answer(question=asked, user=buyer.user, answer="Seconde réponse.")


def test_a_company_user_cannot_answer(client, asked, company_user, clock):
    client.force_login(company_user.user)

    response = client.post(
        reverse("consultations:question_answer", args=[asked.consultation.pk, asked.pk]), {"answer": "Moi !"}
    )

    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        question_answer(question=asked, user=company_user.user, answer="Moi !")
    asked.refresh_from_db()
    assert not asked.is_answered


def test_an_agent_without_the_create_habilitation_cannot_answer(client, asked, validator, clock):
    client.force_login(validator.user)

    assert (
        client.get(reverse("consultations:buyer_questions", args=[asked.consultation.pk])).status_code == 403
    )
    with pytest.raises(PermissionDenied):
        question_answer(question=asked, user=validator.user, answer="Oui.")


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_organisation_agent_finds_no_question(client, asked, other_organisation, clock, method):
    stranger = AgentFactory(organisation=other_organisation, can_create=True, can_decide=True)
    client.force_login(stranger.user)
    consultation = asked.consultation

    if method == "get":
        response = client.get(reverse("consultations:buyer_questions", args=[consultation.pk]))
    else:
        response = client.post(
            reverse("consultations:question_answer", args=[consultation.pk, asked.pk]), {"answer": "Oui."}
        )

    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        question_answer(question=asked, user=stranger.user, answer="Oui.")


def test_a_restricted_consultation_shows_its_answers_only_once_the_code_is_given(
    client, buyer, company_user, other_company_user, clock
):
    from consultations.policy import SESSION_ACCESS_KEY

    restricted = consultation_online(
        organisation=buyer.organisation,
        created_by=buyer.user,
        access=Access.RESTRICTED,
        access_code="CODE-1234",
    )
    question = Question.objects.create(
        consultation=restricted,
        company=company_user.company,
        asked_by=company_user.user,
        asked_at=T0,
        text="Les plans sont-ils à jour ?",
    )
    question_answer(question=question, user=buyer.user, answer="Oui, version de février.")
    page = reverse("consultations:detail", args=[restricted.pk])

    client.force_login(other_company_user.user)
    assert "version de février" not in questions_section(client.get(page).content.decode())

    session = client.session
    session[SESSION_ACCESS_KEY] = [restricted.pk]
    session.save()
    assert "version de février" in questions_section(client.get(page).content.decode())

    # The company that asked always finds its own question and its answer
    client.force_login(company_user.user)
    own = questions_section(client.get(page).content.decode())
    assert "Vos questions" in own and "version de février" in own
