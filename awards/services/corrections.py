"""Arithmetic correction of an offer (« rectification des erreurs matérielles »).

When the total of an offer does not match its detail (a line « prix unitaire × quantité »
wrongly multiplied, a wrong sum), the unit prices prevail: the agent records the corrected
amount and, as the reason, the recomputed line(s). The offer is then judged on the corrected
amount (``OfferAmount.judged_amount``, read by ``awards/services/scoring.py``), so a
correction moves the lowest price and therefore the price points of every offer.

A correction can be withdrawn, with a reason: the offer is judged again on its submitted
amount. The reason of the last correction or withdrawal is kept on the row; the audit log
records who corrected or withdrew and when, never an amount nor the reason (which quotes the
bid's prices).

The rules shared with ``low_offers``: only an agent with the permission to decide acts, and
only while the analysis is open (consultation « Plis ouverts » or « En analyse », no decision
yet on the lot).
"""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.services import event_record
from awards.models import Decision, OfferAmount
from awards.services.scoring import ScoringError, number_fr
from config import clock
from consultations.models import State

CENT = Decimal("0.01")
# OfferAmount.corrected_amount: 14 digits, 2 after the point.
AMOUNT_MAX = Decimal("999999999999.99")
ANALYSIS_STATES = frozenset({State.OPENED, State.EVALUATION})


class OfferError(ScoringError):
    """A rule refused a correction, a justification request or a decision on an offer;
    ``field`` names the form field the message belongs to, when there is one."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


def analysis_require(*, user, amount: OfferAmount) -> None:
    """The agent may decide for this consultation, and the offer's lot is still being analysed."""
    agent_require(user, AgentPermission.DECIDE, amount.grid.consultation)
    analysis_check(amount.grid)


def analysis_check(grid) -> None:
    """Refuse when the grid's offers can no longer change: consultation out of the analysis,
    or a decision already taken on the lot."""
    consultation = grid.consultation
    consultation.refresh_from_db(fields=["state"])
    if consultation.state not in ANALYSIS_STATES:
        raise OfferError(
            _("La consultation est « %(state)s » : l'analyse des offres n'est pas ouverte.")
            % {"state": consultation.get_state_display()}
        )
    if Decision.objects.filter(consultation=consultation, lot_id=grid.lot_id).exists():
        if grid.lot_id is not None:
            raise OfferError(
                _("Le lot %(number)s est déjà décidé : ses offres ne peuvent plus être modifiées.")
                % {"number": grid.lot.number}
            )
        raise OfferError(_("La consultation est déjà décidée : ses offres ne peuvent plus être modifiées."))


def reason_clean(reason: str, *, empty: str, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise OfferError(empty, field=field)
    return reason


def amount_clean(value, *, field: str = "corrected_amount") -> Decimal:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise OfferError(_("Saisissez un montant en euros HT, par exemple 12 500,00."), field=field) from None
    if not amount.is_finite() or amount <= 0:
        raise OfferError(_("Le montant rectifié doit être supérieur à 0 € HT."), field=field)
    # The size first: quantizing « 1e99 » would overflow the decimal context.
    if amount > AMOUNT_MAX:
        raise OfferError(_("Le montant rectifié est trop élevé."), field=field)
    if amount != amount.quantize(CENT):
        raise OfferError(
            _("Le montant rectifié s'écrit au centime près (deux décimales au plus)."), field=field
        )
    return amount.quantize(CENT)


def offer_locked(amount: OfferAmount) -> OfferAmount:
    return (
        OfferAmount.objects.select_for_update(of=("self",))
        .select_related("grid__consultation", "grid__lot")
        .get(pk=amount.pk)
    )


def offer_audit(action: str, *, user, row: OfferAmount, **data) -> None:
    # Amounts and reasons quote the bid: they stay out of the log.
    event_record(
        action=action,
        actor=user,
        target=row.deposit,
        organisation=row.grid.consultation.organisation,
        data={"grid": row.grid_id, "offer_amount": row.pk, "variant": row.variant, **data},
    )


def offer_amount_correct(*, user, amount: OfferAmount, corrected_amount, reason: str) -> OfferAmount:
    """Record the corrected amount of an offer and its reason (the recomputed line)."""
    analysis_require(user=user, amount=amount)
    corrected = amount_clean(corrected_amount)
    reason = reason_clean(
        reason,
        empty=_(
            "Le motif de la rectification est obligatoire : écrivez la ligne recalculée "
            "(prix unitaire × quantité)."
        ),
    )
    with transaction.atomic():
        row = offer_locked(amount)
        if corrected == row.amount:
            raise OfferError(
                _(
                    "Le montant rectifié est égal au montant remis (%(amount)s € HT) : il n'y a rien à "
                    "rectifier."
                )
                % {"amount": number_fr(row.amount)},
                field="corrected_amount",
            )
        row.corrected_amount = corrected
        row.correction_reason = reason
        row.corrected_at = clock.now()
        row.corrected_by = user
        row.save(update_fields=["corrected_amount", "correction_reason", "corrected_at", "corrected_by"])
        offer_audit("awards.offer_amount_correct", user=user, row=row)
    return row


def offer_amount_correction_withdraw(*, user, amount: OfferAmount, reason: str) -> OfferAmount:
    """Withdraw the correction: the offer is judged again on its submitted amount."""
    analysis_require(user=user, amount=amount)
    reason = reason_clean(reason, empty=_("Le motif du retrait de la rectification est obligatoire."))
    with transaction.atomic():
        row = offer_locked(amount)
        if row.corrected_amount is None:
            raise OfferError(_("Cette offre n'a pas de montant rectifié : il n'y a rien à retirer."))
        row.corrected_amount = None
        row.correction_reason = reason
        row.corrected_at = clock.now()
        row.corrected_by = user
        row.save(update_fields=["corrected_amount", "correction_reason", "corrected_at", "corrected_by"])
        offer_audit("awards.offer_amount_correction_withdraw", user=user, row=row)
    return row
