import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    pass


class Event(models.Model):
    """One entry of the platform's legal history: who did what, when.

    Rows are only ever inserted. ``hash`` covers the event's content and the
    hash of the event before it, so removing or altering any event breaks the
    chain from that point (``manage.py audit_verify`` says where).
    """

    sequence = models.PositiveBigIntegerField(_("numéro"), unique=True, editable=False)
    created_at = models.DateTimeField(_("date"), editable=False, db_index=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    actor_label = models.CharField(_("auteur (au moment des faits)"), max_length=255, blank=True)
    organisation_id = models.BigIntegerField(_("organisme"), null=True, blank=True, db_index=True)
    target_type = models.CharField(_("type d'objet"), max_length=80, blank=True)
    target_id = models.CharField(_("identifiant de l'objet"), max_length=64, blank=True)
    target_label = models.CharField(_("objet"), max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    data = models.JSONField(_("détails"), default=dict, blank=True)
    previous_hash = models.CharField(_("empreinte précédente"), max_length=64, editable=False)
    hash = models.CharField(_("empreinte"), max_length=64, unique=True, editable=False)

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("événements")
        ordering = ["sequence"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_event_target")]

    def __str__(self) -> str:
        return f"n° {self.sequence} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events are never modified.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are never deleted.")

    def canonical_payload(self) -> bytes:
        """The bytes the hash covers: every recorded field, in a fixed form."""
        payload = {
            "sequence": self.sequence,
            "created_at": self.created_at.isoformat(timespec="microseconds"),
            "action": self.action,
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "organisation_id": self.organisation_id,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_label": self.target_label,
            "ip_address": self.ip_address,
            "data": self.data,
            "previous_hash": self.previous_hash,
        }
        return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical_payload()).hexdigest()


class ChainHead(models.Model):
    """The single row that serialises writers and remembers the chain's last link.

    Without it, deleting the latest events would leave a shorter chain that still
    verifies.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("tête de chaîne")
        verbose_name_plural = _("tête de chaîne")

    def __str__(self) -> str:
        return f"n° {self.last_sequence}"
