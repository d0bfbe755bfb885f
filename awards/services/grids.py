"""The agents' writes on the analysis grids: create a grid, add, change or delete its
criteria, and record an offer's amount and notes.

The scoring rules are in ``awards/services/scoring.py``; here are the permission (decide),
the moment (after the deadline and the opening of the offers, before the decision) and the
audit log. Rules chosen where the issue is silent:

- a grid is created per lot (or for the consultation without lots) once at least one offer
  for it is opened; it starts empty;
- a grid may be saved incomplete (weights not totalling 100 %): the agent builds it
  criterion by criterion, and the screen says what is missing (``grid_check``). Amounts and
  notes are refused until the grid is complete, so no offer is scored against a grid that
  later changes shape;
- two levels: criteria and sub-criteria; the price criterion is a top-level criterion
  without sub-criteria, one per grid;
- a criterion already noted cannot receive sub-criteria nor become the price criterion,
  and its scale cannot shrink below a note already given;
- an offer is scored only when its envelope is opened and its candidature is not refused;
- once the lot is decided, its grid no longer changes.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.services import event_record
from awards.models import (
    CandidatureReview,
    Criterion,
    CriterionKind,
    EvaluationGrid,
    OfferAmount,
    PriceFormula,
    Score,
)
from awards.services.admission import AdmissionError, analysis_open_require
from awards.services.scoring import ScoringError, grid_check, number_fr, offer_amount_record, score_record
from config import clock
from consultations.models import Consultation, EnvelopeKind, Lot
from consultations.services.lifecycle import consultation_mark_evaluation
from deposits.models import Deposit, DepositState, DepositStatus, Envelope

LABEL_MAX_LENGTH = 255
WEIGHT_MIN, WEIGHT_MAX = Decimal("0.01"), Decimal("100")
OFFER_KINDS = (EnvelopeKind.OFFER, EnvelopeKind.VARIANT)


class GridError(ScoringError):
    """A write on a grid is refused; ``field`` names the form field it is about, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- Moments and conditions -----------------------------------------------------------------


def _analysis_require(consultation: Consultation) -> None:
    try:
        analysis_open_require(consultation)
    except AdmissionError as error:
        raise GridError(error.message) from None


def _offer_envelopes(consultation: Consultation, lot: Lot | None):
    envelopes = Envelope.objects.filter(
        deposit__consultation=consultation,
        deposit__state=DepositState.FINALISED,
        deposit__status=DepositStatus.ON_TIME,
        kind__in=OFFER_KINDS,
    )
    return envelopes.filter(lot=lot) if lot is not None else envelopes


def offers_opened(consultation: Consultation, lot: Lot | None = None) -> bool:
    """At least one offer received on time for this lot (or the consultation) is opened."""
    return _offer_envelopes(consultation, lot).filter(opening__isnull=False).exists()


def grid_decided(grid: EvaluationGrid) -> bool:
    from awards.models import Decision

    decisions = Decision.objects.filter(consultation_id=grid.consultation_id)
    return (
        decisions.filter(lot_id=grid.lot_id).exists()
        if grid.lot_id
        else decisions.filter(lot__isnull=True).exists()
    )


def grid_editable_require(grid: EvaluationGrid) -> None:
    _analysis_require(grid.consultation)
    if grid_decided(grid):
        raise GridError(_("La décision est prise : la grille d'analyse ne peut plus être modifiée."))


def grid_problem(grid: EvaluationGrid) -> str:
    """What makes the grid unusable for scoring, in French, or ""."""
    try:
        grid_check(grid=grid)
    except ScoringError as error:
        return error.message
    return ""


# --- The grid -------------------------------------------------------------------------------


@transaction.atomic
def grid_create(*, user, consultation: Consultation, lot: Lot | None = None) -> EvaluationGrid:
    agent_require(user, AgentPermission.DECIDE, consultation)
    _analysis_require(consultation)
    has_lots = consultation.lots.exists()
    if lot is not None and lot.consultation_id != consultation.pk:
        raise GridError(_("Ce lot n'appartient pas à cette consultation."), field="lot")
    if has_lots and lot is None:
        raise GridError(_("Choisissez le lot dont la grille est à créer."), field="lot")
    if not has_lots and lot is not None:
        raise GridError(_("Cette consultation n'a pas de lots."), field="lot")
    existing = EvaluationGrid.objects.filter(consultation=consultation)
    if existing.filter(lot=lot).exists() if lot is not None else existing.filter(lot__isnull=True).exists():
        if lot is None:
            raise GridError(_("La grille d'analyse de cette consultation existe déjà."))
        raise GridError(_("La grille d'analyse du lot %(number)s existe déjà.") % {"number": lot.number})
    if not offers_opened(consultation, lot):
        if lot is None:
            raise GridError(
                _("Aucune offre n'est encore ouverte : la grille se crée après l'ouverture des offres.")
            )
        raise GridError(
            _(
                "Aucune offre du lot %(number)s n'est encore ouverte : "
                "la grille se crée après l'ouverture des offres."
            )
            % {"number": lot.number}
        )
    grid = EvaluationGrid.objects.create(
        consultation=consultation, lot=lot, created_at=clock.now(), created_by=user
    )
    event_record(
        action="awards.grid_create",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"grid": grid.pk, "lot": lot.number if lot is not None else None},
    )
    consultation_mark_evaluation(consultation=consultation, user=user)
    return grid


# --- Criteria -------------------------------------------------------------------------------


def _clean_label(label: str) -> str:
    label = (label or "").strip()
    if not label:
        raise GridError(_("Donnez un intitulé au critère."), field="label")
    if len(label) > LABEL_MAX_LENGTH:
        raise GridError(
            _("L'intitulé est limité à %(max)d caractères.") % {"max": LABEL_MAX_LENGTH}, field="label"
        )
    return label


def _clean_weight(weight) -> Decimal:
    if weight is None:
        raise GridError(_("Indiquez la pondération du critère, en %."), field="weight")
    weight = Decimal(weight)
    if not WEIGHT_MIN <= weight <= WEIGHT_MAX or weight != weight.quantize(Decimal("0.01")):
        raise GridError(
            _("La pondération doit être comprise entre 0,01 % et 100 %, au centième près."), field="weight"
        )
    return weight


def _clean_kind(kind: str, price_formula: str, scale) -> tuple[str, str, Decimal | None]:
    if kind not in CriterionKind.values:
        raise GridError(_("Choisissez la nature du critère."), field="kind")
    if kind == CriterionKind.PRICE:
        if price_formula not in PriceFormula.values:
            raise GridError(_("Choisissez la formule de notation du prix."), field="price_formula")
        # The price is computed in points from the amounts: it has no scale.
        return kind, price_formula, None
    if scale is not None:
        scale = Decimal(scale)
        if scale <= 0 or scale != scale.quantize(Decimal("0.01")) or scale >= Decimal("10000"):
            raise GridError(
                _(
                    "L'échelle de notation doit être un nombre supérieur à 0, "
                    "au centième près (exemple : 10)."
                ),
                field="scale",
            )
    return kind, "", scale


def _price_elsewhere(grid: EvaluationGrid, criterion: Criterion | None = None) -> bool:
    prices = grid.criteria.filter(kind=CriterionKind.PRICE)
    if criterion is not None:
        prices = prices.exclude(pk=criterion.pk)
    return prices.exists()


def _criterion_audit(action: str, user, criterion: Criterion, **extra) -> None:
    grid = criterion.grid
    event_record(
        action=f"awards.{action}",
        actor=user,
        target=grid.consultation,
        organisation=grid.consultation.organisation_id,
        data={
            "grid": grid.pk,
            "criterion": criterion.pk,
            "label": criterion.label,
            "weight": str(criterion.weight),
            **extra,
        },
    )


@transaction.atomic
def criterion_add(
    *,
    user,
    grid: EvaluationGrid,
    label: str,
    weight,
    kind: str = CriterionKind.OTHER,
    price_formula: str = "",
    scale=None,
    parent: Criterion | None = None,
) -> Criterion:
    """Add a criterion at the end of the grid, or a sub-criterion at the end of ``parent``."""
    agent_require(user, AgentPermission.DECIDE, grid.consultation)
    grid_editable_require(grid)
    label, weight = _clean_label(label), _clean_weight(weight)
    kind, price_formula, scale = _clean_kind(kind, price_formula, scale)
    if parent is not None:
        if parent.grid_id != grid.pk:
            raise GridError(_("Ce critère parent n'est pas dans cette grille."), field="parent")
        if parent.parent_id is not None:
            raise GridError(_("Un sous-critère ne peut pas avoir lui-même de sous-critères."), field="parent")
        if parent.kind == CriterionKind.PRICE:
            raise GridError(
                _("Le critère de prix « %(label)s » ne peut pas comporter de sous-critères.")
                % {"label": parent.label},
                field="parent",
            )
        if kind == CriterionKind.PRICE:
            raise GridError(_("Le critère de prix ne peut pas être un sous-critère."), field="kind")
        if parent.scores.exists():
            raise GridError(
                _(
                    "Le critère « %(label)s » est déjà noté : ses notes deviendraient celles de ses "
                    "sous-critères. Supprimez-le et recréez-le pour le détailler."
                )
                % {"label": parent.label},
                field="parent",
            )
    if kind == CriterionKind.PRICE and _price_elsewhere(grid):
        raise GridError(_("La grille ne peut comporter qu'un seul critère de prix."), field="kind")
    last = grid.criteria.filter(parent=parent).aggregate(last=Max("position"))["last"] or 0
    criterion = Criterion.objects.create(
        grid=grid,
        parent=parent,
        position=last + 1,
        label=label,
        weight=weight,
        kind=kind,
        price_formula=price_formula,
        scale=scale,
    )
    _criterion_audit("criterion_add", user, criterion, parent=parent.pk if parent else None)
    consultation_mark_evaluation(consultation=grid.consultation, user=user)
    return criterion


@transaction.atomic
def criterion_update(
    *,
    user,
    criterion: Criterion,
    label: str,
    weight,
    kind: str = CriterionKind.OTHER,
    price_formula: str = "",
    scale=None,
) -> Criterion:
    grid = criterion.grid
    agent_require(user, AgentPermission.DECIDE, grid.consultation)
    grid_editable_require(grid)
    label, weight = _clean_label(label), _clean_weight(weight)
    kind, price_formula, scale = _clean_kind(kind, price_formula, scale)
    if kind == CriterionKind.PRICE:
        if criterion.parent_id is not None:
            raise GridError(_("Le critère de prix ne peut pas être un sous-critère."), field="kind")
        if criterion.children.exists():
            raise GridError(
                _("Un critère qui a des sous-critères ne peut pas devenir le critère de prix."), field="kind"
            )
        if criterion.scores.exists():
            raise GridError(
                _("Ce critère est déjà noté : il ne peut pas devenir le critère de prix."), field="kind"
            )
        if _price_elsewhere(grid, criterion):
            raise GridError(_("La grille ne peut comporter qu'un seul critère de prix."), field="kind")
    else:
        highest = criterion.scores.aggregate(highest=Max("value"))["highest"]
        limit = scale if scale is not None else weight
        if highest is not None and highest > limit:
            raise GridError(
                _(
                    "Une note déjà saisie sur ce critère vaut %(note)s : l'échelle ne peut pas descendre "
                    "en dessous. Corrigez d'abord cette note."
                )
                % {"note": number_fr(highest)},
                field="scale" if scale is not None else "weight",
            )
    criterion.label, criterion.weight, criterion.kind = label, weight, kind
    criterion.price_formula, criterion.scale = price_formula, scale
    criterion.save()
    _criterion_audit("criterion_update", user, criterion)
    return criterion


@transaction.atomic
def criterion_delete(*, user, criterion: Criterion) -> None:
    """Delete a criterion with its sub-criteria and their notes."""
    grid = criterion.grid
    agent_require(user, AgentPermission.DECIDE, grid.consultation)
    grid_editable_require(grid)
    _criterion_audit("criterion_delete", user, criterion)
    criterion.delete()


# --- Offers: amounts and notes --------------------------------------------------------------


def _offer_envelope_require(grid: EvaluationGrid, deposit: Deposit, variant: bool) -> None:
    kind = EnvelopeKind.VARIANT if variant else EnvelopeKind.OFFER
    envelopes = deposit.envelopes.filter(kind=kind)
    if grid.lot_id is not None:
        envelopes = envelopes.filter(lot_id=grid.lot_id)
    envelopes = list(envelopes)
    if not envelopes:
        raise GridError(
            _("Ce pli ne contient pas de variante pour cette grille.")
            if variant
            else _("Ce pli ne contient pas d'offre pour cette grille.")
        )
    if not any(envelope.opening_id is not None for envelope in envelopes):
        raise GridError(_("Cette offre n'est pas encore ouverte : elle ne peut pas être analysée."))
    review = CandidatureReview.objects.filter(deposit=deposit).first()
    if review is not None and not review.admitted:
        raise GridError(_("La candidature de ce candidat n'est pas admise : son offre n'est pas analysée."))


@transaction.atomic
def offer_record(
    *,
    user,
    grid: EvaluationGrid,
    deposit: Deposit,
    variant: bool = False,
    amount=None,
    notes: dict | None = None,
) -> None:
    """Record an offer's amount (EUR HT) and the agents' notes, ``notes`` mapping a leaf
    criterion to ``(value, comment)``; a ``None`` value leaves that note unrecorded. All or
    nothing: the first refusal (its ``field`` is ``amount`` or ``note_<criterion id>``)
    keeps every former value."""
    agent_require(user, AgentPermission.DECIDE, grid.consultation)
    grid_editable_require(grid)
    problem = grid_problem(grid)
    if problem:
        raise GridError(
            _("%(problem)s Complétez la grille avant de saisir les montants et les notes.")
            % {"problem": problem}
        )
    if deposit.consultation_id != grid.consultation_id:
        raise GridError(_("Ce pli n'est pas une réponse à cette consultation."))
    _offer_envelope_require(grid, deposit, variant)
    has_price = grid.criteria.filter(kind=CriterionKind.PRICE).exists()
    current = OfferAmount.objects.filter(grid=grid, deposit=deposit, variant=variant).first()
    if amount is None and has_price:
        raise GridError(_("Saisissez le montant de l'offre, en euros hors taxes."), field="amount")
    if amount is not None and (current is None or current.amount != Decimal(amount)):
        try:
            offer_amount_record(
                grid=grid, deposit=deposit, amount=Decimal(amount), user=user, variant=variant
            )
        except ScoringError as error:
            raise GridError(error.message, field="amount") from None
    scores = {
        score.criterion_id: score
        for score in Score.objects.filter(criterion__grid=grid, deposit=deposit, variant=variant)
    }
    for criterion, (value, comment) in (notes or {}).items():
        if criterion.grid_id != grid.pk:
            raise GridError(_("Ce critère n'est pas dans cette grille."))
        if value is None:
            continue
        comment = (comment or "").strip()
        former = scores.get(criterion.pk)
        if former is not None and former.value == Decimal(value) and former.comment == comment:
            continue
        try:
            score_record(
                criterion=criterion,
                deposit=deposit,
                value=Decimal(value),
                comment=comment,
                user=user,
                variant=variant,
            )
        except ScoringError as error:
            raise GridError(error.message, field=f"note_{criterion.pk}") from None
    consultation_mark_evaluation(consultation=grid.consultation, user=user)


# --- What the screens read ------------------------------------------------------------------


def grid_offer_rows(grid: EvaluationGrid) -> list[dict]:
    """Each offer of the grid: every deposit received on time with an offer (and a variant)
    envelope for the grid's lot, with its opening, its admission, its amount and notes."""
    envelopes = (
        _offer_envelopes(grid.consultation, grid.lot)
        .select_related("deposit__company")
        .order_by("deposit__received_at", "deposit_id", "kind")
    )
    reviews = {
        review.deposit_id: review
        for review in CandidatureReview.objects.filter(deposit__consultation_id=grid.consultation_id)
    }
    amounts = {(row.deposit_id, row.variant): row for row in grid.amounts.all()}
    scores: dict[tuple[int, bool], dict[int, Score]] = {}
    for score in Score.objects.filter(criterion__grid=grid):
        scores.setdefault((score.deposit_id, score.variant), {})[score.criterion_id] = score
    rows: dict[tuple[int, bool], dict] = {}
    for envelope in envelopes:
        key = (envelope.deposit_id, envelope.kind == EnvelopeKind.VARIANT)
        row = rows.setdefault(
            key,
            {
                "deposit": envelope.deposit,
                "variant": key[1],
                "opened": False,
                "review": reviews.get(envelope.deposit_id),
                "amount": amounts.get(key),
                "scores": scores.get(key, {}),
            },
        )
        row["opened"] = row["opened"] or envelope.opening_id is not None
    result = list(rows.values())
    for row in result:
        review = row["review"]
        row["refused"] = review is not None and not review.admitted
        row["analysable"] = row["opened"] and not row["refused"]
    return result
