"""The contract signature pages.

Company side: the winner's users (and only them: any other company gets « not found ») see,
once the letters are sent, the acte d'engagement to download, the form to upload it signed,
and the reports. Buyer side: a block of the decisions page (``_contract_buyer.html``) and
its own page, where a refused upload is shown with its message; agents of the organisation
only, the upload for those who may decide (the service checks it again).
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_required, company_user_required
from awards.models import Decision, Outcome
from awards.views.common import analysis_consultation
from signatures.forms_contract import ContractSignatureForm
from signatures.models import ContractParty
from signatures.report import Verdict
from signatures.services.contract import (
    ContractError,
    contract_detached_file,
    contract_document,
    contract_document_name,
    contract_file,
    contract_signature_upload,
    contract_state,
)

PDF = "application/pdf"


def _download(data: bytes, name: str, content_type: str = PDF) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _error_into(form, error: ContractError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


# --- Company side ---------------------------------------------------------------------------


def _company_decision(request, decision_pk: int) -> Decision:
    """The winner's decision, once told (letters sent); « not found » for anyone else."""
    decision = get_object_or_404(
        Decision.objects.select_related(
            "consultation__organisation", "lot", "deposit__company", "notification"
        ),
        pk=decision_pk,
        outcome=Outcome.AWARDED,
        letters_sent_at__isnull=False,
    )
    if decision.deposit.company_id != request.user.company_user.company_id:
        raise Http404
    return decision


@never_cache
@company_user_required
@require_http_methods(["GET", "POST"])
def contract_company(request, decision_pk: int):
    decision = _company_decision(request, decision_pk)
    status = 200
    if request.method == "POST":
        form = ContractSignatureForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                signature = contract_signature_upload(
                    user=request.user,
                    decision=decision,
                    party=ContractParty.HOLDER,
                    file=form.cleaned_data["file"],
                    detached=form.cleaned_data.get("detached"),
                )
            except ContractError as error:
                _error_into(form, error)
            else:
                messages.success(
                    request,
                    _("Votre acte d'engagement signé est déposé : signature %(verdict)s.")
                    % {"verdict": Verdict(signature.verdict).label},
                )
                return redirect("contracts:contract_company", decision_pk=decision.pk)
        status = 400
    else:
        form = ContractSignatureForm()
    context = {"decision": decision, "contract": contract_state(decision), "form": form}
    return render(request, "signatures/contract_company.html", context, status=status)


@never_cache
@company_user_required
@require_GET
def contract_document_company(request, decision_pk: int):
    decision = _company_decision(request, decision_pk)
    return _download(contract_document(decision), contract_document_name(decision))


@never_cache
@company_user_required
@require_GET
def contract_file_company(request, decision_pk: int, signature_pk: int):
    decision = _company_decision(request, decision_pk)
    signature = get_object_or_404(decision.signatures, pk=signature_pk)
    return _download(contract_file(signature), signature.name, "application/octet-stream")


def _detached_download(signature):
    content = contract_detached_file(signature)
    if content is None:
        raise Http404
    return _download(content, signature.detached_name, "application/octet-stream")


@never_cache
@company_user_required
@require_GET
def contract_detached_company(request, decision_pk: int, signature_pk: int):
    decision = _company_decision(request, decision_pk)
    return _detached_download(get_object_or_404(decision.signatures, pk=signature_pk))


# --- Buyer side -------------------------------------------------------------------------------


def _buyer_decision(request, pk: int, decision_pk: int):
    # The contract is part of the analysis and decision: read by the agents who open or decide.
    consultation = analysis_consultation(request, pk)
    decision = get_object_or_404(
        Decision.objects.select_related(
            "consultation__organisation", "lot", "deposit__company", "notification"
        ),
        pk=decision_pk,
        consultation=consultation,
        outcome=Outcome.AWARDED,
    )
    return consultation, decision


def _anchor(decision: Decision) -> str:
    return f"lot-{decision.lot.number}" if decision.lot_id else "decision"


@never_cache
@agent_required
@require_http_methods(["GET", "POST"])
def contract_buyer(request, pk: int, decision_pk: int):
    consultation, decision = _buyer_decision(request, pk, decision_pk)
    prefix = f"contract-{decision.pk}"
    status = 200
    if request.method == "POST":
        form = ContractSignatureForm(request.POST, request.FILES, prefix=prefix)
        if form.is_valid():
            try:
                signature = contract_signature_upload(
                    user=request.user,
                    decision=decision,
                    party=ContractParty.BUYER,
                    file=form.cleaned_data["file"],
                    detached=form.cleaned_data.get("detached"),
                )
            except ContractError as error:
                _error_into(form, error)
            else:
                if signature.verdict == Verdict.VALID:
                    messages.success(request, _("La contresignature est valide : le marché est signé."))
                else:
                    messages.warning(
                        request, _("La contresignature est déposée mais n'est pas valide : voyez le rapport.")
                    )
                return redirect(reverse("awards:decisions", args=[consultation.pk]) + f"#{_anchor(decision)}")
        status = 400
    else:
        form = ContractSignatureForm(prefix=prefix)
    context = {
        "consultation": consultation,
        "decision": decision,
        "form": form,
        "can_decide": agent_can(request.user, AgentPermission.DECIDE, consultation),
    }
    return render(request, "signatures/contract_buyer.html", context, status=status)


@never_cache
@agent_required
@require_GET
def contract_document_buyer(request, pk: int, decision_pk: int):
    _consultation, decision = _buyer_decision(request, pk, decision_pk)
    return _download(contract_document(decision), contract_document_name(decision))


@never_cache
@agent_required
@require_GET
def contract_file_buyer(request, pk: int, decision_pk: int, signature_pk: int):
    _consultation, decision = _buyer_decision(request, pk, decision_pk)
    signature = get_object_or_404(decision.signatures, pk=signature_pk)
    return _download(contract_file(signature), signature.name, "application/octet-stream")


@never_cache
@agent_required
@require_GET
def contract_detached_buyer(request, pk: int, decision_pk: int, signature_pk: int):
    _consultation, decision = _buyer_decision(request, pk, decision_pk)
    return _detached_download(get_object_or_404(decision.signatures, pk=signature_pk))
