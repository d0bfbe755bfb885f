"""« Demande de validation »: what is missing, the request, and the validator's decision."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_require, agent_required
from consultations.errors import ConsultationError
from consultations.forms import ValidationDecisionForm
from consultations.models import State
from consultations.registers import moment_text
from consultations.services.lifecycle import (
    consultation_approve,
    consultation_missing_data,
    consultation_reject,
    consultation_validation_request,
)
from consultations.views.buyer_common import TABS, agent_consultation

# The first word of each missing-data message names the tab where it is filled in.
_TAB_OF_PREFIX = {
    "identification": "identification",
    "pièces": "pieces",
    "accès": "pieces",
    "calendrier": "calendrier",
    "modalités": "modalites",
    "chiffrement": "modalites",
}


def _tab_of(problem: str) -> str | None:
    prefix = problem.split(":", 1)[0].strip().lower()
    for tab, label in TABS:
        if prefix == str(label).lower():
            return tab
    return _TAB_OF_PREFIX.get(prefix)


def _checklist(problems: list[str]) -> list[dict]:
    return [{"text": problem, "tab": _tab_of(problem)} for problem in problems]


@agent_required
def buyer_validation(request, pk):
    consultation = agent_consultation(request, pk)
    can_create = agent_can(request.user, AgentPermission.CREATE, consultation)
    can_validate = agent_can(request.user, AgentPermission.VALIDATE, consultation)
    form = ValidationDecisionForm(request.POST or None)
    service_error = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "request":
                agent_require(request.user, AgentPermission.CREATE, consultation)
                consultation_validation_request(consultation=consultation, user=request.user)
                messages.success(
                    request, _("La demande de validation est envoyée aux valideurs de votre organisme.")
                )
                return redirect("consultations:buyer_validation", pk=consultation.pk)
            if action in {"approve", "reject"}:
                agent_require(request.user, AgentPermission.VALIDATE, consultation)
                if form.is_valid():
                    comment = form.cleaned_data["comment"].strip()
                    if action == "approve":
                        return _approve(request, consultation, comment)
                    if not comment:
                        form.add_error("comment", _("Expliquez au rédacteur ce qui doit être repris."))
                    else:
                        consultation_reject(consultation=consultation, user=request.user, comment=comment)
                        messages.success(
                            request,
                            _("La consultation est renvoyée en brouillon ; son rédacteur est prévenu."),
                        )
                        return redirect("consultations:buyer_validation", pk=consultation.pk)
            else:
                messages.error(request, _("Action inconnue."))
        except ConsultationError as error:
            consultation.refresh_from_db()
            service_error = error
    missing = consultation_missing_data(consultation) if consultation.state == State.DRAFT else []
    return render(
        request,
        "consultations/buyer/validation.html",
        {
            "consultation": consultation,
            "form": form,
            "service_error": service_error,
            "checklist": _checklist(missing),
            "can_request": can_create and consultation.state == State.DRAFT,
            "can_decide": can_validate and consultation.state == State.PENDING_VALIDATION,
        },
    )


def _approve(request, consultation, comment: str):
    consultation_approve(consultation=consultation, user=request.user, comment=comment)
    consultation.refresh_from_db()
    if consultation.state == State.ONLINE:
        text = _("La consultation est validée et mise en ligne le %(date)s.")
        moment = consultation.published_at
    else:
        text = _("La consultation est validée : sa mise en ligne est programmée le %(date)s.")
        moment = consultation.scheduled_publication_at
    messages.success(request, text % {"date": moment_text(moment)})
    return redirect("consultations:buyer_validation", pk=consultation.pk)
