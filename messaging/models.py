"""The secure messaging (« messagerie sécurisée »): one thread per consultation and
company, messages in both directions, their attachments, the e-mail notifying each
recipient, and the reading receipt.

A message is written once: its content, its attachments and its first reading never
change (``Message.save`` refuses, and on PostgreSQL a trigger refuses too). A
correction is a new message. Rules live in ``services.py``; reads in ``selectors.py``.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    AMENDMENT = "amendment", _("Avis de modification du DCE")
    ANSWER = "answer", _("Réponse aux questions")
    DOCUMENTS_REQUEST = "documents_request", _("Demande de compléments")
    NEGOTIATION = "negotiation", _("Négociation")
    INVITATION = "invitation", _("Invitation à concourir")
    REJECTION = "rejection", _("Lettre de rejet")
    AWARD = "award", _("Lettre d'attribution")
    NOTIFICATION = "notification", _("Notification du marché")
    CANCELLATION = "cancellation", _("Déclaration sans suite")
    FREE = "free", _("Message libre")
    REPLY = "reply", _("Réponse de l'entreprise")


# What an agent may choose to write; the others are written by the platform
# (rectificatif, answers, « sans suite ») or by the company (reply).
AGENT_KINDS = (
    Kind.DOCUMENTS_REQUEST,
    Kind.NEGOTIATION,
    Kind.INVITATION,
    Kind.REJECTION,
    Kind.AWARD,
    Kind.NOTIFICATION,
    Kind.FREE,
    Kind.AMENDMENT,
    Kind.ANSWER,
)


class Direction(models.TextChoices):
    TO_COMPANY = "to_company", _("Acheteur vers entreprise")
    TO_BUYER = "to_buyer", _("Entreprise vers acheteur")


class MessageTemplate(models.Model):
    """The French text an agent starts from for one kind of message, edited in the admin.

    Placeholders between braces are filled when the agent opens the form:
    {reference}, {titre}, {acheteur}, {entreprise}, {date_limite}, {lien}.
    """

    kind = models.CharField(_("type de message"), max_length=30, choices=Kind.choices, unique=True)
    subject = models.CharField(_("objet"), max_length=255)
    body = models.TextField(_("texte"))
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("modèle de message")
        verbose_name_plural = _("modèles de message")
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Thread(models.Model):
    """Every exchange between the buyer of a consultation and one company."""

    consultation = models.ForeignKey(
        "consultations.Consultation", on_delete=models.PROTECT, related_name="threads"
    )
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="threads")
    created_at = models.DateTimeField(_("ouvert le"))

    class Meta:
        verbose_name = _("fil d'échanges")
        verbose_name_plural = _("fils d'échanges")
        ordering = ["consultation", "company__name"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "company"], name="thread_one_per_company"),
        ]

    def __str__(self) -> str:
        return f"{self.consultation.reference} — {self.company.name}"


class ImmutableError(Exception):
    """A sent message, its attachments and its first reading are never changed."""


# The only columns written after sending: the reading receipt (once, by a
# conditional UPDATE) and the e-mail outcome. Everything else is the message.
MUTABLE_FIELDS = frozenset({"first_read_at", "first_read_by", "email_failed"})


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(max_length=12, choices=Direction.choices)
    kind = models.CharField(_("type"), max_length=30, choices=Kind.choices)
    subject = models.CharField(_("objet"), max_length=255)
    body = models.TextField(_("message"))
    sent_at = models.DateTimeField(_("envoyé le"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("envoyé par")
    )
    # What the content hash covers, as it was at sending: an address or a SIRET edited
    # later must not make an untouched message look altered.
    sender_email = models.EmailField(_("adresse de l'expéditeur"))
    company_siret = models.CharField(_("SIRET de l'entreprise"), max_length=14)
    consultation_reference = models.CharField(_("référence de la consultation"), max_length=64)
    # The messages sent together (to all downloaders, to a selection) share a batch.
    batch = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    in_reply_to = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replies"
    )
    answer_due_at = models.DateTimeField(_("réponse attendue avant le"), null=True, blank=True)
    is_late = models.BooleanField(_("réponse hors délai"), default=False)
    # SHA-256 of the canonical content (see ``messaging.proof``), written at sending.
    content_sha256 = models.CharField(_("empreinte SHA-256"), max_length=64)
    first_read_at = models.DateTimeField(_("date de première lecture"), null=True, blank=True)
    first_read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    email_failed = models.BooleanField(_("échec de la notification"), default=False)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["sent_at", "pk"]
        indexes = [models.Index(fields=["thread", "sent_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction="to_company") | Q(answer_due_at__isnull=True),
                name="message_only_buyer_asks_answer",
            ),
            models.CheckConstraint(
                condition=Q(kind="reply", direction="to_buyer")
                | (~Q(kind="reply") & Q(direction="to_company")),
                name="message_reply_is_from_company",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    def save(self, *args, **kwargs):
        if self._state.adding:
            return super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if update_fields is None or not set(update_fields) <= MUTABLE_FIELDS:
            raise ImmutableError("A sent message is never changed; a correction is a new message.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("A sent message is never deleted.")

    @property
    def is_to_company(self) -> bool:
        return self.direction == Direction.TO_COMPANY


def attachment_upload_to(instance, filename: str) -> str:
    # Stored under a random name: what the user called it is kept in ``name``.
    return f"messaging/{uuid.uuid4().hex}"


class ScanResult(models.TextChoices):
    NOT_SCANNED = "not_scanned", _("Non analysé (antivirus non configuré)")
    CLEAN = "clean", _("Aucun virus détecté")


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    name = models.CharField(_("nom du fichier"), max_length=255)
    # Messages sent together share one stored blob.
    blob = models.FileField(upload_to=attachment_upload_to, max_length=255)
    size = models.PositiveBigIntegerField(_("taille"))
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64)
    scan = models.CharField(_("antivirus"), max_length=20, choices=ScanResult.choices)

    class Meta:
        verbose_name = _("pièce jointe")
        verbose_name_plural = _("pièces jointes")
        ordering = ["message", "name", "pk"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableError("An attachment is never changed once sent.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("An attachment is never deleted.")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("En cours d'envoi")
    SENT = "sent", _("Envoyé")
    FAILED = "failed", _("Échec définitif")


class Delivery(models.Model):
    """The e-mail telling one recipient that a message waits on the platform."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    email = models.EmailField(_("adresse"))
    status = models.CharField(
        _("état"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    error = models.CharField(_("dernière erreur"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("notification par courriel")
        verbose_name_plural = _("notifications par courriel")
        ordering = ["message", "email"]
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="delivery_one_per_recipient"),
        ]

    def __str__(self) -> str:
        return self.email
