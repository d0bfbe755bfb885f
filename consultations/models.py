"""Consultations, their lots, DCE versions, amendments, downloads and questions.

Rules live in ``services.py``; reads in ``selectors.py``. What sits here belongs to
one row: its choices, its computed dates, its upcoming timed events.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consultations.validators import validate_cpv


class State(models.TextChoices):
    DRAFT = "draft", _("Brouillon")
    PENDING_VALIDATION = "pending_validation", _("En attente de validation")
    SCHEDULED = "scheduled", _("Mise en ligne programmée")
    ONLINE = "online", _("En ligne")
    CLOSED = "closed", _("Clôturée")
    OPENED = "opened", _("Plis ouverts")
    EVALUATION = "evaluation", _("En analyse")
    DECIDED = "decided", _("Décidée")
    ARCHIVED = "archived", _("Archivée")
    CANCELLED = "cancelled", _("Sans suite")


class ContractType(models.TextChoices):
    CONTRACT = "contract", _("Marché")
    FRAMEWORK = "framework", _("Accord-cadre")
    SUBSEQUENT = "subsequent", _("Marché subséquent")
    PARTNERSHIP = "partnership", _("Marché de partenariat")
    DEFENCE = "defence", _("Marché de défense ou de sécurité")
    CONCESSION = "concession", _("Concession")


class ProcedureType(models.TextChoices):
    ADAPTED_UNDER_40K = "adapted_lt_40k", _("Procédure adaptée < 40 k EUR HT")
    ADAPTED_40K_90K = "adapted_40k_90k", _("Procédure adaptée de 40 k à 90 k EUR HT")
    ADAPTED_OVER_90K = "adapted_gte_90k", _("Procédure adaptée ≥ 90 k EUR HT")
    OPEN_TENDER = "open_tender", _("Appel d'offres ouvert")
    RESTRICTED_TENDER = "restricted_tender", _("Appel d'offres restreint")
    NEGOTIATED = "negotiated", _("Procédure avec négociation")
    COMPETITIVE_DIALOGUE = "competitive_dialogue", _("Dialogue compétitif")
    DESIGN_CONTEST = "design_contest", _("Concours")
    WITHOUT_PUBLICITY = (
        "without_publicity",
        _("Marché négocié sans publicité ni mise en concurrence préalable"),
    )


class Category(models.TextChoices):
    WORKS = "works", _("Travaux")
    SUPPLIES = "supplies", _("Fournitures")
    SERVICES = "services", _("Services")


class Access(models.TextChoices):
    PUBLIC = "public", _("Phase d'accès public")
    RESTRICTED = "restricted", _("Phase d'accès restreint")


class PublicationRule(models.TextChoices):
    ON_VALIDATION = "on_validation", _("Date de validation")
    CHOSEN_DATE = "chosen_date", _("Date choisie")


class ElectronicResponse(models.TextChoices):
    FORBIDDEN = "forbidden", _("Interdite")
    ALLOWED = "allowed", _("Autorisée")
    MANDATORY = "mandatory", _("Obligatoire")


class SignatureRule(models.TextChoices):
    NOT_REQUIRED = "not_required", _("Non requise")
    REQUIRED = "required", _("Requise")
    ALLOWED = "allowed", _("Autorisée")


class OpeningMode(models.TextChoices):
    BY_ENVELOPE = "by_envelope", _("Par dossier (candidatures d'abord)")
    BY_RESPONSE = "by_response", _("Par réponse entière")


class EnvelopeKind(models.TextChoices):
    CANDIDATURE = "candidature", _("Enveloppe de candidature")
    OFFER = "offer", _("Enveloppe d'offre")
    VARIANT = "variant", _("Enveloppe de variante")


class SuiteKind(models.TextChoices):
    """Why a suite was created from its initial consultation (seed 000, « situations »)."""

    UNSUCCESSFUL = "unsuccessful", _("Consultation entièrement infructueuse : tous les lots sont relancés")
    PARTIALLY_UNSUCCESSFUL = (
        "partially_unsuccessful",
        _("Consultation partiellement infructueuse : seuls les lots infructueux choisis sont relancés"),
    )
    NEGOTIATION = "negotiation", _("Phase de négociation avec les candidats retenus")


class ConsultationQuerySet(models.QuerySet):
    def online(self):
        return self.filter(state=State.ONLINE)

    def of_organisation(self, organisation_id: int):
        return self.filter(organisation_id=organisation_id)


class Consultation(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="consultations"
    )
    service = models.ForeignKey(
        "accounts.Service", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("service")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("créée par")
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)
    # A suite keeps its initial consultation for ever.
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="suites",
        verbose_name=_("initiale"),
    )
    suite_kind = models.CharField(
        _("nature de la suite"), max_length=24, choices=SuiteKind.choices, blank=True
    )
    # A negotiation phase is open to the candidates the agent selected, and to them only.
    invited_companies = models.ManyToManyField(
        "accounts.Company", blank=True, related_name="invitations", verbose_name=_("candidats invités")
    )
    state = models.CharField(
        _("état"), max_length=24, choices=State.choices, default=State.DRAFT, db_index=True
    )

    # Identification
    contract_type = models.CharField(_("type de contrat"), max_length=24, choices=ContractType.choices)
    procedure_type = models.CharField(_("type de procédure"), max_length=32, choices=ProcedureType.choices)
    identification_locked = models.BooleanField(
        _("type de contrat et de procédure verrouillés"), default=False, editable=False
    )
    category = models.CharField(_("catégorie principale"), max_length=16, choices=Category.choices)
    reference = models.CharField(_("référence"), max_length=64)
    title = models.CharField(_("intitulé"), max_length=255)
    object = models.TextField(_("objet"))
    estimated_value = models.DecimalField(
        _("valeur estimée (EUR HT)"), max_digits=15, decimal_places=2, null=True, blank=True
    )
    cpv_code = models.CharField(_("code CPV principal"), max_length=10, blank=True, validators=[validate_cpv])
    cpv_additional = models.JSONField(_("codes CPV complémentaires"), default=list, blank=True)
    place_of_execution = models.CharField(_("lieu d'exécution"), max_length=255, blank=True)
    variants_allowed = models.BooleanField(_("variantes autorisées"), default=False)

    # Documents and access
    access = models.CharField(_("accès au DCE"), max_length=16, choices=Access.choices, default=Access.PUBLIC)
    # Shown to the agent, who hands it to the invited candidates: not a password.
    access_code = models.CharField(_("code d'accès"), max_length=32, blank=True)

    # Calendar
    publication_rule = models.CharField(
        _("date de mise en ligne"),
        max_length=16,
        choices=PublicationRule.choices,
        default=PublicationRule.ON_VALIDATION,
    )
    publication_date = models.DateTimeField(_("date de mise en ligne choisie"), null=True, blank=True)
    scheduled_publication_at = models.DateTimeField(_("mise en ligne programmée le"), null=True, blank=True)
    published_at = models.DateTimeField(_("mise en ligne le"), null=True, blank=True, db_index=True)
    deadline = models.DateTimeField(_("date limite de remise des plis"), null=True, blank=True, db_index=True)
    question_cutoff_days = models.PositiveSmallIntegerField(
        _("questions jusqu'à (jours ouvrés avant la date limite)"), default=6
    )
    modification_cutoff_days = models.PositiveSmallIntegerField(
        _("modifications du DCE jusqu'à (jours ouvrés avant la date limite)"), default=6
    )
    offer_validity_days = models.PositiveSmallIntegerField(
        _("durée de validité des offres (jours)"), default=120
    )

    # Modalities
    electronic_response = models.CharField(
        _("réponse électronique"),
        max_length=16,
        choices=ElectronicResponse.choices,
        default=ElectronicResponse.MANDATORY,
    )
    signature_rule = models.CharField(
        _("signature électronique"),
        max_length=16,
        choices=SignatureRule.choices,
        default=SignatureRule.NOT_REQUIRED,
    )
    opening_mode = models.CharField(
        _("mode d'ouverture"), max_length=16, choices=OpeningMode.choices, default=OpeningMode.BY_ENVELOPE
    )
    encrypted = models.BooleanField(_("chiffrement des plis"), default=True)
    # Extensions without the dot, lowercase; empty: the platform's list (config/filetypes.py).
    accepted_extensions = models.JSONField(_("formats de fichiers acceptés"), default=list, blank=True)
    # The platform's practice consultation (« consultation de test »): any company may
    # deposit to it at any time to try its workstation; its receipts say « test ».
    is_practice = models.BooleanField(_("consultation de test"), default=False, editable=False)

    # Validation and cancellation
    validation_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    validated_at = models.DateTimeField(null=True, blank=True, editable=False)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    validation_comment = models.TextField(_("commentaire du valideur"), blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancellation_reason = models.TextField(_("motif de la déclaration sans suite"), blank=True)

    # Search: plain folded text for every database, a tsvector kept beside it on PostgreSQL.
    search_text = models.TextField(editable=False, blank=True)
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ConsultationQuerySet.as_manager()

    class Meta:
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "reference"],
                name="consultation_reference_unique_in_organisation",
                violation_error_message=_("Une consultation de votre organisme porte déjà cette référence."),
            ),
            models.CheckConstraint(
                condition=~Q(access="restricted") | ~Q(access_code=""),
                name="consultation_restricted_has_code",
            ),
        ]
        indexes = [models.Index(fields=["state", "deadline"])]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    @property
    def is_restricted(self) -> bool:
        return self.access == Access.RESTRICTED

    @property
    def has_lots(self) -> bool:
        return self.lots.exists()

    def question_deadline(self) -> datetime | None:
        from consultations.calendar import business_days_before

        if self.deadline is None:
            return None
        return business_days_before(
            self.deadline, self.question_cutoff_days, self.organisation.department_code
        )

    def modification_deadline(self) -> datetime | None:
        from consultations.calendar import business_days_before

        if self.deadline is None:
            return None
        return business_days_before(
            self.deadline, self.modification_cutoff_days, self.organisation.department_code
        )

    def timed_events(self) -> list[tuple[datetime, str]]:
        """The upcoming moments at which the consultation changes state by itself.

        Both the ETA scheduling and the periodic sweep read this one list.
        """
        if self.state == State.SCHEDULED and self.scheduled_publication_at:
            return [(self.scheduled_publication_at, "publish")]
        if self.state == State.ONLINE and self.deadline:
            return [(self.deadline, "close")]
        return []


class Lot(models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="lots")
    number = models.PositiveSmallIntegerField(_("numéro"))
    title = models.CharField(_("intitulé"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    estimated_value = models.DecimalField(
        _("valeur estimée (EUR HT)"), max_digits=15, decimal_places=2, null=True, blank=True
    )
    cpv_code = models.CharField(_("code CPV"), max_length=10, blank=True, validators=[validate_cpv])
    # In a suite, the lot of the initial consultation it relaunches.
    origin = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="relaunches",
        verbose_name=_("lot d'origine"),
    )

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        ordering = ["consultation", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "number"],
                name="lot_number_unique_in_consultation",
                violation_error_message=_("Deux lots ne peuvent pas porter le même numéro."),
            ),
        ]

    def __str__(self) -> str:
        return f"Lot {self.number} — {self.title}"


class RequestedDocument(models.Model):
    """A document the consultation asks for in an envelope (« Acte d'engagement »…)."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="requested_documents"
    )
    envelope = models.CharField(_("enveloppe"), max_length=16, choices=EnvelopeKind.choices)
    label = models.CharField(_("intitulé du document"), max_length=255)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("document demandé")
        verbose_name_plural = _("documents demandés")
        ordering = ["consultation", "envelope", "position", "pk"]

    def __str__(self) -> str:
        return self.label


class DceVersion(models.Model):
    """One state of the DCE. The version being prepared has no ``published_at``;
    once published it never changes, and a rectificatif publishes the next one."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="dce_versions")
    number = models.PositiveSmallIntegerField(_("version"))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("publiée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("version du DCE")
        verbose_name_plural = _("versions du DCE")
        ordering = ["consultation", "number"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "number"], name="dce_version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.consultation.reference} — DCE v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


def dce_upload_to(instance, filename: str) -> str:
    # The stored name is random: a file's name never reaches a path.
    return f"dce/{instance.version.consultation_id}/{uuid.uuid4().hex}"


class DceFile(models.Model):
    version = models.ForeignKey(DceVersion, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(_("nom du fichier"), max_length=255)
    # Several versions share one stored blob when a file did not change.
    blob = models.FileField(upload_to=dce_upload_to, max_length=255)
    size = models.PositiveBigIntegerField(_("taille"))
    sha256 = models.CharField(max_length=64)
    is_rules = models.BooleanField(_("règlement de consultation"), default=False)

    class Meta:
        verbose_name = _("fichier du DCE")
        verbose_name_plural = _("fichiers du DCE")
        ordering = ["version", "-is_rules", "name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="dce_file_name_unique_in_version"),
            models.UniqueConstraint(
                fields=["version"], condition=Q(is_rules=True), name="dce_one_rules_document_per_version"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Amendment(models.Model):
    """A « rectificatif »: what changed after publication, and why."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="amendments")
    created_at = models.DateTimeField(_("date"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("motif"))
    dce_version = models.ForeignKey(
        DceVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # {"field": [old, new]} as shown to people (already formatted strings).
    changes = models.JSONField(default=dict, blank=True)
    after_cutoff = models.BooleanField(_("après la date limite de modification"), default=False)

    class Meta:
        verbose_name = _("rectificatif")
        verbose_name_plural = _("rectificatifs")
        ordering = ["consultation", "created_at"]

    def __str__(self) -> str:
        return f"{self.consultation.reference} — {self.created_at:%d/%m/%Y %H:%M}"


class Download(models.Model):
    """One identified DCE download: a line of the « registre des retraits »."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="downloads")
    dce_version = models.ForeignKey(DceVersion, on_delete=models.PROTECT, related_name="downloads")
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    downloaded_at = models.DateTimeField(_("date et heure"))
    # Empty for the whole DCE as a ZIP.
    file_name = models.CharField(_("fichier"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("retrait")
        verbose_name_plural = _("retraits")
        ordering = ["consultation", "downloaded_at"]
        indexes = [models.Index(fields=["consultation", "company"])]

    def __str__(self) -> str:
        return f"{self.consultation.reference} — {self.company} — {self.downloaded_at:%d/%m/%Y %H:%M:%S}"


class Question(models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="questions")
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="questions")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    asked_at = models.DateTimeField(_("posée le"))
    text = models.TextField(_("question"))
    answer = models.TextField(_("réponse"), blank=True)
    answered_at = models.DateTimeField(_("répondue le"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["consultation", "asked_at"]

    def __str__(self) -> str:
        return f"{self.consultation.reference} — {self.asked_at:%d/%m/%Y %H:%M}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None
