"""After publication: rectificatifs (with the next DCE version), their history, « sans suite »."""

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_required
from accounts.views.helpers import form_add_service_error
from config import clock
from consultations.calendar import FIRST_YEAR, LAST_YEAR
from consultations.errors import ConsultationError
from consultations.forms_followup import AmendmentForm, DceFileForm, ReasonForm
from consultations.models import DceFile, State
from consultations.policy import CANCELLABLE_STATES
from consultations.registers import moment_sentence
from consultations.services.amendments import (
    AmendmentAfterCutoff,
    amendment_dce_discard,
    amendment_publish,
    dce_pending,
    deadline_restoring_cutoff,
)
from consultations.services.dce import (
    dce_current_version,
    dce_file_add,
    dce_file_remove,
    dce_working_version,
)
from consultations.services.lifecycle import consultation_cancel
from consultations.views.buyer_common import agent_consultation


def _require(request, permission, consultation) -> None:
    if not agent_can(request.user, permission, consultation):
        raise PermissionDenied


def _amendment_page(request, consultation, *, form=None, file_form=None, cutoff_error=None, status=200):
    now = clock.now()
    working, dce_changes = dce_pending(consultation)
    shown_version = working or dce_current_version(consultation)
    cutoff = consultation.modification_deadline()
    cutoff_passed = cutoff is not None and now >= cutoff
    if form is None:
        form = AmendmentForm(initial=AmendmentForm.initial_from(consultation), ask_confirmation=cutoff_passed)
    suggested = (
        cutoff_error.suggested_deadline
        if cutoff_error
        else (deadline_restoring_cutoff(consultation, now=now) if cutoff_passed else None)
    )
    return render(
        request,
        "consultations/followup/amendment_form.html",
        {
            "consultation": consultation,
            "form": form,
            "file_form": file_form or DceFileForm(),
            "working": working,
            "files": list(shown_version.files.all()) if shown_version else [],
            "dce_changes": dce_changes,
            "cutoff": cutoff,
            "cutoff_passed": cutoff_passed or cutoff_error is not None,
            "cutoff_error": cutoff_error,
            "suggested_deadline": suggested,
            "suggested_value": suggested.isoformat() if suggested else "",
            "is_online": consultation.state == State.ONLINE,
        },
        status=status,
    )


@agent_required
def amendment_create(request, pk: int):
    consultation = agent_consultation(request, pk)
    _require(request, AgentPermission.CREATE, consultation)
    if request.method != "POST" or consultation.state != State.ONLINE:
        return _amendment_page(request, consultation)
    cutoff = consultation.modification_deadline()
    ask_confirmation = cutoff is not None and clock.now() >= cutoff
    form = AmendmentForm(request.POST, ask_confirmation=ask_confirmation)
    if not form.is_valid():
        return _amendment_page(request, consultation, form=form)
    changes = form.changes()
    pushed = _pushed_deadline(request.POST.get("push_deadline", ""))
    if pushed is not None:
        changes["deadline"] = pushed
    try:
        amendment = amendment_publish(
            consultation=consultation,
            user=request.user,
            reason=form.cleaned_data["reason"],
            changes=changes,
            confirm_after_cutoff=form.cleaned_data.get("confirm_after_cutoff", False),
        )
    except AmendmentAfterCutoff as error:
        form = AmendmentForm(request.POST, ask_confirmation=True)
        form.is_valid()
        form.add_error(None, error.message)
        return _amendment_page(request, consultation, form=form, cutoff_error=error)
    except ValidationError as error:
        if hasattr(error, "error_dict") and "deadline" in error.error_dict:
            error.error_dict["deadline_date"] = error.error_dict.pop("deadline")
        form_add_service_error(form, error)
        return _amendment_page(request, consultation, form=form)
    except ConsultationError as error:
        form.add_error(None, error.message)
        return _amendment_page(request, consultation, form=form)
    messages.success(
        request,
        _(
            "Le rectificatif du %(date)s est publié. Les entreprises identifiées qui ont retiré le DCE "
            "en sont averties par courriel."
        )
        % {"date": moment_sentence(amendment.created_at)},
    )
    return redirect("consultations:amendment_list", pk=consultation.pk)


def _pushed_deadline(value: str) -> datetime | None:
    """The deadline the agent accepted from the proposal (« Reporter au … et publier »)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or not FIRST_YEAR <= moment.year <= LAST_YEAR:
        return None
    return moment.replace(microsecond=0)


@agent_required
@require_POST
def amendment_file_add(request, pk: int):
    consultation = agent_consultation(request, pk)
    _require(request, AgentPermission.CREATE, consultation)
    file_form = DceFileForm(request.POST, request.FILES)
    if file_form.is_valid():
        try:
            dce_file = dce_file_add(
                consultation=consultation,
                user=request.user,
                uploaded=file_form.cleaned_data["file"],
                is_rules=file_form.cleaned_data["is_rules"],
            )
        except ConsultationError as error:
            file_form.add_error("file", error.message)
        else:
            messages.success(
                request,
                _(
                    "« %(name)s » est dans la version en préparation ; "
                    "publiez le rectificatif pour la diffuser."
                )
                % {"name": dce_file.name},
            )
            return redirect("consultations:amendment_create", pk=consultation.pk)
    return _amendment_page(request, consultation, file_form=file_form)


@agent_required
@require_POST
def amendment_file_remove(request, pk: int, file_pk: int):
    consultation = agent_consultation(request, pk)
    _require(request, AgentPermission.CREATE, consultation)
    dce_file = get_object_or_404(DceFile, pk=file_pk, version__consultation=consultation)
    try:
        with transaction.atomic():
            if dce_file.version.is_published and consultation.state == State.ONLINE:
                # A file of the online version: remove its copy from the version being prepared.
                working = dce_working_version(consultation=consultation, user=request.user)
                dce_file = get_object_or_404(DceFile, version=working, name=dce_file.name)
            dce_file_remove(dce_file=dce_file, user=request.user)
    except ConsultationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("« %(name)s » est retiré de la version en préparation.") % {"name": dce_file.name}
        )
    return redirect("consultations:amendment_create", pk=consultation.pk)


@agent_required
@require_POST
def amendment_dce_reset(request, pk: int):
    consultation = agent_consultation(request, pk)
    _require(request, AgentPermission.CREATE, consultation)
    try:
        if amendment_dce_discard(consultation=consultation, user=request.user):
            messages.success(request, _("Les modifications du DCE en préparation sont abandonnées."))
    except ConsultationError as error:
        messages.error(request, error.message)
    return redirect("consultations:amendment_create", pk=consultation.pk)


@agent_required
def amendment_list(request, pk: int):
    """The history of rectificatifs and DCE versions, for every agent of the organisation."""
    consultation = agent_consultation(request, pk)
    amendments = consultation.amendments.select_related("created_by", "dce_version").order_by("-created_at")
    versions = consultation.dce_versions.filter(published_at__isnull=False).prefetch_related("files")
    return render(
        request,
        "consultations/followup/amendment_list.html",
        {
            "consultation": consultation,
            "amendments": amendments,
            "versions": versions.order_by("-number"),
            "can_amend": consultation.state == State.ONLINE
            and agent_can(request.user, AgentPermission.CREATE, consultation),
        },
    )


@agent_required
def cancel(request, pk: int):
    """« Déclarer sans suite », with the reason every identified downloader receives."""
    consultation = agent_consultation(request, pk)
    _require(request, AgentPermission.DECIDE, consultation)
    form = ReasonForm(request.POST or None)
    cancellable = consultation.state in CANCELLABLE_STATES
    if request.method == "POST" and cancellable and form.is_valid():
        try:
            consultation_cancel(
                consultation=consultation, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ConsultationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _(
                    "La consultation est déclarée sans suite ; les entreprises identifiées qui ont retiré "
                    "le DCE en sont averties."
                ),
            )
            return redirect("consultations:buyer_detail", pk=consultation.pk)
    return render(
        request,
        "consultations/followup/cancel.html",
        {"consultation": consultation, "form": form, "cancellable": cancellable},
    )
