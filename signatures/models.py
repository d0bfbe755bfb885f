"""The trust store the deposited signatures are checked against, and the signatures of
the contract (« acte d'engagement ») by the winner and the buyer.

Rules in ``signatures/trust.py`` (the store, the EU trusted-list import) and
``signatures/services/contract.py`` (the contract signature flow); the verification
itself is ``signatures/verify.py``.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CertificateCategory(models.TextChoices):
    ROOT = "root", _("Autorité racine")
    INTERMEDIATE = "intermediate", _("Autorité intermédiaire")
    QUALIFIED = "qualified", _("Autorité délivrant des certificats qualifiés (eIDAS)")
    TIMESTAMP = "timestamp", _("Autorité d'horodatage")


class CertificateSource(models.TextChoices):
    MANUAL = "manual", _("Ajouté par un administrateur")
    TRUSTED_LIST = "trusted_list", _("Liste de confiance (TSL)")


class TrustedCertificate(models.Model):
    """A certificate of the trust store: a root (an anchor), or an intermediate that helps
    build the chain. Administered in the Django admin; imported from an EU trusted list."""

    name = models.CharField(_("nom"), max_length=255)
    category = models.CharField(_("catégorie"), max_length=16, choices=CertificateCategory.choices)
    # PEM, one certificate.
    pem = models.TextField(_("certificat (PEM)"))
    fingerprint_sha256 = models.CharField(_("empreinte SHA-256"), max_length=64, unique=True, editable=False)
    subject = models.CharField(_("sujet"), max_length=500, editable=False)
    issuer = models.CharField(_("émetteur"), max_length=500, editable=False)
    not_before = models.DateTimeField(_("valide à partir du"), editable=False)
    not_after = models.DateTimeField(_("valide jusqu'au"), editable=False)
    source = models.CharField(
        _("origine"), max_length=16, choices=CertificateSource.choices, default=CertificateSource.MANUAL
    )
    # The trusted list's service (« TSP / service name ») and country, when imported.
    trusted_list_service = models.CharField(_("service de la liste de confiance"), max_length=500, blank=True)
    country = models.CharField(_("pays"), max_length=2, blank=True)
    active = models.BooleanField(_("actif"), default=True)
    added_at = models.DateTimeField(_("ajouté le"), auto_now_add=True)

    class Meta:
        verbose_name = _("certificat de confiance")
        verbose_name_plural = _("certificats de confiance")
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_category_display()})"


class ContractParty(models.TextChoices):
    HOLDER = "holder", _("Titulaire")
    BUYER = "buyer", _("Acheteur")


def contract_upload_to(instance, filename: str) -> str:
    return f"contracts/{uuid.uuid4().hex}"


class ContractSignature(models.Model):
    """A signed acte d'engagement uploaded by the winner (« titulaire »), then counter-signed
    by the buyer; each upload is verified and its report kept."""

    decision = models.ForeignKey(
        "awards.Decision", on_delete=models.PROTECT, related_name="signatures", verbose_name=_("décision")
    )
    party = models.CharField(_("signataire"), max_length=8, choices=ContractParty.choices)
    name = models.CharField(_("nom du fichier"), max_length=255)
    blob = models.FileField(upload_to=contract_upload_to, max_length=255)
    size = models.BigIntegerField(_("taille (octets)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # A detached signature (.p7s, .xml) uploaded beside the file, if any.
    detached_name = models.CharField(_("signature détachée"), max_length=255, blank=True)
    detached_blob = models.FileField(upload_to=contract_upload_to, max_length=255, blank=True)
    # signatures.report.SignatureReport as dicts, and their overall verdict.
    reports = models.JSONField(_("rapports de vérification"), default=list)
    verdict = models.CharField(_("verdict"), max_length=16)
    uploaded_at = models.DateTimeField(_("déposé le"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("déposé par")
    )
    # Superseded by a later upload of the same party (a signature found invalid, redone).
    superseded = models.BooleanField(_("remplacé"), default=False)

    class Meta:
        verbose_name = _("signature du marché")
        verbose_name_plural = _("signatures du marché")
        ordering = ["decision_id", "uploaded_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "party"], condition=Q(superseded=False), name="contract_signature_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} — {self.get_party_display()} : {self.name}"


class PlatformSealCertificate(models.Model):
    """A certificate the platform has sealed with (receipts, PV, registers, message proofs),
    kept so that what it sealed still verifies after a rotation.

    Written by the platform itself the first time it seals with a certificate
    (``signatures/platform_history.py``), never typed in. ``roots_pem`` are the roots its
    seals and timestamps chained to then; they stay trusted for checking its seals. Once
    ``retired_at`` is set, a seal of this certificate timestamped after that moment is no
    longer recognised (a key replaced, or feared compromised)."""

    fingerprint_sha256 = models.CharField(_("empreinte SHA-256"), max_length=64, unique=True)
    subject = models.CharField(_("sujet"), max_length=500)
    certificate_pem = models.TextField(_("certificat (PEM)"))
    roots_pem = models.TextField(_("autorités racines (PEM)"))
    not_after = models.DateTimeField(_("valide jusqu'au"))
    first_used_at = models.DateTimeField(_("premier scellement le"))
    retired_at = models.DateTimeField(_("retiré le"), null=True, blank=True)

    class Meta:
        verbose_name = _("certificat de cachet de la plateforme")
        verbose_name_plural = _("certificats de cachet de la plateforme")
        ordering = ["first_used_at", "pk"]

    def __str__(self) -> str:
        return f"{self.subject} ({self.fingerprint_sha256[:16]}…)"


class PlatformSealedDocument(models.Model):
    """A document the platform sealed: its SHA-256 as issued. Once a seal certificate is
    retired (its key feared compromised), its seals are recognised only for the documents
    found here: whoever stole the key could backdate a timestamp, not write this register."""

    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    certificate = models.ForeignKey(
        PlatformSealCertificate,
        on_delete=models.PROTECT,
        related_name="documents",
        verbose_name=_("certificat de cachet"),
    )
    reason = models.CharField(_("motif"), max_length=255)
    sealed_at = models.DateTimeField(_("scellé le"))

    class Meta:
        verbose_name = _("document scellé par la plateforme")
        verbose_name_plural = _("documents scellés par la plateforme")
        ordering = ["-sealed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.reason} ({self.sha256[:16]}…)"
