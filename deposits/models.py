"""Deposits and what they are encrypted to.

For now: the opening keys (« bi-clé de chiffrement »). The platform keeps their
certificates, never a private key: a key pair generated here leaves once, as a
password-protected PKCS#12 file, in the answer to the agent who asked for it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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
