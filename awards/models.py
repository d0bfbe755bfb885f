"""Analysis of the offers (« analyse des offres »): the grid, its criteria and the scores.

A grid belongs to a consultation, or to one of its lots. Its criteria carry a weight in
percent (« pondération »); sub-criteria share their parent's weight. The price criterion is
scored by a formula from the offers' amounts (EUR HT); the others are scored by the agents,
with a comment. The rules (weights, scales, formulas, ranking) live in
``awards/services/scoring.py``; see docs/design.md « Evaluation ».
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CriterionKind(models.TextChoices):
    PRICE = "price", _("Prix (calculé par une formule)")
    OTHER = "other", _("Autre (noté par les agents)")


class PriceFormula(models.TextChoices):
    # weight × lowest / offer: the règlement's formula (seed 003, article 6).
    PROPORTIONAL = "proportional", _("Proportionnelle : pondération × prix le plus bas / prix de l'offre")
    # weight × (1 − (offer − lowest) / lowest), never below 0: an offer twice the lowest gets 0.
    LINEAR_GAP = (
        "linear_gap",
        _(
            "Écart linéaire : pondération × (1 − (prix de l'offre − prix le plus bas) / prix le plus bas), "
            "au minimum 0"
        ),
    )


class EvaluationGrid(models.Model):
    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="evaluation_grids",
        verbose_name=_("consultation"),
    )
    lot = models.ForeignKey(
        "consultations.Lot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evaluation_grids",
        verbose_name=_("lot"),
    )
    created_at = models.DateTimeField(_("créée le"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("créée par"),
    )

    class Meta:
        verbose_name = _("grille d'analyse")
        verbose_name_plural = _("grilles d'analyse")
        ordering = ["consultation_id", "lot__number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation"], condition=Q(lot__isnull=True), name="grid_unique_without_lot"
            ),
            models.UniqueConstraint(
                fields=["lot"], condition=Q(lot__isnull=False), name="grid_unique_per_lot"
            ),
        ]

    def __str__(self) -> str:
        if self.lot_id:
            return f"{self.consultation.reference} — lot {self.lot.number}"
        return self.consultation.reference


class Criterion(models.Model):
    grid = models.ForeignKey(
        EvaluationGrid, on_delete=models.CASCADE, related_name="criteria", verbose_name=_("grille")
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("critère parent"),
    )
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    label = models.CharField(_("intitulé"), max_length=255)
    weight = models.DecimalField(
        _("pondération (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    kind = models.CharField(
        _("nature"), max_length=8, choices=CriterionKind.choices, default=CriterionKind.OTHER
    )
    price_formula = models.CharField(
        _("formule de notation du prix"), max_length=16, choices=PriceFormula.choices, blank=True
    )
    # The agents' notes are « sur » this scale and converted to points (weight × note / scale);
    # empty: the note is already in points, from 0 to the weight.
    scale = models.DecimalField(
        _("noté sur"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )

    class Meta:
        verbose_name = _("critère")
        verbose_name_plural = _("critères")
        ordering = ["grid_id", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.label} ({self.weight} %)"


class OfferAmount(models.Model):
    """The amount an offer is judged on (EUR HT): as submitted, or as corrected."""

    grid = models.ForeignKey(
        EvaluationGrid, on_delete=models.CASCADE, related_name="amounts", verbose_name=_("grille")
    )
    deposit = models.ForeignKey(
        "deposits.Deposit", on_delete=models.PROTECT, related_name="+", verbose_name=_("pli")
    )
    # The règlement judges the base offer and the variant separately (seed 003, 3-7-1).
    variant = models.BooleanField(_("offre variante"), default=False)
    amount = models.DecimalField(_("montant de l'offre (EUR HT)"), max_digits=14, decimal_places=2)
    corrected_amount = models.DecimalField(
        _("montant rectifié (EUR HT)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    correction_reason = models.TextField(_("motif de la rectification"), blank=True)

    class Meta:
        verbose_name = _("montant d'offre")
        verbose_name_plural = _("montants d'offre")
        constraints = [
            models.UniqueConstraint(fields=["grid", "deposit", "variant"], name="offer_amount_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.deposit} : {self.judged_amount} € HT"

    @property
    def judged_amount(self) -> Decimal:
        return self.corrected_amount if self.corrected_amount is not None else self.amount


class Score(models.Model):
    """An agent's note for one offer on one criterion (a leaf of the grid, not the price)."""

    criterion = models.ForeignKey(
        Criterion, on_delete=models.CASCADE, related_name="scores", verbose_name=_("critère")
    )
    deposit = models.ForeignKey(
        "deposits.Deposit", on_delete=models.PROTECT, related_name="+", verbose_name=_("pli")
    )
    variant = models.BooleanField(_("offre variante"), default=False)
    value = models.DecimalField(_("note"), max_digits=7, decimal_places=2)
    comment = models.TextField(_("commentaire"), blank=True)
    scored_at = models.DateTimeField(_("notée le"))
    scored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("notée par"),
    )

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["criterion_id", "deposit_id", "variant"]
        constraints = [
            models.UniqueConstraint(fields=["criterion", "deposit", "variant"], name="score_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion.label} : {self.value}"
