"""The decisions screen (« Décisions »): per lot, the ranking, the decision, the letters,
the standstill, the signature and the notification.

Any agent of the organisation sees the page (another organisation's consultation is « not
found »); the forms are for agents who may decide, and the services check it again (403).
Before the deadline the page says nothing about the deposits.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_required
from awards.forms_decisions import (
    DecisionForm,
    LettersForm,
    NotificationForm,
    SignatureForm,
    decision_initial,
)
from awards.models import Decision, Outcome
from awards.services.decisions import (
    CHANGING_STATES,
    DecisionError,
    consultation_lots,
    contract_notify,
    contract_sign_record,
    datetime_fr,
    decision_record,
    lot_bidders,
    lot_grid,
    standstill_end,
)
from awards.services.letters import letters_of, letters_send
from awards.services.scoring import ScoringError, grid_results, number_fr
from awards.views.common import analysis_consultation
from consultations.calendar import paris_moment
from deposits.models import Envelope, EnvelopeKind
from deposits.services.opening import deposits_disclosed

FIELD_ALIASES = {"deposit": "winner", "lot": None}


def _key(lot) -> str:
    return str(lot.pk) if lot is not None else "0"


def _anchor(decision_or_lot) -> str:
    lot = getattr(decision_or_lot, "lot", decision_or_lot)
    return f"lot-{lot.number}" if lot is not None else "decision"


def _error_into(form, error: DecisionError, aliases: dict | None = None) -> None:
    name = (aliases or {}).get(error.field, error.field)
    form.add_error(name if name in form.fields else None, error.message)


def _variants(consultation, lot) -> set:
    envelopes = Envelope.objects.filter(deposit__consultation=consultation, kind=EnvelopeKind.VARIANT)
    envelopes = envelopes.filter(lot__isnull=True) if lot is None else envelopes.filter(lot=lot)
    return set(envelopes.values_list("deposit_id", flat=True))


def _ranking(consultation, lot) -> dict:
    grid = lot_grid(consultation, lot)
    if grid is None:
        return {"grid": None}
    try:
        ranked = grid_results(grid=grid)
    except ScoringError as error:
        return {"grid": grid, "error": error.message}
    rows = [
        {"rank": entry.rank, "label": entry.result.label, "total": number_fr(entry.result.total)}
        for entry in ranked
    ]
    return {"grid": grid, "rows": rows}


def _notification_text(decision: Decision) -> str:
    consultation = decision.consultation
    where = (
        _("du lot %(number)s « %(title)s » de la consultation %(reference)s")
        % {"number": decision.lot.number, "title": decision.lot.title, "reference": consultation.reference}
        if decision.lot_id
        else _("de la consultation %(reference)s") % {"reference": consultation.reference}
    )
    signed = datetime_fr(decision.signed_at) if decision.signed_at else ""
    return _(
        "Madame, Monsieur,\n\nNous vous notifions le marché %(where)s, signé le %(signed)s. "
        "La présente notification marque le début de son exécution.\n\n"
        "Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées."
    ) % {"where": where, "signed": signed}


def _sections(request, consultation, *, bound: dict | None = None) -> list[dict]:
    bound = bound or {}
    can_decide = agent_can(request.user, AgentPermission.DECIDE, consultation)
    decisions = {
        d.lot_id: d
        for d in Decision.objects.filter(consultation=consultation).select_related(
            "deposit__company", "lot", "notification"
        )
    }
    sections = []
    for lot in consultation_lots(consultation):
        key = _key(lot)
        decision = decisions.get(lot.pk if lot else None)
        bidders = list(lot_bidders(consultation, lot))
        section = {
            "lot": lot,
            "key": key,
            "anchor": _anchor(lot),
            "decision": decision,
            "bidders": bidders,
            "ranking": _ranking(consultation, lot),
        }
        section["decision_form"] = bound.get(("decision", key)) or DecisionForm(
            prefix=f"decision-{key}",
            initial=decision_initial(decision),
            bidders=bidders,
            variants=_variants(consultation, lot),
        )
        section["can_change"] = (
            can_decide
            and consultation.state in CHANGING_STATES
            and (decision is None or decision.letters_sent_at is None)
        )
        if decision is not None:
            section["letters"] = list(letters_of(decision)) if decision.letters_sent_at else []
            section["standstill_end"] = standstill_end(decision)
            if can_decide and decision.letters_sent_at is None:
                section["letters_form"] = bound.get(("letters", key)) or LettersForm(prefix=f"letters-{key}")
            elif can_decide and decision.outcome == Outcome.AWARDED and decision.notification_id is None:
                section["signature_form"] = bound.get(("signature", key)) or SignatureForm(
                    prefix=f"signature-{key}"
                )
                if decision.signed_at:
                    section["notify_form"] = bound.get(("notify", key)) or NotificationForm(
                        prefix=f"notify-{key}", initial={"body": _notification_text(decision)}
                    )
        # A refusal for a form the page no longer shows (another agent sent the letters
        # meanwhile…) is still told, at the top of the lot.
        displayed = [
            section[name] for name in ("letters_form", "signature_form", "notify_form") if name in section
        ]
        if section["can_change"]:
            displayed.append(section["decision_form"])
        section["orphan_errors"] = [
            error
            for (_kind, form_key), form in bound.items()
            if form_key == key and all(form is not shown for shown in displayed)
            for errors in form.errors.values()
            for error in errors
        ]
        sections.append(section)
    return sections


def _page(request, consultation, *, bound: dict | None = None, status: int = 200):
    disclosed = deposits_disclosed(consultation)
    context = {
        "consultation": consultation,
        "disclosed": disclosed,
        "can_decide": agent_can(request.user, AgentPermission.DECIDE, consultation),
        "sections": _sections(request, consultation, bound=bound) if disclosed else [],
    }
    return render(request, "awards/decisions/decisions.html", context, status=status)


def _back(consultation, anchor: str):
    return redirect(reverse("awards:decisions", args=[consultation.pk]) + f"#{anchor}")


@never_cache
@agent_required
@require_GET
def decisions_page(request, pk: int):
    return _page(request, analysis_consultation(request, pk))


@never_cache
@agent_required
@require_POST
def decision_record_view(request, pk: int):
    consultation = analysis_consultation(request, pk)
    if not agent_can(request.user, AgentPermission.DECIDE, consultation):
        raise PermissionDenied
    if not deposits_disclosed(consultation):
        return _page(request, consultation, status=400)
    lot_key = request.POST.get("lot", "")
    lot = None
    if lot_key != "0":
        lot = get_object_or_404(consultation.lots.all(), pk=lot_key) if lot_key.isdigit() else None
        if lot is None:
            return _page(request, consultation, status=400)
    key = _key(lot)
    form = DecisionForm(
        request.POST,
        prefix=f"decision-{key}",
        bidders=list(lot_bidders(consultation, lot)),
        variants=_variants(consultation, lot),
    )
    if form.is_valid():
        deposit, variant = form.winner_value()
        data = form.cleaned_data
        try:
            decision_record(
                user=request.user,
                consultation=consultation,
                lot=lot,
                outcome=data["outcome"],
                deposit=deposit,
                variant=variant,
                amount=data["amount"],
                duration_months=data["duration_months"],
                reason=data["reason"],
            )
        except DecisionError as error:
            _error_into(form, error, FIELD_ALIASES)
        else:
            messages.success(request, _("La décision est enregistrée."))
            return _back(consultation, _anchor(lot))
    consultation.refresh_from_db()
    return _page(request, consultation, bound={("decision", key): form}, status=400)


def _decision(request, pk: int, decision_pk: int):
    consultation = analysis_consultation(request, pk)
    if not agent_can(request.user, AgentPermission.DECIDE, consultation):
        raise PermissionDenied
    decision = get_object_or_404(
        Decision.objects.select_related("lot", "deposit__company", "consultation__organisation"),
        pk=decision_pk,
        consultation=consultation,
    )
    return consultation, decision


@never_cache
@agent_required
@require_POST
def letters_send_view(request, pk: int, decision_pk: int):
    consultation, decision = _decision(request, pk, decision_pk)
    key = _key(decision.lot)
    form = LettersForm(request.POST, prefix=f"letters-{key}")
    if form.is_valid():
        try:
            sent = letters_send(
                user=request.user,
                decision=decision,
                certificates_days=form.cleaned_data["certificates_days"],
                electronic=form.cleaned_data["electronic"],
            )
        except DecisionError as error:
            _error_into(form, error)
        else:
            messages.success(
                request,
                _("Les lettres sont envoyées (%(count)s message(s) dans la messagerie sécurisée).")
                % {"count": len(sent)},
            )
            return _back(consultation, _anchor(decision))
    return _page(request, consultation, bound={("letters", key): form}, status=400)


@never_cache
@agent_required
@require_POST
def contract_sign_view(request, pk: int, decision_pk: int):
    consultation, decision = _decision(request, pk, decision_pk)
    key = _key(decision.lot)
    form = SignatureForm(request.POST, prefix=f"signature-{key}")
    if form.is_valid():
        signed_at = paris_moment(form.cleaned_data["signed_day"], form.cleaned_data["signed_time"])
        if signed_at is None:
            form.add_error("signed_time", _("Cette heure n'existe pas ce jour-là (passage à l'heure d'été)."))
        else:
            try:
                contract_sign_record(user=request.user, decision=decision, signed_at=signed_at)
            except DecisionError as error:
                _error_into(form, error, {"signed_at": "signed_day"})
            else:
                messages.success(request, _("La date de signature du marché est enregistrée."))
                return _back(consultation, _anchor(decision))
    return _page(request, consultation, bound={("signature", key): form}, status=400)


@never_cache
@agent_required
@require_POST
def contract_notify_view(request, pk: int, decision_pk: int):
    consultation, decision = _decision(request, pk, decision_pk)
    key = _key(decision.lot)
    form = NotificationForm(request.POST, prefix=f"notify-{key}")
    if form.is_valid():
        try:
            contract_notify(user=request.user, decision=decision, body=form.cleaned_data["body"])
        except DecisionError as error:
            _error_into(form, error)
        else:
            messages.success(
                request,
                _("La notification est envoyée ; elle prendra date à sa première lecture par l'entreprise."),
            )
            return _back(consultation, _anchor(decision))
    return _page(request, consultation, bound={("notify", key): form}, status=400)
