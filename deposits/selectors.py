"""Reads of the deposits app."""

from django.db.models import QuerySet

from consultations.models import Consultation
from deposits.models import OpeningKey


def consultation_keys(consultation: Consultation) -> QuerySet[OpeningKey]:
    """The consultation's own keys, withdrawn ones included, oldest first."""
    return consultation.opening_keys.select_related("created_by", "revoked_by").order_by("created_at", "pk")


def backup_key_of(organisation_id: int) -> OpeningKey | None:
    """The organisation's active backup key (« clé de secours »), if it has one."""
    return (
        OpeningKey.objects.backup()
        .active()
        .filter(organisation_id=organisation_id)
        .select_related("created_by")
        .first()
    )


def opening_keys_for(consultation: Consultation) -> list[OpeningKey]:
    """What a deposit to this consultation is encrypted to: its active keys, then the
    organisation's active backup key."""
    keys = list(consultation.opening_keys.active().order_by("created_at", "pk"))
    backup = backup_key_of(consultation.organisation_id)
    if backup is not None and all(key.fingerprint != backup.fingerprint for key in keys):
        keys.append(backup)
    return keys


def has_own_active_key(consultation: Consultation) -> bool:
    return consultation.opening_keys.active().exists()
