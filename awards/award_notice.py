"""The award notice (« avis d'attribution ») of a contract, as a public page and a sealed PDF.

A notice exists once the contract's essential data are published: by then the contract is
notified and its data are public by law, so the notice says nothing that is not already
public (the decision alone, or the letters, are not enough: the standstill and the
signature may still undo an award). It states the buyer, the consultation, the lot, the
winner(s) with their SIRET, the amount, the duration, the date of the award, the date of
notification and the number of offers received, from the published record (what was
published is what the notice says) and the names of the parties.
"""

import hashlib

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string

from awards.decp import PARIS, published_record
from awards.models import Decision, EssentialData, Outcome
from consultations.exports import offline_url_fetcher
from consultations.registers import moment_sentence, safe_filename_part


def notice_decision(decision_pk: int) -> Decision:
    """The decision, if its notice is public; 404 otherwise (its existence is not told)."""
    decision = get_object_or_404(
        Decision.objects.select_related(
            "consultation__organisation", "lot", "deposit__company", "essential_data"
        ),
        pk=decision_pk,
        outcome=Outcome.AWARDED,
    )
    try:
        essential_data = decision.essential_data
    except EssentialData.DoesNotExist:
        raise Http404 from None
    if essential_data.published_at is None:
        raise Http404
    return decision


def _winners(decision: Decision, record: dict) -> list[dict]:
    deposit = decision.deposit
    names = {
        member.siret: (member.name, member.get_role_display()) for member in deposit.consortium_members.all()
    }
    names.setdefault(deposit.company.siret, (deposit.company.name, ""))
    winners = []
    for item in record.get("titulaires", []):
        siret = item["titulaire"]["id"]
        name, role = names.get(siret, ("", ""))
        winners.append({"siret": siret, "name": name, "role": role})
    return winners


def _french_day(iso: str) -> str:
    if not iso:
        return ""
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"


def notice_context(decision: Decision) -> dict:
    essential_data = decision.essential_data
    record = published_record(essential_data)
    consultation = decision.consultation
    modifications = [item["modification"] for item in record.get("modifications", [])]
    for modification in modifications:
        modification["date"] = _french_day(modification["dateNotificationModification"])
    return {
        "platform_name": settings.PLATFORM_NAME,
        "platform_url": settings.PLATFORM_BASE_URL,
        "decision": decision,
        "consultation": consultation,
        "organisation": consultation.organisation,
        "lot": decision.lot,
        "record": record,
        "winners": _winners(decision, record),
        "consortium": decision.deposit.response_kind == "consortium",
        "amount": decision.amount,
        "duration_months": decision.duration_months,
        "decided_on": decision.decided_at.astimezone(PARIS).strftime("%d/%m/%Y"),
        "notified_on": _french_day(record.get("dateNotification", "")),
        "published_on": essential_data.published_at.astimezone(PARIS).strftime("%d/%m/%Y"),
        "published_at": moment_sentence(essential_data.published_at),
        "offers_received": record.get("offresRecues"),
        "modifications": modifications,
    }


def notice_html(decision: Decision) -> str:
    return render_to_string("awards/public/award_notice_pdf.html", notice_context(decision))


# A public page: each anonymous download must not cost a seal and a timestamp (an external
# authority may charge for each); the same notice, sealed once, is served for a day.
NOTICE_CACHE_SECONDS = 24 * 3600


def notice_pdf(decision: Decision) -> bytes:
    """The notice as a PDF (A4, tagged), sealed by the platform (PAdES, timestamped); unsealed,
    and said in the log, if the seal fails. Cached by the notice's content."""
    from django.core.cache import cache
    from weasyprint import HTML

    from signatures.platform import pdf_seal_or_unsealed, seal_fingerprint

    html = notice_html(decision)
    # The seal's certificate is in the key: after a rotation or a retirement, a new seal.
    key = f"award-notice:{seal_fingerprint()}:" + hashlib.sha256(html.encode("utf-8")).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached
    pdf = HTML(string=html, base_url=None, url_fetcher=offline_url_fetcher()).write_pdf(
        pdf_variant="pdf/ua-1"
    )
    pdf, sealed = pdf_seal_or_unsealed(pdf, reason="Avis d'attribution")
    if sealed:
        cache.set(key, pdf, NOTICE_CACHE_SECONDS)
    return pdf


def notice_filename(decision: Decision) -> str:
    reference = safe_filename_part(decision.consultation.reference)
    lot = f"-lot-{decision.lot.number}" if decision.lot_id else ""
    return f"avis-d-attribution-{reference}{lot}.pdf"
