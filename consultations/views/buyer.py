"""Buyer's space: the dashboard, the creation of a consultation and its « détails » page."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_require, agent_required
from consultations import selectors
from consultations.errors import ConsultationError
from consultations.forms import DashboardFilterForm, IdentificationForm
from consultations.models import DceFile, EnvelopeKind, State
from consultations.policy import EDITABLE_STATES
from consultations.services.lifecycle import consultation_create
from consultations.views.buyer_common import TABS, after_save, agent_consultation, errors_into
from consultations.views.buyer_history import history_rows

DASHBOARD_PAGE_SIZE = 50


@agent_required
def buyer_dashboard(request):
    """« Tableau de bord »: the organisation's consultations, by state, reference and keyword."""
    organisation = request.user.agent.organisation
    form = DashboardFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    reference, keyword = filters.get("reference", ""), filters.get("keyword", "")
    state = filters.get("state", "")
    counts = selectors.buyer_state_counts(
        organisation_id=organisation.pk, reference=reference, keyword=keyword
    )
    search = {name: value for name, value in (("reference", reference), ("keyword", keyword)) if value}
    states = [
        {
            "value": value,
            "label": label,
            "count": counts[value],
            "query": urlencode({**search, "state": value}),
            "current": value == state,
        }
        for value, label in State.choices
    ]
    consultations = selectors.buyer_consultations(
        organisation_id=organisation.pk, state=state, reference=reference, keyword=keyword
    )
    page = Paginator(consultations, DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "consultations/buyer/dashboard.html",
        {
            "form": form,
            "organisation": organisation,
            "states": states,
            "total": sum(counts.values()),
            "all_query": urlencode(search),
            "state": state,
            "state_label": State(state).label if state else "",
            "page": page,
            "page_query": urlencode({**search, **({"state": state} if state else {})}),
            "can_create": agent_can(request.user, AgentPermission.CREATE, organisation),
        },
    )


@agent_required
def buyer_create(request):
    """The identification tab of a new consultation; saving it creates the consultation."""
    organisation = request.user.agent.organisation
    agent_require(request.user, AgentPermission.CREATE, organisation)
    form = IdentificationForm(request.POST or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            consultation = consultation_create(
                user=request.user, organisation=organisation, **form.tab_values()
            )
        except (ValidationError, ConsultationError) as error:
            errors_into(form, error)
        else:
            messages.success(
                request,
                _(
                    "La consultation %(reference)s est créée. Le type de contrat et le type de "
                    "procédure ne peuvent plus être modifiés."
                )
                % {"reference": consultation.reference},
            )
            return after_save(request, consultation, "identification")
    return render(
        request,
        "consultations/buyer/tab_identification.html",
        {"form": form, "consultation": None, "tab": "identification", "tabs": TABS, "editable": True},
    )


def _requested_documents(consultation) -> list[tuple[str, list[str]]]:
    documents = list(consultation.requested_documents.all())
    return [
        (envelope.label, [d.label for d in documents if d.envelope == envelope]) for envelope in EnvelopeKind
    ]


@agent_required
def buyer_detail(request, pk):
    """« Détails »: every data of the consultation, what this agent may do, registers and history."""
    consultation = get_object_or_404(
        selectors.buyer_consultation_details(organisation_id=request.user.agent.organisation_id), pk=pk
    )
    can_create = agent_can(request.user, AgentPermission.CREATE, consultation)
    can_validate = agent_can(request.user, AgentPermission.VALIDATE, consultation)
    editable = consultation.state in EDITABLE_STATES
    return render(
        request,
        "consultations/buyer/detail.html",
        {
            "consultation": consultation,
            "tabs": TABS,
            "lots": consultation.lots.all(),
            "versions": consultation.dce_versions.all(),
            "requested_documents": _requested_documents(consultation),
            "question_deadline": consultation.question_deadline(),
            "modification_deadline": consultation.modification_deadline(),
            "can_create": can_create,
            "can_validate": can_validate,
            "can_decide": agent_can(request.user, AgentPermission.DECIDE, consultation),
            "can_edit": can_create and editable,
            "can_request_validation": can_create and consultation.state == State.DRAFT,
            "can_decide_validation": can_validate and consultation.state == State.PENDING_VALIDATION,
            "history": history_rows(selectors.consultation_history(consultation)),
        },
    )


@agent_required
def buyer_dce_file(request, pk, file_pk):
    """A file of the DCE, in any version, for the buyer's agents."""
    consultation = agent_consultation(request, pk)
    dce_file = get_object_or_404(DceFile, pk=file_pk, version__consultation=consultation)
    return FileResponse(dce_file.blob.open("rb"), as_attachment=True, filename=dce_file.name)
