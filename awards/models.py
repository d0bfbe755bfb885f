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


class LowOfferDecision(models.TextChoices):
    KEPT = "kept", _("Offre maintenue")
    REJECTED = "rejected", _("Offre rejetée")


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
    # The rule for abnormally low offers (« offres anormalement basses »): an offer whose
    # judged amount is below this percentage of the average of the grid's other offers
    # is flagged (awards/services/low_offers.py).
    low_offer_threshold = models.DecimalField(
        _("seuil de détection des offres anormalement basses (% de la moyenne des autres offres)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("80"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("100"))],
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
    corrected_at = models.DateTimeField(_("rectifié le"), null=True, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rectifié par"),
    )
    # Abnormally low offer: the justification asked through the messaging, then the
    # agent's decision. A rejected offer is not ranked.
    justification_request = models.ForeignKey(
        "messaging.Message",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("demande de justification"),
    )
    low_offer_decision = models.CharField(
        _("décision sur l'offre anormalement basse"),
        max_length=8,
        choices=LowOfferDecision.choices,
        blank=True,
    )
    low_offer_reason = models.TextField(_("motif de la décision"), blank=True)
    low_offer_decided_at = models.DateTimeField(_("décidé le"), null=True, blank=True)
    low_offer_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("décidé par"),
    )

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


class CandidatureReview(models.Model):
    """The admission of a candidature (« analyse des candidatures »): the three capacities,
    and the reason when the candidature is refused."""

    deposit = models.OneToOneField(
        "deposits.Deposit", on_delete=models.PROTECT, related_name="candidature_review", verbose_name=_("pli")
    )
    professional_ok = models.BooleanField(_("capacités professionnelles suffisantes"), default=True)
    technical_ok = models.BooleanField(_("capacités techniques suffisantes"), default=True)
    financial_ok = models.BooleanField(_("capacités financières suffisantes"), default=True)
    admitted = models.BooleanField(_("candidature admise"))
    reason = models.TextField(_("motif"), blank=True)
    reviewed_at = models.DateTimeField(_("examinée le"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("examinée par")
    )

    class Meta:
        verbose_name = _("examen de candidature")
        verbose_name_plural = _("examens de candidatures")
        ordering = ["deposit_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(admitted=True) | ~Q(reason=""), name="candidature_refusal_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deposit} : {'admise' if self.admitted else 'non admise'}"


class Outcome(models.TextChoices):
    AWARDED = "awarded", _("Attribué")
    UNSUCCESSFUL = "unsuccessful", _("Infructueux")
    CANCELLED = "cancelled", _("Sans suite")


class Decision(models.Model):
    """The decision on a lot (or on a consultation without lots): awarded, unsuccessful or
    « sans suite »; then the letters, the standstill, the signature and the notification.
    Rules in ``awards/services/decisions.py``."""

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="decisions",
        verbose_name=_("consultation"),
    )
    lot = models.ForeignKey(
        "consultations.Lot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="decisions",
        verbose_name=_("lot"),
    )
    outcome = models.CharField(_("décision"), max_length=16, choices=Outcome.choices)
    # Awarded: the winning deposit (a company or a consortium), its offer (base or variant),
    # the amount and the duration.
    deposit = models.ForeignKey(
        "deposits.Deposit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("attributaire"),
    )
    variant = models.BooleanField(_("offre variante"), default=False)
    amount = models.DecimalField(
        _("montant (EUR HT)"), max_digits=15, decimal_places=2, null=True, blank=True
    )
    duration_months = models.PositiveSmallIntegerField(_("durée (mois)"), null=True, blank=True)
    reason = models.TextField(_("motif"), blank=True)
    decided_at = models.DateTimeField(_("décidé le"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("décidé par")
    )
    # Letters: rejection letters to the others, award letter to the winner.
    letters_sent_at = models.DateTimeField(_("lettres envoyées le"), null=True, blank=True)
    # False when the rejection letters went on paper: the standstill is then 16 days.
    letters_electronic = models.BooleanField(_("lettres envoyées par voie électronique"), default=True)
    standstill_required = models.BooleanField(_("délai de suspension applicable"), default=False)
    # « jours francs » the winner has to send its certificates of fiscal and social regularity.
    certificates_days = models.PositiveSmallIntegerField(
        _("délai de production des attestations (jours francs)"), default=7
    )
    # The contract signed by both sides (issue « signatures »), then notified.
    signed_at = models.DateTimeField(_("marché signé le"), null=True, blank=True)
    notification = models.ForeignKey(
        "messaging.Message",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("notification"),
    )

    class Meta:
        verbose_name = _("décision")
        verbose_name_plural = _("décisions")
        ordering = ["consultation_id", "lot__number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation"], condition=Q(lot__isnull=True), name="decision_unique_without_lot"
            ),
            models.UniqueConstraint(
                fields=["lot"], condition=Q(lot__isnull=False), name="decision_unique_per_lot"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="awarded")
                | (Q(deposit__isnull=False) & Q(amount__isnull=False) & Q(duration_months__isnull=False)),
                name="decision_award_has_winner",
            ),
            models.CheckConstraint(
                condition=Q(outcome="awarded") | (Q(deposit__isnull=True) & ~Q(reason="")),
                name="decision_other_has_reason",
            ),
        ]

    def __str__(self) -> str:
        where = f"lot {self.lot.number}" if self.lot_id else self.consultation.reference
        return f"{where} : {self.get_outcome_display()}"


class EssentialData(models.Model):
    """The « données essentielles » (DECP) of an awarded contract: the agent's complements,
    and the record as published (valid against the official schema v2.0.3)."""

    decision = models.OneToOneField(
        Decision, on_delete=models.PROTECT, related_name="essential_data", verbose_name=_("décision")
    )
    # What the consultation and the decision do not say (CCAG, form of prices, techniques…),
    # keyed by the DECP field names; see awards/decp.py.
    complements = models.JSONField(_("compléments"), default=dict, blank=True)
    # The record as published, then never changed: modifications are published beside it.
    record = models.JSONField(_("données publiées"), null=True, blank=True, editable=False)
    published_at = models.DateTimeField(_("publiées le"), null=True, blank=True)

    class Meta:
        verbose_name = _("données essentielles")
        verbose_name_plural = _("données essentielles")
        ordering = ["decision_id"]

    def __str__(self) -> str:
        return f"DECP {self.decision}"


class ContractModification(models.Model):
    """A modification of an awarded contract (« modification de marché »), published with
    its essential data."""

    essential_data = models.ForeignKey(
        EssentialData,
        on_delete=models.PROTECT,
        related_name="modifications",
        verbose_name=_("données essentielles"),
    )
    number = models.PositiveSmallIntegerField(_("numéro"))
    object = models.TextField(_("objet de la modification"), blank=True)
    amount = models.DecimalField(
        _("nouveau montant (EUR HT)"), max_digits=15, decimal_places=2, null=True, blank=True
    )
    duration_months = models.PositiveSmallIntegerField(_("nouvelle durée (mois)"), null=True, blank=True)
    # SIRET of the contract holders after the modification, when they change.
    holders = models.JSONField(_("titulaires"), default=list, blank=True)
    # The day the modification was notified to the holder (« dateNotificationModification »).
    notified_on = models.DateField(_("notifiée le"))
    published_at = models.DateTimeField(_("publiée le"))

    class Meta:
        verbose_name = _("modification de marché")
        verbose_name_plural = _("modifications de marché")
        ordering = ["essential_data_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["essential_data", "number"], name="modification_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.essential_data} — modification {self.number}"
