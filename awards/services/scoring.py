"""Scoring of the offers: weights, notes, price formulas, totals and ranking.

The engine works on plain values (``CriterionSpec``, ``OfferInput``) so that the rules can be
read and tested without a database; ``grid_*``, ``score_record`` and ``offer_amount_record``
at the end load and write the models through it.

Rules (the règlement of seed 003, article 6):

- weights are percentages; the criteria of the grid total exactly 100 %, and the
  sub-criteria of a criterion total exactly its weight (8 + 7 + 3 + 2 = 20 for the
  technical value), at every level;
- the price criterion gives points by a formula of the offers' amounts (EUR HT, corrected
  amount when one was recorded): ``proportional`` is the règlement's « pondération × montant
  moins-disant / montant de l'offre jugée »; ``linear_gap`` is « pondération × (1 − (montant de
  l'offre − montant moins-disant) / montant moins-disant) », never below 0 (an offer at twice
  the lowest price or more gets 0);
- the other criteria are noted by the agents, on the criterion's scale: from 0 to its weight
  (points), or from 0 to ``scale`` when one is set, converted to weight × note / scale;
- ranking by decreasing total; « en cas d'égalité de point, le candidat le mieux classé sur le
  critère ayant la pondération la plus forte sera privilégié »: equal totals are separated by
  the points on the top-level criterion with the highest weight, then the next highest, and
  so on (equal weights in the grid's order); offers equal on all of them share their rank.

Rounding: the règlement states none and ranks on « points ». The exact quotient is computed
in Decimal (28 significant digits), then the points of each noted or computed criterion (each
leaf of the grid) are rounded once to the hundredth, half up (0,005 → 0,01). A parent's
points and the total are the sums of these rounded points, so the analysis report adds up as
printed, and ties are judged on them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from awards.models import (
    CandidatureReview,
    Criterion,
    CriterionKind,
    EvaluationGrid,
    LowOfferDecision,
    OfferAmount,
    PriceFormula,
    Score,
)

HUNDRED = Decimal("100")
CENT = Decimal("0.01")


class ScoringError(Exception):
    """A scoring rule refused the grid, a note or an amount; the message is French, shown as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CriterionSpec:
    key: Hashable
    label: str
    weight: Decimal
    kind: str = CriterionKind.OTHER
    price_formula: str = ""
    scale: Decimal | None = None
    children: tuple[CriterionSpec, ...] = ()

    @property
    def is_price(self) -> bool:
        return self.kind == CriterionKind.PRICE


@dataclass(frozen=True)
class OfferInput:
    key: Hashable
    label: str
    amount: Decimal | None = None
    # Agents' notes by leaf criterion key, on each criterion's scale.
    notes: Mapping[Hashable, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class OfferResult:
    key: Hashable
    label: str
    # Points by criterion key, for every level of the grid.
    points: Mapping[Hashable, Decimal]
    total: Decimal


@dataclass(frozen=True)
class RankedOffer:
    rank: int
    result: OfferResult
    # When this offer has the same total as the one ranked just before it: the label of the
    # criterion that separated them, or "" when nothing did (same rank).
    decided_by: str = ""


def number_fr(value: Decimal) -> str:
    """« 19,5 » for Decimal("19.50"), « 100 » for Decimal("100.00")."""
    text = format(Decimal(value).normalize(), "f")
    return text.replace(".", ",")


def points_round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def criteria_walk(criteria: Iterable[CriterionSpec]) -> Iterable[CriterionSpec]:
    for criterion in criteria:
        yield criterion
        yield from criteria_walk(criterion.children)


def criteria_leaves(criteria: Iterable[CriterionSpec]) -> list[CriterionSpec]:
    return [criterion for criterion in criteria_walk(criteria) if not criterion.children]


def weights_check(criteria: Sequence[CriterionSpec]) -> None:
    """Refuse a grid whose weights do not total 100 %, level by level, or whose price
    criterion cannot be computed."""
    if not criteria:
        raise ScoringError(_("La grille ne comporte aucun critère."))
    for criterion in criteria_walk(criteria):
        if criterion.weight <= 0:
            raise ScoringError(
                _("La pondération du critère « %(label)s » doit être supérieure à 0 %%.")
                % {"label": criterion.label}
            )
        if criterion.scale is not None and criterion.scale <= 0:
            raise ScoringError(
                _("L'échelle de notation du critère « %(label)s » doit être supérieure à 0.")
                % {"label": criterion.label}
            )
    total = sum((criterion.weight for criterion in criteria), Decimal(0))
    if total != HUNDRED:
        raise ScoringError(
            _("Les pondérations des critères totalisent %(total)s %% au lieu de 100 %%.")
            % {"total": number_fr(total)}
        )
    for criterion in criteria_walk(criteria):
        if not criterion.children:
            continue
        subtotal = sum((child.weight for child in criterion.children), Decimal(0))
        if subtotal != criterion.weight:
            raise ScoringError(
                _(
                    "Les sous-critères de « %(label)s » totalisent %(total)s %% au lieu de %(weight)s %%, "
                    "la pondération de ce critère."
                )
                % {
                    "label": criterion.label,
                    "total": number_fr(subtotal),
                    "weight": number_fr(criterion.weight),
                }
            )
    prices = [criterion for criterion in criteria_walk(criteria) if criterion.is_price]
    if len(prices) > 1:
        raise ScoringError(_("La grille ne peut comporter qu'un seul critère de prix."))
    for price in prices:
        if price.children:
            raise ScoringError(
                _("Le critère de prix « %(label)s » ne peut pas comporter de sous-critères.")
                % {"label": price.label}
            )
        if price.price_formula not in PriceFormula.values:
            raise ScoringError(
                _("Choisissez la formule de notation du critère de prix « %(label)s ».")
                % {"label": price.label}
            )


def note_check(criterion: CriterionSpec, note: Decimal) -> None:
    """Refuse a note outside the criterion's scale (0 to its weight, or 0 to ``scale``)."""
    scale = criterion.scale if criterion.scale is not None else criterion.weight
    if note < 0 or note > scale:
        raise ScoringError(
            _(
                "La note %(note)s sur le critère « %(label)s » sort de son échelle : "
                "elle doit être comprise entre 0 et %(scale)s."
            )
            % {"note": number_fr(note), "label": criterion.label, "scale": number_fr(scale)}
        )


def note_points(criterion: CriterionSpec, note: Decimal) -> Decimal:
    note_check(criterion, note)
    if criterion.scale is None:
        return points_round(note)
    return points_round(criterion.weight * note / criterion.scale)


def price_points(*, weight: Decimal, formula: str, lowest: Decimal, amount: Decimal) -> Decimal:
    """The points of an offer on the price criterion, rounded to the hundredth (half up)."""
    if lowest <= 0 or amount <= 0:
        raise ScoringError(_("Le montant d'une offre doit être supérieur à 0 € HT."))
    if formula == PriceFormula.PROPORTIONAL:
        return points_round(weight * lowest / amount)
    if formula == PriceFormula.LINEAR_GAP:
        return points_round(max(Decimal(0), weight * (1 - (amount - lowest) / lowest)))
    raise ScoringError(_("Formule de notation du prix inconnue : « %(formula)s ».") % {"formula": formula})


def offers_score(criteria: Sequence[CriterionSpec], offers: Sequence[OfferInput]) -> list[OfferResult]:
    """Every offer's points on every criterion and its total, after checking the grid."""
    weights_check(criteria)
    price = next((criterion for criterion in criteria_walk(criteria) if criterion.is_price), None)
    lowest = None
    if price is not None and offers:
        for offer in offers:
            if offer.amount is None:
                raise ScoringError(
                    _("Le montant de l'offre de %(offer)s n'est pas saisi.") % {"offer": offer.label}
                )
            if offer.amount <= 0:
                raise ScoringError(
                    _("Le montant de l'offre de %(offer)s doit être supérieur à 0 € HT.")
                    % {"offer": offer.label}
                )
        lowest = min(offer.amount for offer in offers)
    results = []
    for offer in offers:
        points: dict[Hashable, Decimal] = {}
        for leaf in criteria_leaves(criteria):
            if leaf.is_price:
                points[leaf.key] = price_points(
                    weight=leaf.weight, formula=leaf.price_formula, lowest=lowest, amount=offer.amount
                )
                continue
            note = offer.notes.get(leaf.key)
            if note is None:
                raise ScoringError(
                    _("L'offre de %(offer)s n'est pas notée sur le critère « %(label)s ».")
                    % {"offer": offer.label, "label": leaf.label}
                )
            points[leaf.key] = note_points(leaf, Decimal(note))

        def parent_points(criterion: CriterionSpec, points=points) -> Decimal:
            if criterion.children:
                points[criterion.key] = sum(
                    (parent_points(child) for child in criterion.children), Decimal(0)
                )
            return points[criterion.key]

        total = sum((parent_points(criterion) for criterion in criteria), Decimal(0))
        results.append(OfferResult(key=offer.key, label=offer.label, points=points, total=total))
    return results


def tie_order(criteria: Sequence[CriterionSpec]) -> list[CriterionSpec]:
    """The top-level criteria by decreasing weight (the grid's order among equal weights)."""
    return sorted(criteria, key=lambda criterion: -criterion.weight)


def offers_rank(criteria: Sequence[CriterionSpec], results: Sequence[OfferResult]) -> list[RankedOffer]:
    """Rank by decreasing total, ties separated by the règlement's rule (module docstring)."""
    order = tie_order(criteria)

    def sort_key(result: OfferResult) -> tuple[Decimal, ...]:
        return (result.total, *(result.points[criterion.key] for criterion in order))

    ordered = sorted(results, key=sort_key, reverse=True)
    ranked: list[RankedOffer] = []
    for position, result in enumerate(ordered, start=1):
        if not ranked:
            ranked.append(RankedOffer(rank=1, result=result))
            continue
        previous = ranked[-1]
        if result.total != previous.result.total:
            ranked.append(RankedOffer(rank=position, result=result))
            continue
        decider = next(
            (
                criterion
                for criterion in order
                if result.points[criterion.key] != previous.result.points[criterion.key]
            ),
            None,
        )
        if decider is None:
            ranked.append(RankedOffer(rank=previous.rank, result=result))
        else:
            ranked.append(RankedOffer(rank=position, result=result, decided_by=decider.label))
    return ranked


# --- The models, through the engine -------------------------------------------------------


def grid_criteria(grid: EvaluationGrid) -> tuple[CriterionSpec, ...]:
    rows = list(grid.criteria.order_by("position", "pk"))

    def build(parent_id) -> tuple[CriterionSpec, ...]:
        return tuple(
            CriterionSpec(
                key=row.pk,
                label=row.label,
                weight=row.weight,
                kind=row.kind,
                price_formula=row.price_formula,
                scale=row.scale,
                children=build(row.pk),
            )
            for row in rows
            if row.parent_id == parent_id
        )

    return build(None)


def grid_check(*, grid: EvaluationGrid) -> None:
    weights_check(grid_criteria(grid))


def offer_label(deposit, variant: bool = False) -> str:
    name = deposit.company.name
    return _("%(company)s (variante)") % {"company": name} if variant else name


def _offer_require(grid: EvaluationGrid, deposit) -> None:
    """Only a deposit received on time for this consultation (and this lot) is analysed."""
    from deposits.models import DepositState, DepositStatus

    if (
        deposit.consultation_id != grid.consultation_id
        or deposit.state != DepositState.FINALISED
        or deposit.status != DepositStatus.ON_TIME
    ):
        raise ScoringError(
            _(
                "Ce pli n'a pas été remis dans les délais pour cette consultation : "
                "son offre ne peut pas être analysée."
            )
        )
    if grid.lot_id is not None and not deposit.envelopes.filter(lot_id=grid.lot_id).exists():
        raise ScoringError(
            _("Ce pli ne contient pas d'offre pour le lot %(number)s.") % {"number": grid.lot.number}
        )


def score_record(
    *,
    criterion: Criterion,
    deposit,
    value: Decimal,
    comment: str = "",
    user=None,
    variant: bool = False,
) -> Score:
    """An agent's note for one offer on one criterion, with its comment (replaces the former one)."""
    from audit.services import event_record
    from config import clock

    grid = criterion.grid
    if criterion.kind == CriterionKind.PRICE:
        raise ScoringError(
            _("Le critère de prix se calcule à partir des montants des offres : il ne se note pas.")
        )
    if criterion.children.exists():
        raise ScoringError(
            _("Notez les sous-critères de « %(label)s » : sa note est leur somme.")
            % {"label": criterion.label}
        )
    _offer_require(grid, deposit)
    note_check(
        CriterionSpec(
            key=criterion.pk, label=criterion.label, weight=criterion.weight, scale=criterion.scale
        ),
        Decimal(value),
    )
    with transaction.atomic():
        score, _created = Score.objects.update_or_create(
            criterion=criterion,
            deposit=deposit,
            variant=variant,
            defaults={"value": value, "comment": comment, "scored_by": user, "scored_at": clock.now()},
        )
        event_record(
            action="awards.score_record",
            actor=user,
            target=deposit,
            organisation=grid.consultation.organisation,
            data={"grid": grid.pk, "criterion": criterion.pk, "variant": variant},
        )
    return score


def offer_amount_record(*, grid: EvaluationGrid, deposit, amount: Decimal, user=None, variant: bool = False):
    """The amount (EUR HT) an offer is judged on, as read in its detail estimatif."""
    from audit.services import event_record

    if amount is None or Decimal(amount) <= 0:
        raise ScoringError(_("Le montant de l'offre doit être supérieur à 0 € HT."))
    _offer_require(grid, deposit)
    with transaction.atomic():
        row, _created = OfferAmount.objects.update_or_create(
            grid=grid, deposit=deposit, variant=variant, defaults={"amount": amount}
        )
        # The amount is bid content: it stays out of the audit log.
        event_record(
            action="awards.offer_amount_record",
            actor=user,
            target=deposit,
            organisation=grid.consultation.organisation,
            data={"grid": grid.pk, "variant": variant},
        )
    return row


def grid_results(*, grid: EvaluationGrid) -> list[RankedOffer]:
    """The ranked results of every offer that has an amount or a note in this grid.

    Offer keys are ``(deposit_id, variant)`` pairs. An offer rejected as abnormally low
    (awards/services/low_offers.py), or whose candidature was refused after it was noted
    (awards/services/admission.py), is neither ranked nor counted for the lowest price.
    """
    criteria = grid_criteria(grid)
    offers: dict[tuple[int, bool], dict] = {}
    rejected = set()
    refused = set(
        CandidatureReview.objects.filter(
            deposit__consultation_id=grid.consultation_id, admitted=False
        ).values_list("deposit_id", flat=True)
    )
    for row in grid.amounts.select_related("deposit__company"):
        if row.low_offer_decision == LowOfferDecision.REJECTED or row.deposit_id in refused:
            rejected.add((row.deposit_id, row.variant))
            continue
        entry = offers.setdefault((row.deposit_id, row.variant), {"deposit": row.deposit, "notes": {}})
        entry["amount"] = row.judged_amount
    for score in Score.objects.filter(criterion__grid=grid).select_related("deposit__company"):
        if (score.deposit_id, score.variant) in rejected or score.deposit_id in refused:
            continue
        entry = offers.setdefault((score.deposit_id, score.variant), {"deposit": score.deposit, "notes": {}})
        entry["notes"][score.criterion_id] = score.value
    inputs = [
        OfferInput(
            key=key,
            label=offer_label(entry["deposit"], key[1]),
            amount=entry.get("amount"),
            notes=entry["notes"],
        )
        for key, entry in sorted(offers.items())
    ]
    return offers_rank(criteria, offers_score(criteria, inputs))
