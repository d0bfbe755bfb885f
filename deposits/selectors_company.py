"""Reads of the company's deposit pages: a company sees its own deposits, nobody else's."""

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, QuerySet, Sum

from consultations.models import Consultation, EnvelopeKind, RequestedDocument
from deposits.models import BackupCopy, Deposit, DepositFile, DepositState, Envelope


def company_deposits(company_id: int) -> QuerySet[Deposit]:
    """The company's deposits, the most recent first, with their file counts and sizes."""
    return (
        Deposit.objects.filter(company_id=company_id)
        .select_related("consultation", "consultation__organisation")
        .annotate(file_count=Count("envelopes__files"), total_size=Sum("envelopes__files__size"))
        .order_by("-created_at", "-pk")
    )


def company_draft(consultation: Consultation, company_id: int) -> Deposit | None:
    return (
        Deposit.objects.filter(consultation=consultation, company_id=company_id, state=DepositState.DRAFT)
        .select_related("consultation", "company")
        .first()
    )


def company_finalised(consultation: Consultation, company_id: int) -> list[Deposit]:
    return list(
        Deposit.objects.filter(consultation=consultation, company_id=company_id, state=DepositState.FINALISED)
        .select_related("consultation")
        .order_by("-received_at", "-pk")
    )


def company_has_deposit(consultation: Consultation, company_id: int) -> bool:
    return Deposit.objects.filter(consultation=consultation, company_id=company_id).exists()


def company_backup_copies(consultation: Consultation, company_id: int) -> list[BackupCopy]:
    return list(
        BackupCopy.objects.filter(consultation=consultation, company_id=company_id)
        .select_related("declared_by")
        .order_by("declared_at", "pk")
    )


@dataclass
class EnvelopeView:
    envelope: Envelope
    documents: list[str]
    files: list[DepositFile] = field(default_factory=list)

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)


def deposit_envelopes(deposit: Deposit) -> list[EnvelopeView]:
    """The deposit's envelopes in reading order (candidature, offers, variants by lot), each
    with the documents the consultation asks for in it and the files it holds."""
    requested = list(RequestedDocument.objects.filter(consultation_id=deposit.consultation_id))
    order = {EnvelopeKind.CANDIDATURE: 0, EnvelopeKind.OFFER: 1, EnvelopeKind.VARIANT: 2}
    envelopes = deposit.envelopes.select_related("lot").prefetch_related(
        Prefetch(
            "files", queryset=DepositFile.objects.select_related("created_by").order_by("created_at", "pk")
        )
    )
    views = [
        EnvelopeView(
            envelope=envelope,
            documents=[d.label for d in requested if d.envelope == envelope.kind],
            files=list(envelope.files.all()),
        )
        for envelope in envelopes
    ]
    views.sort(
        key=lambda v: (
            v.envelope.lot.number if v.envelope.lot_id else 0,
            order.get(v.envelope.kind, 9),
        )
    )
    # The candidature first, whatever the lots.
    views.sort(key=lambda v: v.envelope.kind != EnvelopeKind.CANDIDATURE)
    return views
