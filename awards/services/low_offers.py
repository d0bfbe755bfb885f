"""Abnormally low offers (« offres anormalement basses », articles L2152-5 and R2152-3 to 5
of the code de la commande publique).

The detection rule (shown on the screen and in the analysis report): an offer is flagged
when its judged amount (corrected amount if any) is strictly below
``grid.low_offer_threshold`` % (80 % by default) of the average of the judged amounts of the
grid's *other* offers of the same kind (base offers with base offers, variants with
variants). The rule needs at least 2 offers of that kind. Offers already rejected as
abnormally low are left out of the averages: they no longer compete.

The rule only points at offers; the agent judges. The law forbids rejecting an offer as
abnormally low without first asking the company to justify it: ``justification_request``
sends that request through the secure messaging (a « demande de compléments » with an answer
date; the company's replies are the justification), and ``low_offer_decide`` keeps or
rejects the offer with a reason, rejection only once the request was sent. Any offer may be
asked to justify itself, flagged or not: the threshold is an aid, not the law. A rejected
offer is left out of the ranking and of the lowest price (``scoring.grid_results``).
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from awards.models import EvaluationGrid, LowOfferDecision, OfferAmount
from awards.services.corrections import OfferError, analysis_require, offer_audit, offer_locked, reason_clean
from awards.services.scoring import CENT
from config import clock
from messaging.errors import MessagingError
from messaging.models import Kind

HUNDRED = Decimal("100")
MIN_OFFERS = 2
JUSTIFICATION_SUBJECT = "Demande de justification d'une offre anormalement basse"


@dataclass(frozen=True)
class LowOfferCheck:
    """What the rule says of one offer, with the figures to show."""

    key: Hashable
    flagged: bool
    threshold: Decimal  # percent
    # None when the offer has no other offer of its kind to compare with.
    others_average: Decimal | None = None
    # The amount under which the offer is flagged: threshold % of the average (to the cent).
    limit: Decimal | None = None
    others_count: int = 0


def low_offers_detect(offers: Iterable[tuple[Hashable, Decimal]], threshold: Decimal) -> dict:
    """The rule on plain values: ``offers`` are (key, judged amount) of one kind."""
    offers = list(offers)
    total = sum((amount for _key, amount in offers), Decimal(0))
    checks = {}
    for key, amount in offers:
        others = len(offers) - 1
        if len(offers) < MIN_OFFERS:
            checks[key] = LowOfferCheck(key=key, flagged=False, threshold=threshold)
            continue
        others_total = total - amount
        # amount < threshold/100 × others_total/others, compared exactly (no rounding).
        flagged = amount * HUNDRED * others < threshold * others_total
        average = others_total / others
        checks[key] = LowOfferCheck(
            key=key,
            flagged=flagged,
            threshold=threshold,
            others_average=average.quantize(CENT),
            limit=(average * threshold / HUNDRED).quantize(CENT),
            others_count=others,
        )
    return checks


def grid_low_offers(grid: EvaluationGrid) -> dict[int, LowOfferCheck]:
    """The rule applied to the grid's offers, by ``OfferAmount`` pk. A rejected offer is
    left out of the others' averages, and is itself compared with the offers still competing."""
    rows = list(grid.amounts.all())
    checks: dict[int, LowOfferCheck] = {}
    for variant in (False, True):
        kind = [row for row in rows if row.variant == variant]
        competing = [
            (row.pk, row.judged_amount) for row in kind if row.low_offer_decision != LowOfferDecision.REJECTED
        ]
        checks.update(low_offers_detect(competing, grid.low_offer_threshold))
        for row in kind:
            if row.pk not in checks:
                alone = low_offers_detect([*competing, (row.pk, row.judged_amount)], grid.low_offer_threshold)
                checks[row.pk] = alone[row.pk]
    return checks


def justification_request(*, user, amount: OfferAmount, body: str, answer_due_at: datetime | None):
    """Ask the company, through the secure messaging, to justify its offer's price by
    ``answer_due_at``; the message is kept on the offer."""
    from messaging.services.sending import message_send

    analysis_require(user=user, amount=amount)
    if answer_due_at is None:
        raise OfferError(
            _("Indiquez la date à laquelle la justification doit être remise."), field="answer_due_at"
        )
    with transaction.atomic():
        row = offer_locked(amount)
        if row.justification_request_id is not None:
            raise OfferError(_("La justification de cette offre a déjà été demandée."))
        try:
            (message,) = message_send(
                user=user,
                consultation=row.grid.consultation,
                companies=[row.deposit.company],
                kind=Kind.DOCUMENTS_REQUEST,
                subject=JUSTIFICATION_SUBJECT,
                body=body,
                answer_due_at=answer_due_at,
            )
        except MessagingError as error:
            raise OfferError(error.message, field=error.field) from None
        row.justification_request = message
        row.save(update_fields=["justification_request"])
        amount.justification_request = message
        offer_audit("awards.low_offer_justification_request", user=user, row=row, message=message.pk)
    return message


def low_offer_decide(*, user, amount: OfferAmount, decision: str, reason: str) -> OfferAmount:
    """Keep the offer, or reject it as abnormally low (only after asking its justification)."""
    analysis_require(user=user, amount=amount)
    if decision not in LowOfferDecision.values:
        raise OfferError(_("Choisissez de maintenir ou de rejeter l'offre."), field="decision")
    reason = reason_clean(reason, empty=_("Le motif de la décision sur l'offre est obligatoire."))
    with transaction.atomic():
        row = offer_locked(amount)
        if decision == LowOfferDecision.REJECTED and row.justification_request_id is None:
            raise OfferError(
                _(
                    "Une offre ne peut être rejetée comme anormalement basse qu'après avoir demandé à "
                    "l'entreprise de la justifier : envoyez d'abord la demande de justification."
                ),
                field="decision",
            )
        row.low_offer_decision = decision
        row.low_offer_reason = reason
        row.low_offer_decided_at = clock.now()
        row.low_offer_decided_by = user
        row.save(
            update_fields=[
                "low_offer_decision",
                "low_offer_reason",
                "low_offer_decided_at",
                "low_offer_decided_by",
            ]
        )
        offer_audit("awards.low_offer_decide", user=user, row=row, decision=decision)
    return row


def justification_replies(amount: OfferAmount) -> list:
    """The company's replies to the justification request, oldest first."""
    if amount.justification_request_id is None:
        return []
    return list(
        amount.justification_request.replies.order_by("sent_at", "pk").prefetch_related("attachments")
    )
