"""Deposits and what they are encrypted to.

The opening keys (« bi-clé de chiffrement »): the platform keeps their certificates,
never a private key; a key pair generated here leaves once, as a password-protected
PKCS#12 file, in the answer to the agent who asked for it. Then the deposits (« plis »),
their envelopes and encrypted files, below.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consultations.models import EnvelopeKind


class KeyOrigin(models.TextChoices):
    GENERATED = "generated", _("Générée sur la plateforme")
    IMPORTED = "imported", _("Certificat importé")


class OpeningKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def backup(self):
        return self.filter(is_backup=True)


class OpeningKey(models.Model):
    """One opening key: of one consultation, or the organisation's backup key
    (« clé de secours », no consultation) that every consultation also encrypts to."""

    # Set for both kinds: a consultation's key is of its organisation.
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="opening_keys",
        verbose_name=_("organisme"),
    )
    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opening_keys",
        verbose_name=_("consultation"),
    )
    is_backup = models.BooleanField(_("clé de secours de l'organisme"), default=False)
    label = models.CharField(_("libellé"), max_length=80)
    certificate_pem = models.TextField(_("certificat (X.509, PEM)"))
    # SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex.
    fingerprint = models.CharField(_("empreinte SHA-256 de la clé publique"), max_length=64)
    key_size = models.PositiveIntegerField(_("taille de la clé (bits)"))
    not_before = models.DateTimeField(_("valide à partir du"))
    not_after = models.DateTimeField(_("valide jusqu'au"))
    origin = models.CharField(_("origine"), max_length=16, choices=KeyOrigin.choices)
    created_at = models.DateTimeField(_("ajoutée le"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("ajoutée par")
    )
    revoked_at = models.DateTimeField(_("retirée le"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("retirée par"),
    )

    objects = OpeningKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("clé de chiffrement")
        verbose_name_plural = _("clés de chiffrement")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(is_backup=True) & Q(consultation__isnull=True))
                | (Q(is_backup=False) & Q(consultation__isnull=False)),
                name="opening_key_backup_or_consultation",
            ),
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(is_backup=True, revoked_at__isnull=True),
                name="opening_key_one_active_backup_per_organisation",
            ),
            models.UniqueConstraint(
                fields=["consultation", "fingerprint"],
                condition=Q(revoked_at__isnull=True),
                name="opening_key_fingerprint_unique_in_consultation",
            ),
        ]

    def __str__(self) -> str:
        owner = self.consultation.reference if self.consultation_id else _("clé de secours")
        return f"{self.label} ({owner}) — {self.fingerprint[:16]}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def fingerprint_display(self) -> str:
        """Grouped by four hexadecimal digits, as read aloud over the phone."""
        return " ".join(self.fingerprint[i : i + 4] for i in range(0, len(self.fingerprint), 4))


# --- Deposits ------------------------------------------------------------------------------
#
# A deposit (« pli ») of one company to one consultation holds envelopes, which hold files.
# Each file is encrypted as it arrives (docs/deposit-format.md) and stored through Django's
# default storage as immutable objects, one per accepted tus PATCH (``FilePart``):
#
#     the file's encrypted object = header (20 bytes, rebuilt from ``segment_size`` and
#                                   ``nonce_prefix``) || part 1 || part 2 || …
#
# Every part holds whole segments only (the last part ends with the file's last segment),
# so the concatenation is exactly the `sdmp-enc-1` file that tools/deposit_decrypt.py
# reads, with the key file made from the ``WrappedKey`` rows.


class DepositState(models.TextChoices):
    DRAFT = "draft", _("En préparation")
    FINALISED = "finalised", _("Validé")


class DepositStatus(models.TextChoices):
    """How a finalised deposit counts; judged by the database clock at finalisation."""

    ON_TIME = "on_time", _("Reçu dans les délais")
    LATE = "late", _("Reçu hors délai")
    SUPERSEDED = "superseded", _("Remplacé par un dépôt ultérieur")


class ScanResult(models.TextChoices):
    PENDING = "pending", _("Analysé à la fin de l'envoi")
    NOT_SCANNED = "not_scanned", _("Non analysé (antivirus non configuré)")
    CLEAN = "clean", _("Aucun virus détecté")
    INFECTED = "infected", _("Virus détecté")
    FAILED = "failed", _("Analyse impossible")


class ResponseKind(models.TextChoices):
    SINGLE = "single", _("Entreprise seule")
    CONSORTIUM = "consortium", _("Groupement d'entreprises")


class ConsortiumKind(models.TextChoices):
    JOINT = "joint", _("Groupement conjoint")
    JOINT_AND_SEVERAL = "several", _("Groupement solidaire")


class CandidatureForm(models.TextChoices):
    STANDARD = "standard", _("Candidature standard (DC1, DC2…)")
    DUME = "dume", _("DUME (document unique de marché européen)")


class Deposit(models.Model):
    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="deposits",
        verbose_name=_("consultation"),
    )
    company = models.ForeignKey(
        "accounts.Company", on_delete=models.PROTECT, related_name="deposits", verbose_name=_("entreprise")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("commencé par")
    )
    created_at = models.DateTimeField(_("commencé le"))
    state = models.CharField(
        _("état"), max_length=16, choices=DepositState.choices, default=DepositState.DRAFT
    )
    # The database's time inside the transaction that finalised the deposit (config/clock.py).
    received_at = models.DateTimeField(_("reçu le"), null=True, blank=True)
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("validé par"),
    )
    status = models.CharField(_("statut"), max_length=16, choices=DepositStatus.choices, blank=True)
    superseded_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("remplacé par"),
    )
    is_practice = models.BooleanField(_("dépôt d'essai"), default=False)
    response_kind = models.CharField(
        _("répond en tant que"), max_length=16, choices=ResponseKind.choices, default=ResponseKind.SINGLE
    )
    consortium_kind = models.CharField(
        _("forme du groupement"), max_length=16, choices=ConsortiumKind.choices, blank=True
    )
    candidature_form = models.CharField(
        _("forme de la candidature"),
        max_length=16,
        choices=CandidatureForm.choices,
        default=CandidatureForm.STANDARD,
    )
    # When the depositor accepted the conditions of use, just before « Valider ».
    conditions_accepted_at = models.DateTimeField(
        _("conditions d'utilisation acceptées le"), null=True, blank=True
    )
    # The opening keys its files are encrypted to, fixed when its first file starts: the
    # organisation's backup key may be replaced later, the files stay wrapped for this one.
    keys = models.ManyToManyField(
        OpeningKey, blank=True, related_name="deposits", verbose_name=_("clés de chiffrement")
    )

    class Meta:
        verbose_name = _("pli")
        verbose_name_plural = _("plis")
        ordering = ["consultation_id", "received_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "company"],
                condition=Q(state="draft"),
                name="deposit_one_draft_per_company",
            ),
            models.CheckConstraint(
                condition=(Q(state="draft") & Q(received_at__isnull=True) & Q(status=""))
                | (Q(state="finalised") & Q(received_at__isnull=False) & ~Q(status="")),
                name="deposit_finalised_has_time_and_status",
            ),
        ]
        indexes = [models.Index(fields=["consultation", "company", "state"])]

    def __str__(self) -> str:
        return f"Pli n° {self.pk} — {self.company} ({self.consultation.reference})"

    @property
    def is_draft(self) -> bool:
        return self.state == DepositState.DRAFT


class ConsortiumRole(models.TextChoices):
    REPRESENTATIVE = "representative", _("Mandataire")
    MEMBER = "member", _("Cotraitant")


class ConsortiumMember(models.Model):
    """A company of a consortium (« groupement »), named by its SIRET: the representative
    (« mandataire ») and the co-contractors (« cotraitants »)."""

    deposit = models.ForeignKey(
        Deposit, on_delete=models.CASCADE, related_name="consortium_members", verbose_name=_("pli")
    )
    siret = models.CharField(_("SIRET"), max_length=14)
    name = models.CharField(_("raison sociale"), max_length=255)
    role = models.CharField(_("rôle"), max_length=16, choices=ConsortiumRole.choices)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("membre du groupement")
        verbose_name_plural = _("membres du groupement")
        ordering = ["deposit_id", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["deposit", "siret"], name="consortium_member_unique_siret"),
            models.UniqueConstraint(
                fields=["deposit"],
                condition=Q(role="representative"),
                name="consortium_one_representative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.siret}) — {self.get_role_display()}"


class BackupCopy(models.Model):
    """A company's declaration that it sent a backup copy (« copie de sauvegarde ») of its
    response on a physical medium, so the buyer knows one exists."""

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="backup_copies",
        verbose_name=_("consultation"),
    )
    company = models.ForeignKey(
        "accounts.Company",
        on_delete=models.PROTECT,
        related_name="backup_copies",
        verbose_name=_("entreprise"),
    )
    sent_on = models.DateField(_("envoyée le"))
    medium = models.CharField(_("support"), max_length=120)
    carrier = models.CharField(_("mode d'envoi"), max_length=120, blank=True)
    comment = models.TextField(_("commentaire"), blank=True)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("déclarée par")
    )
    declared_at = models.DateTimeField(_("déclarée le"))

    class Meta:
        verbose_name = _("copie de sauvegarde")
        verbose_name_plural = _("copies de sauvegarde")
        ordering = ["consultation_id", "declared_at", "pk"]

    def __str__(self) -> str:
        return f"{self.company} — {self.sent_on:%d/%m/%Y}"


class Opening(models.Model):
    """One opening session of a consultation's deposits by an agent, and its minutes
    (« PV d'ouverture »)."""

    class Scope(models.TextChoices):
        CANDIDATURES = "candidatures", _("Candidatures")
        OFFERS = "offers", _("Offres des candidats admis")
        RESPONSES = "responses", _("Réponses entières")
        LATE = "late", _("Plis hors délai")

    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="openings",
        verbose_name=_("consultation"),
    )
    scope = models.CharField(_("ouverture"), max_length=16, choices=Scope.choices)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("ouvert par")
    )
    opened_at = models.DateTimeField(_("ouvert le"))
    key = models.ForeignKey(
        OpeningKey, on_delete=models.PROTECT, related_name="openings", verbose_name=_("clé utilisée")
    )
    # Required to open late deposits (e.g. the backup-copy case).
    reason = models.TextField(_("motif"), blank=True)
    # The minutes, a PDF in the default storage.
    minutes_object = models.CharField(_("procès-verbal (objet stocké)"), max_length=255, blank=True)
    minutes_sha256 = models.CharField(_("SHA-256 du procès-verbal"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("ouverture des plis")
        verbose_name_plural = _("ouvertures des plis")
        ordering = ["consultation_id", "opened_at", "pk"]

    def __str__(self) -> str:
        return f"{self.consultation.reference} — {self.get_scope_display()} ({self.opened_at:%d/%m/%Y %H:%M})"


class Envelope(models.Model):
    deposit = models.ForeignKey(
        Deposit, on_delete=models.CASCADE, related_name="envelopes", verbose_name=_("pli")
    )
    kind = models.CharField(_("enveloppe"), max_length=16, choices=EnvelopeKind.choices)
    lot = models.ForeignKey(
        "consultations.Lot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lot"),
    )
    opening = models.ForeignKey(
        Opening,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="envelopes",
        verbose_name=_("ouverte lors de"),
    )

    class Meta:
        verbose_name = _("enveloppe")
        verbose_name_plural = _("enveloppes")
        ordering = ["deposit_id", "kind", "lot__number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deposit", "kind"], condition=Q(lot__isnull=True), name="envelope_unique_without_lot"
            ),
            models.UniqueConstraint(
                fields=["deposit", "kind", "lot"],
                condition=Q(lot__isnull=False),
                name="envelope_unique_per_lot",
            ),
        ]

    def __str__(self) -> str:
        label = self.get_kind_display()
        return f"{label} — lot {self.lot.number}" if self.lot_id else str(label)


class OpeningCheck(models.TextChoices):
    NOT_OPENED = "not_opened", _("Non ouvert")
    INTACT = "intact", _("Intègre")
    ALTERED = "altered", _("Altéré : le contenu stocké ne correspond pas à ce qui a été déposé")


class DepositFile(models.Model):
    """One file of an envelope, and while it arrives, the state of its tus upload."""

    envelope = models.ForeignKey(
        Envelope, on_delete=models.CASCADE, related_name="files", verbose_name=_("enveloppe")
    )
    # The tus upload's public identifier, in its URL.
    upload_id = models.UUIDField(_("identifiant d'envoi"), unique=True, editable=False)
    name = models.CharField(_("nom du fichier"), max_length=255)
    # The requested document (« Acte d'engagement »…) this file answers, as the consultation named it.
    document_label = models.CharField(_("document demandé"), max_length=255, blank=True)
    size = models.BigIntegerField(_("taille (octets)"))
    # Plaintext bytes received, encrypted and stored: always a whole number of segments
    # until the last PATCH reaches ``size``.
    offset = models.BigIntegerField(_("octets reçus"), default=0)
    sha256 = models.CharField(_("SHA-256 du contenu"), max_length=64, blank=True)
    segment_size = models.PositiveIntegerField(_("taille des segments"))
    nonce_prefix = models.BinaryField(_("préfixe des nonces"), max_length=7)
    # The data key under the platform's upload key (deposits/ingest.py) while the file
    # arrives and until the sealing reads it back; then erased, leaving only the copies
    # wrapped for the opening keys.
    upload_key = models.BinaryField(_("clé de données en cours d'envoi"), null=True, blank=True)
    scan = models.CharField(
        _("antivirus"), max_length=16, choices=ScanResult.choices, default=ScanResult.PENDING
    )
    scan_detail = models.CharField(_("résultat de l'antivirus"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("envoyé par")
    )
    created_at = models.DateTimeField(_("commencé le"))
    completed_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    # At the opening: every segment authenticated (or not), and the data key re-wrapped
    # under the platform's opened-data key so that the buying team reads it later.
    opening_check = models.CharField(
        _("contrôle à l'ouverture"),
        max_length=16,
        choices=OpeningCheck.choices,
        default=OpeningCheck.NOT_OPENED,
    )
    opened_key = models.BinaryField(_("clé de données après ouverture"), null=True, blank=True)
    # At the opening: the report of every signature found in the file or beside it
    # (signatures/verify.py, as dicts); empty until then, or when there is none.
    signature_reports = models.JSONField(
        _("rapports de vérification des signatures"), default=list, blank=True
    )

    class Meta:
        verbose_name = _("fichier de pli")
        verbose_name_plural = _("fichiers de plis")
        ordering = ["envelope_id", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="deposit_file_not_empty"),
            models.CheckConstraint(
                condition=Q(offset__gte=0) & Q(offset__lte=models.F("size")),
                name="deposit_file_offset_in_file",
            ),
            models.CheckConstraint(
                condition=(Q(completed_at__isnull=True) & ~Q(offset=models.F("size")))
                | (Q(completed_at__isnull=False) & Q(offset=models.F("size"))),
                name="deposit_file_complete_when_all_received",
            ),
            # Once read back by the sealing, the data key is erased.
            models.CheckConstraint(
                condition=Q(sha256="") | Q(upload_key__isnull=True),
                name="deposit_file_upload_key_erased_when_hashed",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None

    def encrypted_header(self) -> bytes:
        from deposits.ingest import header_of

        return header_of(bytes(self.nonce_prefix), self.segment_size)

    def encrypted_size(self) -> int:
        from deposits.crypto import encrypted_size

        return encrypted_size(self.size, self.segment_size)


class FilePart(models.Model):
    """One stored object of a file: the segments one PATCH brought, encrypted."""

    deposit_file = models.ForeignKey(
        DepositFile, on_delete=models.CASCADE, related_name="parts", verbose_name=_("fichier")
    )
    number = models.PositiveIntegerField(_("numéro"))
    object_name = models.CharField(_("objet stocké"), max_length=255, unique=True)
    # The plaintext range it holds: [plaintext_offset, plaintext_offset + plaintext_size).
    plaintext_offset = models.BigIntegerField(_("position dans le fichier"))
    plaintext_size = models.BigIntegerField(_("octets du fichier"))
    stored_size = models.BigIntegerField(_("taille stockée (octets)"))

    class Meta:
        verbose_name = _("partie de fichier")
        verbose_name_plural = _("parties de fichiers")
        ordering = ["deposit_file_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["deposit_file", "number"], name="file_part_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.deposit_file} — {self.number}"


class WrappedKey(models.Model):
    """A file's data key wrapped (RSA-OAEP-SHA256) for one opening key."""

    deposit_file = models.ForeignKey(
        DepositFile, on_delete=models.CASCADE, related_name="wrapped_keys", verbose_name=_("fichier")
    )
    opening_key = models.ForeignKey(
        OpeningKey,
        on_delete=models.PROTECT,
        related_name="wrapped_keys",
        verbose_name=_("clé de chiffrement"),
    )
    wrapped = models.BinaryField(_("clé de données chiffrée"))

    class Meta:
        verbose_name = _("clé de données chiffrée")
        verbose_name_plural = _("clés de données chiffrées")
        ordering = ["deposit_file_id", "opening_key_id"]
        constraints = [
            models.UniqueConstraint(fields=["deposit_file", "opening_key"], name="wrapped_key_one_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.deposit_file} — {self.opening_key.fingerprint[:16]}"


class Seal(models.Model):
    """The seal of a finalised deposit: its canonical manifest, chained to the previous seal
    of the same consultation, timestamped (RFC 3161), and the signed receipt made from it."""

    deposit = models.OneToOneField(
        Deposit, on_delete=models.PROTECT, related_name="seal", verbose_name=_("pli")
    )
    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.PROTECT,
        related_name="seals",
        verbose_name=_("consultation"),
    )
    # 1, 2, 3… within the consultation, in the order of sealing.
    sequence = models.PositiveIntegerField(_("numéro dans la chaîne"))
    manifest = models.TextField(_("manifeste canonique (JSON)"))
    manifest_sha256 = models.CharField(_("SHA-256 du manifeste"), max_length=64)
    previous_hash = models.CharField(_("empreinte du sceau précédent"), max_length=64)
    # SHA-256 of previous_hash || manifest_sha256: what the next seal holds.
    seal_hash = models.CharField(_("empreinte du sceau"), max_length=64, unique=True)
    timestamp_token = models.BinaryField(_("jeton d'horodatage RFC 3161"))
    timestamped_at = models.DateTimeField(_("horodaté le"))
    receipt_object = models.CharField(_("accusé de réception (objet stocké)"), max_length=255)
    receipt_sha256 = models.CharField(_("SHA-256 de l'accusé de réception"), max_length=64, unique=True)
    sealed_at = models.DateTimeField(_("scellé le"))
    mailed_at = models.DateTimeField(_("envoyé par courriel le"), null=True, blank=True)

    class Meta:
        verbose_name = _("sceau de dépôt")
        verbose_name_plural = _("sceaux de dépôts")
        ordering = ["consultation_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "sequence"], name="seal_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"Sceau n° {self.sequence} — {self.deposit}"
