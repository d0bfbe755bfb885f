"""The decision on each lot (« décision d'attribution »), the standstill, the signature and
the notification of the contract.

Rules (docs/design.md « Decision »):

- only an agent with the permission to decide, once the deadline has passed, while the
  consultation's deposits are opened or under analysis (and, to change a decision whose
  letters are not sent yet, once it is « décidée »);
- one decision per lot (per consultation without lots): recording it again replaces it, until
  its letters are sent; then it is final;
- « attribué »: the winner is a finalised deposit received on time with an offer (or a variant,
  for a variant) for that lot, opened, whose candidature was not refused; with a positive amount
  EUR HT and a duration in months; « infructueux » and « sans suite » need a reason;
- when every lot has its decision, the consultation is « décidée »;
- the standstill (« délai de suspension ») applies to the formal procedures: 11 days after the
  letters, 16 when they went on paper; the contract is not signed before its end;
- the notification is a message to the winner once the contract is signed: its date is the
  message's first reading.

The letters themselves are in ``awards/services/letters.py``. Amounts stay out of the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.services import event_record
from awards.models import CandidatureReview, Decision, EvaluationGrid, LowOfferDecision, OfferAmount, Outcome
from config import clock
from consultations.calendar import PARIS
from consultations.models import Consultation, EnvelopeKind, Lot, ProcedureType, State
from deposits.models import Deposit, DepositState, DepositStatus
from deposits.services.opening import deadline_passed

# Formal procedures (« procédures formalisées »): the contract waits for the standstill.
# Not the MAPA, nor the contracts without publicity, nor the design contest.
STANDSTILL_PROCEDURES = frozenset(
    {
        ProcedureType.OPEN_TENDER,
        ProcedureType.RESTRICTED_TENDER,
        ProcedureType.NEGOTIATED,
        ProcedureType.COMPETITIVE_DIALOGUE,
    }
)
STANDSTILL_DAYS_ELECTRONIC = 11
STANDSTILL_DAYS_PAPER = 16
DECIDING_STATES = frozenset({State.OPENED, State.EVALUATION})
# A decision whose letters are not sent may still be changed once the consultation is decided.
CHANGING_STATES = DECIDING_STATES | {State.DECIDED}
DURATION_MAX_MONTHS = 1200
AMOUNT_MAX = Decimal("9999999999999.99")


class DecisionError(Exception):
    """A rule refused a decision, a letter, a signature or a notification; the message is
    French and shown as is, next to ``field`` when the form has it."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- Reading ---------------------------------------------------------------------------------


def lot_label(lot: Lot | None) -> str:
    if lot is None:
        return _("la consultation")
    return _("le lot %(number)s") % {"number": lot.number}


def lot_bidders(consultation: Consultation, lot: Lot | None):
    """The deposits received on time with an offer (or a variant) for ``lot`` (for the
    consultation without lots: ``None``), by company name."""
    envelopes = Q(
        envelopes__kind__in=(EnvelopeKind.OFFER, EnvelopeKind.VARIANT),
        envelopes__lot=lot,
    )
    if lot is None:
        envelopes = Q(
            envelopes__kind__in=(EnvelopeKind.OFFER, EnvelopeKind.VARIANT),
            envelopes__lot__isnull=True,
        )
    return (
        Deposit.objects.filter(
            envelopes,
            consultation=consultation,
            state=DepositState.FINALISED,
            status=DepositStatus.ON_TIME,
        )
        .select_related("company")
        .distinct()
        .order_by("company__name", "pk")
    )


def deposit_has_offer(deposit: Deposit, lot: Lot | None, *, variant: bool = False) -> bool:
    kind = EnvelopeKind.VARIANT if variant else EnvelopeKind.OFFER
    envelopes = deposit.envelopes.filter(kind=kind)
    return envelopes.filter(lot__isnull=True).exists() if lot is None else envelopes.filter(lot=lot).exists()


def deposit_offer_opened(deposit: Deposit, lot: Lot | None, *, variant: bool = False) -> bool:
    kind = EnvelopeKind.VARIANT if variant else EnvelopeKind.OFFER
    envelopes = deposit.envelopes.filter(kind=kind, opening__isnull=False)
    return envelopes.filter(lot__isnull=True).exists() if lot is None else envelopes.filter(lot=lot).exists()


def lot_grid(consultation: Consultation, lot: Lot | None) -> EvaluationGrid | None:
    """The grid the offers of ``lot`` were scored on (the consultation's, without lots)."""
    return EvaluationGrid.objects.filter(consultation=consultation, lot=lot).first()


def consultation_lots(consultation: Consultation) -> list[Lot | None]:
    """What is decided: every lot, or the consultation itself (``[None]``) without lots."""
    lots = list(consultation.lots.order_by("number"))
    return lots or [None]


def decision_of(consultation: Consultation, lot: Lot | None) -> Decision | None:
    return Decision.objects.filter(consultation=consultation, lot=lot).first()


def standstill_applies(consultation: Consultation) -> bool:
    return consultation.procedure_type in STANDSTILL_PROCEDURES


def standstill_end(decision: Decision) -> datetime | None:
    """The moment the contract may be signed: the letters' sending + 11 days (16 when they
    went on paper); ``None`` when there is no standstill or the letters are not sent."""
    if not decision.standstill_required or decision.letters_sent_at is None:
        return None
    days = STANDSTILL_DAYS_ELECTRONIC if decision.letters_electronic else STANDSTILL_DAYS_PAPER
    return decision.letters_sent_at + timedelta(days=days)


def date_fr(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y")


def datetime_fr(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


# --- The decision ----------------------------------------------------------------------------


def _lock(consultation: Consultation) -> Consultation:
    return (
        Consultation.objects.select_for_update(no_key=True)
        .select_related("organisation")
        .get(pk=consultation.pk)
    )


def _amount_clean(amount) -> Decimal:
    if amount is None or amount == "":
        raise DecisionError(_("Indiquez le montant du marché (EUR HT)."), field="amount")
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise DecisionError(_("Le montant du marché doit être un nombre."), field="amount") from None
    if not value.is_finite() or value <= 0:
        raise DecisionError(_("Le montant du marché doit être supérieur à 0 € HT."), field="amount")
    if value > AMOUNT_MAX or value != value.quantize(Decimal("0.01")):
        raise DecisionError(
            _("Le montant du marché s'écrit en euros et centimes, au plus 9 999 999 999 999,99 € HT."),
            field="amount",
        )
    return value


def _duration_clean(duration_months) -> int:
    if duration_months is None or duration_months == "":
        raise DecisionError(_("Indiquez la durée du marché en mois."), field="duration_months")
    try:
        value = int(duration_months)
    except (TypeError, ValueError):
        raise DecisionError(
            _("La durée du marché est un nombre entier de mois."), field="duration_months"
        ) from None
    if not 1 <= value <= DURATION_MAX_MONTHS:
        raise DecisionError(
            _("La durée du marché doit être comprise entre 1 et %(max)s mois.")
            % {"max": DURATION_MAX_MONTHS},
            field="duration_months",
        )
    return value


def _winner_check(
    consultation: Consultation, lot: Lot | None, deposit: Deposit | None, variant: bool
) -> None:
    if deposit is None:
        raise DecisionError(
            _("Choisissez l'attributaire parmi les entreprises qui ont remis une offre."), field="deposit"
        )
    received = (
        deposit.consultation_id == consultation.pk
        and deposit.state == DepositState.FINALISED
        and deposit.status == DepositStatus.ON_TIME
        and deposit_has_offer(deposit, lot, variant=False)
    )
    if not received:
        if lot is None:
            message = _(
                "L'entreprise %(company)s n'a pas déposé d'offre dans les délais pour cette consultation."
            )
        else:
            message = _(
                "L'entreprise %(company)s n'a pas déposé d'offre dans les délais pour le lot %(number)s."
            )
        raise DecisionError(
            message % {"company": deposit.company.name, "number": lot.number if lot else ""}, field="deposit"
        )
    if variant and not deposit_has_offer(deposit, lot, variant=True):
        raise DecisionError(
            _("L'entreprise %(company)s n'a pas déposé de variante pour %(lot)s.")
            % {"company": deposit.company.name, "lot": lot_label(lot)},
            field="deposit",
        )
    # Nobody may award an offer nobody has read (opening by envelope: the offers are opened
    # after the candidatures).
    if not deposit_offer_opened(deposit, lot, variant=variant):
        raise DecisionError(
            _(
                "L'offre de l'entreprise %(company)s n'est pas encore ouverte : ouvrez-la avant "
                "d'attribuer le marché."
            )
            % {"company": deposit.company.name},
            field="deposit",
        )
    review = CandidatureReview.objects.filter(deposit=deposit).first()
    if review is not None and not review.admitted:
        raise DecisionError(
            _(
                "La candidature de l'entreprise %(company)s n'a pas été admise : "
                "le marché ne peut pas lui être attribué."
            )
            % {"company": deposit.company.name},
            field="deposit",
        )
    grid = lot_grid(consultation, lot)
    if (
        grid is not None
        and OfferAmount.objects.filter(
            grid=grid, deposit=deposit, variant=variant, low_offer_decision=LowOfferDecision.REJECTED
        ).exists()
    ):
        raise DecisionError(
            _("L'offre de l'entreprise %(company)s a été rejetée comme anormalement basse.")
            % {"company": deposit.company.name},
            field="deposit",
        )


def decision_record(
    *,
    user,
    consultation: Consultation,
    lot: Lot | None,
    outcome: str,
    deposit: Deposit | None = None,
    variant: bool = False,
    amount=None,
    duration_months=None,
    reason: str = "",
) -> Decision:
    """Record (or replace, until its letters are sent) the decision on one lot."""
    from consultations.services.lifecycle import consultation_mark_decided, consultation_mark_evaluation

    agent_require(user, AgentPermission.DECIDE, consultation)
    reason = (reason or "").strip()
    with transaction.atomic():
        consultation = _lock(consultation)
        if not deadline_passed(consultation):
            raise DecisionError(_("La décision se prend après la date limite de remise des plis."))
        lots = consultation_lots(consultation)
        if lot is None and lots != [None]:
            raise DecisionError(_("Choisissez le lot sur lequel porte la décision."), field="lot")
        if lot is not None and lot.consultation_id != consultation.pk:
            raise DecisionError(_("Ce lot n'appartient pas à cette consultation."), field="lot")
        existing = (
            Decision.objects.select_for_update(of=("self",))
            .filter(consultation=consultation, lot=lot)
            .first()
        )
        allowed = CHANGING_STATES if existing is not None else DECIDING_STATES
        if consultation.state not in allowed:
            raise DecisionError(
                _("La consultation est « %(state)s » : aucune décision ne peut y être prise.")
                % {"state": consultation.get_state_display()}
            )
        if existing is not None and existing.letters_sent_at is not None:
            raise DecisionError(
                _(
                    "Les lettres de cette décision ont été envoyées le %(date)s : "
                    "elle ne peut plus être modifiée."
                )
                % {"date": date_fr(existing.letters_sent_at)}
            )
        if existing is not None and consultation.state == State.DECIDED and consultation.suites.exists():
            raise DecisionError(
                _("Une suite a été créée à partir de cette consultation : ses décisions sont définitives.")
            )
        if outcome not in Outcome.values:
            raise DecisionError(
                _("Choisissez la décision : attribué, infructueux ou sans suite."), field="outcome"
            )
        if outcome == Outcome.AWARDED:
            _winner_check(consultation, lot, deposit, bool(variant))
            amount = _amount_clean(amount)
            duration_months = _duration_clean(duration_months)
        else:
            if not reason:
                raise DecisionError(
                    _("Indiquez le motif de la décision « %(outcome)s ».")
                    % {"outcome": Outcome(outcome).label},
                    field="reason",
                )
            deposit, variant, amount, duration_months = None, False, None, None
        decision = existing or Decision(consultation=consultation, lot=lot)
        decision.outcome = outcome
        decision.deposit = deposit
        decision.variant = bool(variant)
        decision.amount = amount
        decision.duration_months = duration_months
        decision.reason = reason
        decision.decided_at = clock.now()
        decision.decided_by = user
        decision.standstill_required = standstill_applies(consultation)
        decision.save()
        event_record(
            action="awards.decision_changed" if existing else "awards.decision_recorded",
            actor=user,
            target=consultation,
            organisation=consultation.organisation_id,
            data={
                "decision": decision.pk,
                "lot": lot.number if lot else None,
                "outcome": outcome,
                "deposit": deposit.pk if deposit else None,
                "variant": bool(variant),
            },
        )
        decided = Decision.objects.filter(consultation=consultation).count()
        if decided >= len(lots):
            consultation_mark_decided(consultation=consultation, user=user)
        else:
            consultation_mark_evaluation(consultation=consultation, user=user)
    return decision


# --- Signature and notification -----------------------------------------------------------


def _decision_lock(decision: Decision) -> Decision:
    return (
        Decision.objects.select_for_update(of=("self",))
        .select_related("consultation__organisation", "lot", "deposit__company", "notification")
        .get(pk=decision.pk)
    )


def contract_sign_record(*, user, decision: Decision, signed_at: datetime) -> Decision:
    """The date both sides signed the contract: after the letters, never before the standstill's
    end, not in the future; it may be corrected until the notification."""
    agent_require(user, AgentPermission.DECIDE, decision.consultation)
    with transaction.atomic():
        decision = _decision_lock(decision)
        if decision.outcome != Outcome.AWARDED:
            raise DecisionError(_("Seul un lot attribué donne lieu à la signature d'un marché."))
        if decision.letters_sent_at is None:
            raise DecisionError(
                _("Envoyez d'abord les lettres de rejet et d'attribution : le marché se signe après elles.")
            )
        if decision.notification_id is not None:
            raise DecisionError(_("Le marché est notifié : sa date de signature ne peut plus changer."))
        if signed_at is None:
            raise DecisionError(_("Indiquez la date de signature du marché."), field="signed_at")
        if signed_at > clock.now():
            raise DecisionError(_("La date de signature ne peut pas être dans le futur."), field="signed_at")
        if signed_at < decision.letters_sent_at:
            raise DecisionError(
                _("Le marché ne peut pas être signé avant l'envoi des lettres, le %(date)s.")
                % {"date": datetime_fr(decision.letters_sent_at)},
                field="signed_at",
            )
        end = standstill_end(decision)
        if end is not None and signed_at < end:
            raise DecisionError(
                _(
                    "Le marché ne peut pas être signé avant le %(date)s : le délai de suspension court "
                    "jusqu'au %(end)s."
                )
                % {"date": date_fr(end), "end": datetime_fr(end)},
                field="signed_at",
            )
        changed = decision.signed_at is not None
        decision.signed_at = signed_at
        decision.save(update_fields=["signed_at"])
        event_record(
            action="awards.contract_signed",
            actor=user,
            target=decision.consultation,
            organisation=decision.consultation.organisation_id,
            data={"decision": decision.pk, "signed_at": signed_at.isoformat(), "corrected": changed},
        )
    return decision


def contract_notify(*, user, decision: Decision, body: str, subject: str = ""):
    """Notify the signed contract to the winner through the secure messaging; the
    notification's date is the message's first reading."""
    from messaging.errors import MessagingError
    from messaging.models import Kind
    from messaging.services.sending import message_send

    agent_require(user, AgentPermission.DECIDE, decision.consultation)
    with transaction.atomic():
        decision = _decision_lock(decision)
        if decision.outcome != Outcome.AWARDED:
            raise DecisionError(_("Seul un lot attribué donne lieu à une notification."))
        if decision.signed_at is None:
            raise DecisionError(
                _("Le marché se notifie une fois signé : enregistrez d'abord sa date de signature.")
            )
        if decision.notification_id is not None:
            raise DecisionError(
                _("Le marché a déjà été notifié (message envoyé le %(date)s).")
                % {"date": datetime_fr(decision.notification.sent_at)}
            )
        consultation = decision.consultation
        subject = subject.strip() or _("Notification du marché — %(reference)s%(lot)s") % {
            "reference": consultation.reference,
            "lot": f" — lot {decision.lot.number}" if decision.lot_id else "",
        }
        try:
            (message,) = message_send(
                user=user,
                consultation=consultation,
                companies=[decision.deposit.company],
                kind=Kind.NOTIFICATION,
                subject=subject,
                body=body,
            )
        except MessagingError as error:
            raise DecisionError(error.message, field=error.field) from None
        decision.notification = message
        decision.save(update_fields=["notification"])
        event_record(
            action="awards.contract_notified",
            actor=user,
            target=consultation,
            organisation=consultation.organisation_id,
            data={"decision": decision.pk, "message": message.pk},
        )
    return message
