"""Suites of a consultation: « Créer une suite », the invitation à concourir, and the
deletion of a draft (refused once the consultation has a suite)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_required
from consultations.errors import ConsultationError
from consultations.forms_suites import DeleteConfirmForm, SuiteCreateForm, SuiteInviteForm
from consultations.models import State
from consultations.services.deletion import consultation_delete, deletion_refusal
from consultations.services.suites import (
    invitation_body,
    lot_situations,
    suite_candidates,
    suite_create,
    suite_invitation_recipients,
    suite_invitations_sent,
    suite_invite,
    suite_parent_require,
)
from consultations.views.buyer_common import agent_consultation
from messaging.errors import MessagingError
from messaging.models import Kind


def _creator_consultation(request, pk):
    consultation = agent_consultation(request, pk)
    if not agent_can(request.user, AgentPermission.CREATE, consultation):
        raise PermissionDenied
    return consultation


@agent_required
def suite_create_view(request, pk: int):
    """« Créer une suite »: the situation, the lots, the candidates of a negotiation; then
    the suite's identification tab, pre-filled from the initial consultation."""
    consultation = _creator_consultation(request, pk)
    try:
        suite_parent_require(consultation)
        blocked = ""
    except ConsultationError as error:
        blocked = error.message
    form = SuiteCreateForm(
        request.POST if request.method == "POST" else None,
        situations=lot_situations(consultation),
        candidates=suite_candidates(consultation),
    )
    if request.method == "POST" and not blocked and form.is_valid():
        try:
            suite = suite_create(user=request.user, consultation=consultation, **form.service_values())
        except ConsultationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _(
                    "La suite %(reference)s est créée à partir de la consultation %(initial)s. Vérifiez "
                    "chaque onglet : les pièces du DCE reprises de la consultation initiale sont à confirmer "
                    "ou à remplacer, la date limite de remise des plis est à fixer et une clé de chiffrement "
                    "est à générer."
                )
                % {"reference": suite.reference, "initial": consultation.reference},
            )
            return redirect("consultations:buyer_tab", pk=suite.pk, tab="identification")
    return render(
        request,
        "consultations/suites/create.html",
        {"consultation": consultation, "form": form, "blocked": blocked},
    )


@agent_required
def suite_invite_view(request, pk: int):
    """« Envoyer l'invitation à concourir »: a message to the chosen candidates, with the
    link to the suite and its access code, once the suite is online."""
    suite = _creator_consultation(request, pk)
    if suite.parent_id is None:
        raise Http404
    from messaging.templating import template_for

    recipients = suite_invitation_recipients(suite)
    online = suite.state == State.ONLINE
    subject, body = template_for(Kind.INVITATION, suite)
    form = SuiteInviteForm(
        request.POST if request.method == "POST" else None,
        recipients=recipients,
        initial={"companies": list(recipients), "subject": subject, "body": invitation_body(suite, body)},
    )
    if request.method == "POST" and online and form.is_valid():
        try:
            sent = suite_invite(
                user=request.user,
                suite=suite,
                companies=form.cleaned_data["companies"],
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
            )
        except ConsultationError as error:
            form.add_error(None, error.message)
        except MessagingError as error:
            field = {"recipients": "companies"}.get(error.field, error.field)
            form.add_error(field if field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                _("L'invitation à concourir est envoyée à %(count)d candidat(s) par la messagerie sécurisée.")
                % {"count": len(sent)},
            )
            return redirect("consultations:buyer_detail", pk=suite.pk)
    return render(
        request,
        "consultations/suites/invite.html",
        {
            "consultation": suite,
            "form": form,
            "online": online,
            "sent": suite_invitations_sent(suite).select_related("thread__company").order_by("sent_at"),
        },
    )


@agent_required
def consultation_delete_view(request, pk: int):
    """« Supprimer la consultation »: a draft only, and never one that has a suite."""
    consultation = _creator_consultation(request, pk)
    refusal = deletion_refusal(consultation)
    form = DeleteConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not refusal and form.is_valid():
        reference = consultation.reference
        try:
            consultation_delete(user=request.user, consultation=consultation)
        except ConsultationError as error:
            refusal = error.message
        else:
            messages.success(
                request, _("Le brouillon %(reference)s est supprimé.") % {"reference": reference}
            )
            return redirect("consultations:buyer_dashboard")
    return render(
        request,
        "consultations/suites/delete.html",
        {"consultation": consultation, "form": form, "refusal": refusal},
        status=409 if refusal and request.method == "POST" else 200,
    )
