"""The five tabs of a consultation being prepared, each saved with « Enregistrer et
rester sur cette page » or « Enregistrer et aller au tableau de bord »."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import AgentPermission
from accounts.permissions import agent_require, agent_required
from consultations.errors import ConsultationError
from consultations.forms import IdentificationForm, readonly
from consultations.forms_buyer_calendar import CalendarForm, ModalitiesForm
from consultations.forms_buyer_files import LotForm, PiecesForm
from consultations.models import Access, DceFile, Lot
from consultations.policy import EDITABLE_STATES
from consultations.services.access import access_code_generate
from consultations.services.dce import dce_file_add, dce_file_remove
from consultations.services.lifecycle import consultation_update
from consultations.services.lots import lot_delete, lot_save
from consultations.services.modalities import requested_documents_set
from consultations.views.buyer_common import (
    TAB_LABELS,
    TABS,
    after_save,
    agent_consultation,
    errors_into,
)


def _editable_consultation(request, pk):
    consultation = agent_consultation(request, pk)
    agent_require(request.user, AgentPermission.CREATE, consultation)
    return consultation


def _render(request, consultation, tab: str, context: dict):
    return render(
        request,
        f"consultations/buyer/tab_{tab}.html",
        {
            "consultation": consultation,
            "tab": tab,
            "tab_label": TAB_LABELS[tab],
            "tabs": TABS,
            "editable": consultation.state in EDITABLE_STATES,
            **context,
        },
    )


def _prepare(form, consultation):
    if consultation.state not in EDITABLE_STATES:
        readonly(form)
    return form


def _save(request, consultation, form, save, *, tab: str, aliases: dict | None = None, done: str = ""):
    """Run ``save`` in one transaction. A refusal is shown on the form and nothing of
    this submission is kept; what was saved before stays as it was."""
    try:
        with transaction.atomic():
            save()
    except (ValidationError, ConsultationError) as error:
        consultation.refresh_from_db()
        errors_into(form, error, aliases=aliases)
        return None
    messages.success(request, done or _("Onglet « %(tab)s » enregistré.") % {"tab": TAB_LABELS[tab]})
    return after_save(request, consultation, tab)


def _identification(request, consultation):
    form = _prepare(
        IdentificationForm(
            request.POST or None, organisation=consultation.organisation, consultation=consultation
        ),
        consultation,
    )
    if request.method == "POST" and form.is_valid():

        def save():
            consultation_update(consultation=consultation, user=request.user, **form.tab_values())

        if response := _save(request, consultation, form, save, tab="identification"):
            return response
    return _render(request, consultation, "identification", {"form": form})


def _dce_add(consultation, user, uploaded, *, field: str, is_rules: bool = False) -> None:
    try:
        dce_file_add(consultation=consultation, user=user, uploaded=uploaded, is_rules=is_rules)
    except ConsultationError as error:
        raise ValidationError({field: error.message}) from error


def _pieces(request, consultation):
    data, generated = request.POST or None, ""
    if request.method == "POST" and "generate_code" in request.POST:
        generated = access_code_generate()
        data = request.POST.copy()
        data["access"], data["access_code"] = Access.RESTRICTED, generated
    form = _prepare(PiecesForm(data, request.FILES or None, consultation=consultation), consultation)
    if request.method == "POST" and form.is_valid():

        def save():
            consultation_update(consultation=consultation, user=request.user, **form.tab_values())
            if form.cleaned_data["rules_file"]:
                _dce_add(
                    consultation,
                    request.user,
                    form.cleaned_data["rules_file"],
                    field="rules_file",
                    is_rules=True,
                )
            for uploaded in form.cleaned_data["files"]:
                _dce_add(consultation, request.user, uploaded, field="files")

        done = ""
        if generated:
            done = _(
                "Code d'accès généré et enregistré : %(code)s. Transmettez-le aux candidats invités."
            ) % {"code": generated}
        if response := _save(request, consultation, form, save, tab="pieces", done=done):
            return response
    version = consultation.dce_versions.order_by("-number").prefetch_related("files").first()
    return _render(
        request,
        consultation,
        "pieces",
        {"form": form, "version": version, "files": version.files.all() if version else []},
    )


def _lots(request, consultation, lot: Lot | None = None):
    form = _prepare(LotForm(request.POST or None, consultation=consultation, lot=lot), consultation)
    if request.method == "POST" and form.is_valid():

        def save():
            lot_save(consultation=consultation, user=request.user, lot=lot, **form.cleaned_data)

        done = _("Lot n° %(number)s enregistré.") % {"number": form.cleaned_data["number"]}
        if response := _save(request, consultation, form, save, tab="lots", done=done):
            return response
    return _render(request, consultation, "lots", {"form": form, "lot": lot, "lots": consultation.lots.all()})


def _calendar(request, consultation):
    form = _prepare(CalendarForm(request.POST or None, consultation=consultation), consultation)
    if request.method == "POST" and form.is_valid():

        def save():
            consultation_update(consultation=consultation, user=request.user, **form.tab_values())

        aliases = {"deadline": "deadline_day", "publication_date": "publication_day"}
        if response := _save(request, consultation, form, save, tab="calendrier", aliases=aliases):
            return response
    return _render(
        request,
        consultation,
        "calendrier",
        {
            "form": form,
            "question_deadline": consultation.question_deadline(),
            "modification_deadline": consultation.modification_deadline(),
        },
    )


def _modalities(request, consultation):
    form = _prepare(ModalitiesForm(request.POST or None, consultation=consultation), consultation)
    if request.method == "POST" and form.is_valid():

        def save():
            consultation_update(consultation=consultation, user=request.user, **form.tab_values())
            requested_documents_set(consultation=consultation, user=request.user, documents=form.documents())

        if response := _save(request, consultation, form, save, tab="modalites"):
            return response
    return _render(request, consultation, "modalites", {"form": form})


TAB_VIEWS = {
    "identification": _identification,
    "pieces": _pieces,
    "lots": _lots,
    "calendrier": _calendar,
    "modalites": _modalities,
}


@agent_required
def buyer_tab(request, pk, tab):
    view = TAB_VIEWS.get(tab)
    consultation = _editable_consultation(request, pk)
    if view is None:
        raise Http404
    return view(request, consultation)


@agent_required
def buyer_lot_edit(request, pk, lot_pk):
    consultation = _editable_consultation(request, pk)
    lot = get_object_or_404(Lot, pk=lot_pk, consultation=consultation)
    return _lots(request, consultation, lot)


@agent_required
@require_POST
def buyer_lot_delete(request, pk, lot_pk):
    consultation = _editable_consultation(request, pk)
    lot = get_object_or_404(Lot, pk=lot_pk, consultation=consultation)
    number = lot.number
    try:
        lot_delete(lot=lot, user=request.user)
    except ConsultationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Lot n° %(number)s supprimé.") % {"number": number})
    return redirect("consultations:buyer_tab", pk=consultation.pk, tab="lots")


@agent_required
@require_POST
def buyer_dce_file_remove(request, pk, file_pk):
    consultation = _editable_consultation(request, pk)
    dce_file = get_object_or_404(DceFile, pk=file_pk, version__consultation=consultation)
    name = dce_file.name
    try:
        dce_file_remove(dce_file=dce_file, user=request.user)
    except ConsultationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Le fichier « %(name)s » est retiré du DCE.") % {"name": name})
    return redirect("consultations:buyer_tab", pk=consultation.pk, tab="pieces")
