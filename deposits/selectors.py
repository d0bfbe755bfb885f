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


# --- After the deadline: the register of deposits, the openings, the opened files ----------


def finalised_deposits(consultation: Consultation) -> QuerySet[Deposit]:
    """The consultation's finalised deposits (on time, late, superseded), in order of receipt,
    with their company, consortium members, envelopes and files. Drafts are never listed."""
    from django.db.models import Prefetch

    from deposits.models import DepositState

    envelopes = Envelope.objects.select_related("lot", "opening").prefetch_related("files")
    return (
        Deposit.objects.filter(consultation=consultation, state=DepositState.FINALISED)
        .select_related("company")
        .prefetch_related("consortium_members", Prefetch("envelopes", queryset=envelopes))
        .order_by("received_at", "pk")
    )


def backup_copies_by_company(consultation: Consultation) -> dict[int, list]:
    """The backup copies (« copies de sauvegarde ») declared for the consultation, by company id."""
    copies: dict[int, list] = {}
    for copy in consultation.backup_copies.order_by("declared_at", "pk"):
        copies.setdefault(copy.company_id, []).append(copy)
    return copies


def depositor_text(deposit: Deposit) -> str:
    """Who answered: the company, or the consortium with its representative first."""
    from django.utils.translation import gettext as _

    from deposits.models import ConsortiumRole, ResponseKind

    company = f"{deposit.company.name} ({deposit.company.siret})"
    members = list(deposit.consortium_members.all())
    if deposit.response_kind != ResponseKind.CONSORTIUM or not members:
        return company
    lead = [m for m in members if m.role == ConsortiumRole.REPRESENTATIVE]
    others = [m for m in members if m.role != ConsortiumRole.REPRESENTATIVE]
    kind = deposit.get_consortium_kind_display() or _("Groupement")
    text = _("%(kind)s — mandataire : %(lead)s") % {
        "kind": kind,
        "lead": f"{lead[0].name} ({lead[0].siret})" if lead else company,
    }
    if others:
        text += " ; " + _("cotraitants : %(members)s") % {
            "members": ", ".join(f"{m.name} ({m.siret})" for m in others)
        }
    return text


def consultation_openings(consultation: Consultation) -> QuerySet:
    from deposits.models import Opening

    return (
        Opening.objects.filter(consultation=consultation)
        .select_related("opened_by", "key")
        .order_by("opened_at", "pk")
    )


def opening_of(consultation: Consultation, opening_id) -> object | None:
    return consultation_openings(consultation).filter(pk=opening_id).first()


def opened_file_of(consultation: Consultation, file_id) -> DepositFile | None:
    """A file of the consultation that was opened and found intact; anything else is « not found »."""
    from deposits.models import OpeningCheck

    return (
        DepositFile.objects.select_related("envelope__deposit")
        .filter(
            pk=file_id,
            envelope__deposit__consultation=consultation,
            envelope__opening__isnull=False,
            opening_check=OpeningCheck.INTACT,
            opened_key__isnull=False,
        )
        .first()
    )


def register_rows(consultation: Consultation) -> list[dict]:
    """The register of deposits as the buyer's page and its exports read it: each finalised
    deposit with its depositor, consortium members, envelopes (files, count, size, opened or
    not), totals and declared backup copies."""
    copies = backup_copies_by_company(consultation)
    rows = []
    for deposit in finalised_deposits(consultation):
        envelopes = []
        for envelope in deposit.envelopes.all():
            files = list(envelope.files.all())
            envelopes.append(
                {
                    "envelope": envelope,
                    "files": files,
                    "count": len(files),
                    "size": sum(f.size for f in files),
                    "opened": envelope.opening_id is not None,
                }
            )
        rows.append(
            {
                "deposit": deposit,
                "depositor": depositor_text(deposit),
                "members": list(deposit.consortium_members.all()),
                "envelopes": envelopes,
                "count": sum(e["count"] for e in envelopes),
                "size": sum(e["size"] for e in envelopes),
                "backup_copies": copies.get(deposit.company_id, []),
            }
        )
    return rows
