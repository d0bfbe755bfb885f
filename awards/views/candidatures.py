"""The admission of the candidatures: one row per deposit received on time, its three
capacities, admitted or not and why, and the requests for complements sent to it with
the company's answers. The rules are in ``awards/services/admission.py``."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import agent_required
from awards.forms_evaluation import CandidatureReviewForm, ComplementsRequestForm
from awards.services.admission import (
    AdmissionError,
    candidature_review,
    candidature_rows,
    complements_request,
    complements_subject,
)
from awards.views.common import analysis_consultation, analysis_visible, can_write, error_into, not_yet
from deposits.models import Deposit, DepositState, DepositStatus


def _deposit(consultation, deposit_pk: int) -> Deposit:
    deposit = (
        Deposit.objects.filter(
            pk=deposit_pk,
            consultation=consultation,
            state=DepositState.FINALISED,
            status=DepositStatus.ON_TIME,
        )
        .select_related("company", "consultation__organisation")
        .first()
    )
    if deposit is None:
        raise Http404
    return deposit


def _page(request, consultation, *, bound: dict | None = None, status: int = 200):
    bound = bound or {}
    writable = can_write(request, consultation)
    rows = candidature_rows(consultation)
    for row in rows:
        pk = row["deposit"].pk
        if writable:
            row["review_form"] = bound.get(("review", pk)) or CandidatureReviewForm(
                prefix=f"r{pk}", initial=CandidatureReviewForm.initial_of(row["review"])
            )
            row["request_form"] = bound.get(("request", pk)) or ComplementsRequestForm(
                prefix=f"m{pk}", initial={"subject": complements_subject(consultation)}
            )
    context = {"consultation": consultation, "rows": rows, "can_write": writable}
    return render(request, "awards/evaluation/candidatures.html", context, status=status)


@never_cache
@agent_required
@require_GET
def candidatures(request, pk: int):
    consultation = analysis_consultation(request, pk)
    if not analysis_visible(consultation):
        return not_yet(request, consultation)
    return _page(request, consultation)


@never_cache
@agent_required
@require_POST
def candidature_review_view(request, pk: int, deposit_pk: int):
    consultation = analysis_consultation(request, pk)
    if not analysis_visible(consultation):
        return not_yet(request, consultation)
    deposit = _deposit(consultation, deposit_pk)
    form = CandidatureReviewForm(request.POST, prefix=f"r{deposit.pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            candidature_review(
                user=request.user,
                deposit=deposit,
                professional_ok=data["professional_ok"],
                technical_ok=data["technical_ok"],
                financial_ok=data["financial_ok"],
                admitted=data["decision"] == CandidatureReviewForm.ADMITTED,
                reason=data["reason"],
            )
        except AdmissionError as error:
            error_into(form, error)
        else:
            messages.success(
                request,
                _("L'examen de la candidature de %(company)s est enregistré.")
                % {"company": deposit.company.name},
            )
            return redirect(f"{_url(consultation)}#candidature-{deposit.pk}")
    return _page(request, consultation, bound={("review", deposit.pk): form}, status=400)


@never_cache
@agent_required
@require_POST
def complements_request_view(request, pk: int, deposit_pk: int):
    consultation = analysis_consultation(request, pk)
    if not analysis_visible(consultation):
        return not_yet(request, consultation)
    deposit = _deposit(consultation, deposit_pk)
    form = ComplementsRequestForm(request.POST, prefix=f"m{deposit.pk}")
    if form.is_valid():
        answer_due_at = form.answer_due_at()
        if not form.errors:
            try:
                complements_request(
                    user=request.user,
                    deposit=deposit,
                    body=form.cleaned_data["body"],
                    answer_due_at=answer_due_at,
                    subject=form.cleaned_data["subject"],
                )
            except AdmissionError as error:
                error_into(form, error)
            else:
                messages.success(
                    request,
                    _("La demande de compléments est envoyée à %(company)s.")
                    % {"company": deposit.company.name},
                )
                return redirect(f"{_url(consultation)}#candidature-{deposit.pk}")
    return _page(request, consultation, bound={("request", deposit.pk): form}, status=400)


def _url(consultation) -> str:
    from django.urls import reverse

    return reverse("awards:candidatures", args=[consultation.pk])
