"""Questions of the companies and the buyer's answers.

A company asks until the question cut-off (« jours ouvrés » before the bid
deadline, by the platform's clock); the answer is published on the consultation
page without the company's name, and every identified downloader is told.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_require, company_user_of
from audit.services import event_record
from config import clock
from consultations.errors import ConsultationError
from consultations.models import Consultation, Question
from consultations.notifications import downloaders_notify
from consultations.policy import is_online
from consultations.registers import moment_sentence

QUESTION_MAX_LENGTH = 4000
ANSWER_MAX_LENGTH = 10000


def questions_deadline_passed(consultation: Consultation, *, now=None) -> bool:
    """Whether the question cut-off has come: at the cut-off itself, it is too late."""
    cutoff = consultation.question_deadline()
    return cutoff is None or (now or clock.now()) >= cutoff


def _text_required(value: str, *, field: str, max_length: int, empty: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: empty})
    if len(value) > max_length:
        raise ValidationError({field: _("Le texte est limité à %(max)d caractères.") % {"max": max_length}})
    return value


@transaction.atomic
def question_ask(*, consultation: Consultation, user, text: str) -> Question:
    """A company user's question; refused once the consultation or the question period is over."""
    company_user = company_user_of(user)
    if company_user is None:
        raise PermissionDenied
    text = _text_required(
        text, field="text", max_length=QUESTION_MAX_LENGTH, empty=_("Écrivez votre question.")
    )
    # The lock orders this question with a rectificatif moving the deadline or a closing.
    consultation = (
        Consultation.objects.select_for_update().select_related("organisation").get(pk=consultation.pk)
    )
    if not is_online(consultation):
        raise ConsultationError(
            _("Cette consultation n'est plus en ligne : elle ne reçoit plus de questions.")
        )
    now = clock.now()
    if questions_deadline_passed(consultation, now=now):
        raise ConsultationError(
            _(
                "La date limite pour poser des questions est dépassée : elle était fixée au %(date)s. "
                "Votre question n'a pas été transmise."
            )
            % {"date": moment_sentence(consultation.question_deadline())}
        )
    question = Question.objects.create(
        consultation=consultation, company=company_user.company, asked_by=user, asked_at=now, text=text
    )
    event_record(
        action="question.asked",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"question": question.pk, "company": company_user.company.siret},
    )
    return question


@transaction.atomic
def question_answer(*, question: Question, user, answer: str) -> Question:
    """Publish the answer (anonymously) and tell every identified downloader, and the asker."""
    consultation = question.consultation
    agent_require(user, AgentPermission.CREATE, consultation)
    answer = _text_required(
        answer, field="answer", max_length=ANSWER_MAX_LENGTH, empty=_("Écrivez la réponse à publier.")
    )
    question = (
        Question.objects.select_for_update()
        .select_related("consultation__organisation", "asked_by")
        .get(pk=question.pk)
    )
    consultation = question.consultation
    if question.is_answered:
        raise ConsultationError(
            _("Cette question a déjà reçu une réponse, publiée le %(date)s.")
            % {"date": moment_sentence(question.answered_at)}
        )
    if not is_online(consultation):
        raise ConsultationError(
            _("Cette consultation n'est plus en ligne : la réponse ne peut plus être publiée.")
        )
    question.answer = answer
    question.answered_at = clock.now()
    question.answered_by = user
    question.save(update_fields=["answer", "answered_at", "answered_by"])
    event_record(
        action="question.answered",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"question": question.pk},
    )
    # The asking company hears of the answer even if it never downloaded the DCE identified.
    downloaders_notify(
        consultation=consultation,
        user=user,
        kind="answer",
        details={"question": question},
        extra_companies=[question.company],
    )
    return question
