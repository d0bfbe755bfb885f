"""The opening minutes (« PV d'ouverture des plis »): a PDF made with WeasyPrint, A4.

What was opened, by whom, when, with which key; for each deposit its depositor, its time of
receipt, its envelopes and files with sizes and SHA-256, the integrity found at the opening
and the antivirus result; the reason for late deposits. Nothing reaches the network or the
disk while rendering (``offline_url_fetcher``). The platform seals it (PAdES) when its seal
is available (``signatures/platform.py``).
"""

from dataclasses import dataclass, field

from django.template.loader import render_to_string

from consultations.exports import offline_url_fetcher
from consultations.models import EnvelopeKind
from consultations.registers import moment_text
from deposits.models import Deposit, DepositStatus, Envelope, Opening
from deposits.selectors import depositor_text
from deposits.services.signature_check import file_signatures
from signatures.platform import pdf_seal_or_unsealed


@dataclass
class MinutesDeposit:
    deposit: Deposit
    depositor: str
    received_at: str
    envelopes: list = field(default_factory=list)


def _opened_deposits(opening: Opening, problems: dict[int, str]) -> list[MinutesDeposit]:
    by_deposit: dict[int, MinutesDeposit] = {}
    envelopes = (
        opening.envelopes.select_related("deposit__company", "lot")
        .prefetch_related("files", "deposit__consortium_members")
        .order_by("deposit__received_at", "deposit_id", "kind", "lot__number", "pk")
    )
    for envelope in envelopes:
        deposit = envelope.deposit
        entry = by_deposit.get(deposit.pk)
        if entry is None:
            entry = by_deposit[deposit.pk] = MinutesDeposit(
                deposit=deposit,
                depositor=depositor_text(deposit),
                received_at=moment_text(deposit.received_at),
            )
        envelope_files = sorted(envelope.files.all(), key=lambda f: f.pk)
        files = [
            {
                "file": f,
                "problem": problems.get(f.pk, ""),
                "signatures": file_signatures(f, envelope_files, opening.consultation),
            }
            for f in envelope_files
        ]
        entry.envelopes.append({"envelope": envelope, "files": files})
    return list(by_deposit.values())


def minutes_html(opening: Opening, *, problems: dict[int, str] | None = None) -> str:
    consultation = opening.consultation
    deposits = _opened_deposits(opening, problems or {})
    not_admitted = []
    if opening.scope == Opening.Scope.OFFERS:
        # The on-time candidates whose offers stay sealed after this opening.
        offers_opened = Envelope.objects.filter(
            deposit__consultation=consultation,
            kind__in=(EnvelopeKind.OFFER, EnvelopeKind.VARIANT),
            opening__isnull=False,
        ).values("deposit_id")
        not_admitted = [
            depositor_text(d)
            for d in consultation.deposits.filter(status=DepositStatus.ON_TIME)
            .exclude(pk__in=offers_opened)
            .select_related("company")
            .prefetch_related("consortium_members")
            .order_by("received_at", "pk")
        ]
    files = [f for d in deposits for e in d.envelopes for f in e["files"]]
    return render_to_string(
        "deposits/opening/minutes.html",
        {
            "opening": opening,
            "consultation": consultation,
            "deadline": moment_text(consultation.deadline),
            "opened_at": moment_text(opening.opened_at),
            "deposits": deposits,
            "not_admitted": not_admitted,
            "file_count": len(files),
            "altered_count": sum(1 for f in files if f["file"].opening_check == "altered"),
        },
    )


def minutes_pdf(opening: Opening, *, problems: dict[int, str] | None = None) -> bytes:
    from weasyprint import HTML

    # PDF/UA-1: a tagged PDF (headings, tables, reading order) that screen readers can read.
    return HTML(
        string=minutes_html(opening, problems=problems), base_url=None, url_fetcher=offline_url_fetcher()
    ).write_pdf(pdf_variant="pdf/ua-1")


def minutes_seal(pdf: bytes) -> tuple[bytes, bool]:
    """The minutes sealed with the platform's certificate; returns (pdf, sealed). A seal
    that fails leaves the minutes unsealed, said in the audit log, rather than an opening
    that cannot be recorded."""
    return pdf_seal_or_unsealed(pdf, reason="Procès-verbal d'ouverture des plis")
