"""Questions: a company asks on the consultation page; the buyer's agents answer."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_required, company_user_required
from accounts.views.helpers import form_add_service_error
from consultations import policy
from consultations.errors import ConsultationError
from consultations.forms_followup import AnswerForm, QuestionForm
from consultations.models import Consultation, Question
from consultations.services.questions import question_answer, question_ask, questions_deadline_passed
from consultations.views.buyer_common import agent_consultation
from consultations.views.public import public_consultation


def _public_url(consultation: Consultation) -> str:
    return reverse("consultations:detail", args=[consultation.pk]) + "#questions-reponses"


@company_user_required
def ask(request, pk: int):
    consultation = public_consultation(pk)
    if not policy.dce_unlocked(request, consultation):
        messages.warning(
            request,
            _("Saisissez d'abord le code d'accès de cette consultation restreinte pour poser une question."),
        )
        return redirect("consultations:detail", pk=consultation.pk)
    form = QuestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            question_ask(consultation=consultation, user=request.user, text=form.cleaned_data["text"])
        except ValidationError as error:
            form_add_service_error(form, error)
        except ConsultationError as error:
            # The question stays in the form: the company may keep it for another channel.
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _(
                    "Votre question a été transmise à l'acheteur. La réponse sera publiée sur cette page, "
                    "sans le nom de votre entreprise, et vous en serez averti par courriel."
                ),
            )
            return redirect(_public_url(consultation))
    return render(
        request,
        "consultations/followup/question_ask.html",
        {
            "consultation": consultation,
            "form": form,
            "question_deadline": consultation.question_deadline(),
            "is_online": policy.is_online(consultation),
            "deadline_passed": questions_deadline_passed(consultation),
        },
    )


def _require_answerer(request, consultation: Consultation) -> None:
    if not agent_can(request.user, AgentPermission.CREATE, consultation):
        raise PermissionDenied


def _questions_page(request, consultation, *, failed: Question | None = None, failed_form=None, status=200):
    questions = list(
        consultation.questions.select_related("company", "asked_by", "answered_by").order_by("asked_at", "pk")
    )
    for question in questions:
        if failed is not None and question.pk == failed.pk:
            question.form = failed_form
        elif not question.is_answered:
            question.form = AnswerForm(auto_id=f"reponse-{question.pk}-%s")
    return render(
        request,
        "consultations/followup/buyer_questions.html",
        {
            "consultation": consultation,
            "questions": questions,
            "unanswered": sum(1 for q in questions if not q.is_answered),
            "can_answer": policy.is_online(consultation),
            "question_deadline": consultation.question_deadline(),
        },
        status=status,
    )


@agent_required
def buyer_questions(request, pk: int):
    consultation = agent_consultation(request, pk)
    _require_answerer(request, consultation)
    return _questions_page(request, consultation)


@agent_required
@require_POST
def answer(request, pk: int, question_pk: int):
    consultation = agent_consultation(request, pk)
    _require_answerer(request, consultation)
    question = get_object_or_404(Question, pk=question_pk, consultation=consultation)
    form = AnswerForm(request.POST, auto_id=f"reponse-{question.pk}-%s")
    if form.is_valid():
        try:
            question_answer(question=question, user=request.user, answer=form.cleaned_data["answer"])
        except ValidationError as error:
            form_add_service_error(form, error)
        except ConsultationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _(
                    "La réponse est publiée sur la page de la consultation, sans le nom de l'entreprise ; "
                    "les entreprises identifiées qui ont retiré le DCE en sont averties par courriel."
                ),
            )
            return redirect("consultations:buyer_questions", pk=consultation.pk)
    question.refresh_from_db()
    return _questions_page(request, consultation, failed=question, failed_form=form)
