"""Reads of the deposits app."""

from django.db.models import QuerySet

from consultations.models import Consultation
from deposits.models import Deposit, DepositFile, Envelope, OpeningKey


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


def deposit_of_company(deposit_id, company_id: int) -> Deposit | None:
    """The company's deposit with this id; another company's is « not found »."""
    try:
        deposit_id = int(deposit_id)
    except (TypeError, ValueError):
        return None
    return (
        Deposit.objects.select_related("consultation", "company")
        .filter(pk=deposit_id, company_id=company_id)
        .first()
    )


def envelope_of(deposit: Deposit, *, envelope_id=None, kind: str = "", lot_number=None) -> Envelope | None:
    """One of the deposit's envelopes: by id, or by kind and lot number (no lot number
    for a consultation without lots)."""
    envelopes = deposit.envelopes.select_related("lot")
    try:
        if envelope_id not in (None, ""):
            return envelopes.filter(pk=int(envelope_id)).first()
        if not kind:
            return None
        if lot_number in (None, ""):
            return envelopes.filter(kind=kind, lot__isnull=True).first()
        return envelopes.filter(kind=kind, lot__number=int(lot_number)).first()
    except (TypeError, ValueError):
        return None


def upload_of(upload_id, user) -> DepositFile | None:
    """A tus upload, for the user who started it only: anyone else's is « not found »."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        DepositFile.objects.select_related("envelope__deposit__consultation", "envelope__deposit__company")
        .filter(upload_id=upload_id, created_by=user)
        .first()
    )


def deposit_files(deposit: Deposit) -> QuerySet[DepositFile]:
    return DepositFile.objects.filter(envelope__deposit=deposit).select_related("envelope", "envelope__lot")


def part_names(deposit_file: DepositFile) -> list[str]:
    """The stored objects of a file, in order: after the header, they are its encrypted object."""
    return list(deposit_file.parts.order_by("number").values_list("object_name", flat=True))
