"""The receipt of a deposit (« accusé de réception »), before the platform seals it.

Everything it states about the deposit comes from the seal's canonical manifest (what the
chain and the timestamp cover), plus the names of the people and organisations involved:
depositor company and user, buyer organisation, consultation title and reference, the time
of receipt to the second in Paris time, the status, each document with its envelope, size
and SHA-256, the seal's hash and sequence and the timestamp's time. A practice deposit says
« DÉPÔT DE TEST » in its title and on every page. A4 portrait through WeasyPrint, which
fetches nothing.
"""

import json
from datetime import UTC, datetime

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import reverse

from consultations.exports import offline_url_fetcher
from consultations.models import EnvelopeKind
from consultations.registers import moment_sentence
from deposits.models import DepositStatus, Seal


def _envelope_label(envelope: dict) -> str:
    label = (
        str(EnvelopeKind(envelope["kind"]).label)
        if envelope["kind"] in EnvelopeKind.values
        else envelope["kind"]
    )
    return f"{label} — lot {envelope['lot']}" if envelope.get("lot") is not None else label


def receipt_context(seal: Seal) -> dict:
    manifest = json.loads(seal.manifest)
    deposit = seal.deposit
    consultation = deposit.consultation
    documents = [
        {
            "envelope": _envelope_label(envelope),
            "name": document["name"],
            "label": document.get("document", ""),
            "size": document["size"],
            # « 600 000 »: the exact size in bytes, grouped by three, as French writes it.
            "size_grouped": f"{document['size']:,}".replace(",", "\u00a0"),
            "size_text": filesizeformat(document["size"]),
            "sha256": document["sha256"],
        }
        for envelope in manifest["envelopes"]
        for document in envelope["files"]
    ]
    received_at = datetime.strptime(manifest["received_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    status = manifest["status"]
    return {
        "platform_name": settings.PLATFORM_NAME,
        "platform_url": settings.PLATFORM_BASE_URL,
        "check_url": settings.PLATFORM_BASE_URL + reverse("deposits:receipt_check"),
        "seal": seal,
        "manifest": manifest,
        "deposit": deposit,
        "consultation": consultation,
        "organisation": consultation.organisation,
        "company": deposit.company,
        "consortium": list(deposit.consortium_members.all()),
        "depositor": deposit.finalised_by.name_with_email if deposit.finalised_by else "",
        "practice": bool(manifest.get("practice")),
        "received_at": moment_sentence(received_at),
        "received_at_utc": manifest["received_at"],
        "status": DepositStatus(status).label if status in DepositStatus.values else status,
        "late": status == DepositStatus.LATE,
        "documents": documents,
        "total_size": filesizeformat(sum(d["size"] for d in documents)),
        "timestamped_at": moment_sentence(seal.timestamped_at),
        "timestamped_at_utc": seal.timestamped_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "own_authority": not settings.TIMESTAMP_URL,
        "sealed_at_iso": seal.sealed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def receipt_html(seal: Seal) -> str:
    return render_to_string("deposits/receipt/receipt.html", receipt_context(seal))


def receipt_pdf(seal: Seal) -> bytes:
    """The receipt, not yet sealed (``signatures.platform.pdf_seal`` does that)."""
    from weasyprint import HTML

    # PDF/UA-1: a tagged PDF (headings, tables, reading order) that screen readers can read.
    return HTML(string=receipt_html(seal), base_url=None, url_fetcher=offline_url_fetcher()).write_pdf(
        pdf_variant="pdf/ua-1"
    )
