"""The corrections screen of a grid (« rectifications et offres anormalement basses »):
each offer's submitted and judged amounts, the arithmetic correction, the abnormally-low
rule with its figures, the justification asked and answered, the keep/reject decision.

Reading needs the permission to decide or to open the bids (as the analysis report);
writing needs the permission to decide (checked again by the services).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_required
from awards.forms_corrections import FIELD_ALIASES, FORMS
from awards.models import EvaluationGrid, LowOfferDecision, OfferAmount
from awards.report import euros, percent
from awards.services.corrections import (
    OfferError,
    analysis_check,
    offer_amount_correct,
    offer_amount_correction_withdraw,
)
from awards.services.low_offers import (
    grid_low_offers,
    justification_replies,
    justification_request,
    low_offer_decide,
)
from awards.services.scoring import ScoringError, grid_results, offer_label
from awards.views.common import analysis_consultation
from consultations.registers import moment_sentence


def _grid(request, pk: int, grid_pk: int):
    consultation = analysis_consultation(request, pk)
    grid = get_object_or_404(
        EvaluationGrid.objects.select_related("lot", "consultation__organisation"),
        pk=grid_pk,
        consultation=consultation,
    )
    return consultation, grid


def _act(action: str, *, user, row: OfferAmount, data: dict):
    if action == "correct":
        offer_amount_correct(
            user=user, amount=row, corrected_amount=data["corrected_amount"], reason=data["reason"]
        )
        return _("Le montant rectifié de l'offre de %(offer)s est enregistré.")
    if action == "withdraw":
        offer_amount_correction_withdraw(user=user, amount=row, reason=data["reason"])
        return _(
            "La rectification de l'offre de %(offer)s est retirée : elle est jugée sur le montant remis."
        )
    if action == "request":
        justification_request(user=user, amount=row, body=data["body"], answer_due_at=data["answer_due_at"])
        return _("La demande de justification est envoyée à %(offer)s par la messagerie sécurisée.")
    low_offer_decide(user=user, amount=row, decision=data["decision"], reason=data["reason"])
    return _("La décision sur l'offre de %(offer)s est enregistrée.")


@never_cache
@agent_required
def corrections(request, pk: int, grid_pk: int):
    consultation, grid = _grid(request, pk, grid_pk)
    bound = None
    if request.method == "POST":
        if not agent_can(request.user, AgentPermission.DECIDE, consultation):
            raise PermissionDenied
        action = request.POST.get("action", "")
        if action not in FORMS:
            return HttpResponseBadRequest()
        offer = request.POST.get("offer", "")
        if not offer.isdigit():
            raise Http404
        row = get_object_or_404(grid.amounts.select_related("deposit__company"), pk=offer)
        form = FORMS[action](request.POST, prefix=f"{action}-{row.pk}")
        if form.is_valid():
            try:
                done = _act(action, user=request.user, row=row, data=form.cleaned_data)
            except OfferError as error:
                field = FIELD_ALIASES.get(error.field, error.field)
                form.add_error(field if field in form.fields else None, error.message)
            except ScoringError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, done % {"offer": offer_label(row.deposit, row.variant)})
                url = reverse("awards:corrections", args=[consultation.pk, grid.pk])
                return redirect(f"{url}#offre-{row.pk}")
        bound = (action, row.pk, form)
    return render(
        request, "awards/corrections/corrections.html", _context(request, consultation, grid, bound)
    )


def _justification_text(grid, row) -> str:
    if grid.lot_id:
        subject = _("votre offre pour le lot %(number)s « %(title)s »") % {
            "number": grid.lot.number,
            "title": grid.lot.title,
        }
    else:
        subject = _("votre offre")
    if row.variant:
        subject = _("%(offer)s (variante)") % {"offer": subject}
    return _(
        "Madame, Monsieur,\n\n"
        "Le montant de %(subject)s, %(amount)s, paraît anormalement bas au regard des autres "
        "offres reçues.\n\n"
        "Conformément aux articles L2152-5 et R2152-3 du code de la commande publique, nous vous demandons "
        "de justifier ce prix : décomposition du montant, procédés et méthodes mis en œuvre, conditions "
        "exceptionnellement favorables dont vous disposez, originalité des prestations, respect des "
        "obligations en matière sociale et environnementale, éventuelle aide d'État.\n\n"
        "Sans justification suffisante reçue avant la date indiquée, l'offre pourra être rejetée.\n"
    ) % {"subject": subject, "amount": euros(row.judged_amount)}


def _context(request, consultation, grid, bound) -> dict:
    rows = list(
        grid.amounts.select_related(
            "deposit__company", "corrected_by", "low_offer_decided_by", "justification_request"
        ).order_by("variant", "deposit__company__name", "pk")
    )
    checks = grid_low_offers(grid)
    ranking_error = ""
    ranks = {}
    try:
        ranks = {ranked.result.key: ranked.rank for ranked in grid_results(grid=grid)}
    except ScoringError as error:
        ranking_error = error.message
    closed_reason = ""
    try:
        analysis_check(grid)
    except OfferError as error:
        closed_reason = error.message
    can_decide = agent_can(request.user, AgentPermission.DECIDE, consultation) and not closed_reason
    evaluation_url = reverse("awards:evaluation", args=[consultation.pk])
    offers = []
    for row in rows:
        check = checks[row.pk]
        forms = {}
        for action, form_class in FORMS.items():
            if bound and bound[0] == action and bound[1] == row.pk:
                forms[action] = bound[2]
            else:
                initial = {"body": _justification_text(grid, row)} if action == "request" else None
                forms[action] = form_class(prefix=f"{action}-{row.pk}", initial=initial)
        request_message = row.justification_request
        offers.append(
            {
                "row": row,
                "label": offer_label(row.deposit, row.variant),
                "amount": euros(row.amount),
                "corrected": euros(row.corrected_amount) if row.corrected_amount is not None else "",
                "judged": euros(row.judged_amount),
                "corrected_at": moment_sentence(row.corrected_at),
                "check": check,
                "average": euros(check.others_average) if check.others_average is not None else "",
                "limit": euros(check.limit) if check.limit is not None else "",
                "threshold": percent(check.threshold),
                "rank": ranks.get((row.deposit_id, row.variant)),
                "rejected": row.low_offer_decision == LowOfferDecision.REJECTED,
                "request": request_message,
                "request_sent_at": moment_sentence(request_message.sent_at) if request_message else "",
                "request_due_at": moment_sentence(request_message.answer_due_at) if request_message else "",
                "replies": [
                    {"message": reply, "sent_at": moment_sentence(reply.sent_at)}
                    for reply in justification_replies(row)
                ],
                "decided_at": moment_sentence(row.low_offer_decided_at),
                "forms": forms,
                "open": bool(bound and bound[1] == row.pk),
            }
        )
    return {
        "consultation": consultation,
        "grid": grid,
        "offers": offers,
        "threshold": percent(grid.low_offer_threshold),
        "ranking_error": ranking_error,
        "can_decide": can_decide,
        "closed_reason": closed_reason,
        "evaluation_url": evaluation_url,
        "breadcrumb_parent": _("Analyse des offres") if evaluation_url else "",
        "grid_url": reverse("awards:grid", args=[consultation.pk, grid.pk]),
    }
