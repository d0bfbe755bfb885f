"""The proof of one exchange (« Preuve d'échange »): a PDF anyone may keep and check.

It states who sent what to whom and when (Paris time to the second, and UTC), each
e-mail notification and its outcome, the first reading, the attachments with their
SHA-256, the content hash with how to recompute it (``messaging.proof``), whether the
stored content still matches that hash, and when the proof itself was produced.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string

from config import clock
from consultations.exports import offline_url_fetcher
from consultations.registers import moment_sentence, moment_text
from messaging.models import Delivery, DeliveryStatus, Message
from messaging.proof import message_canonical, message_intact


def _utc(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def _delivery_row(delivery: Delivery) -> dict:
    return {
        "email": delivery.email,
        "status": delivery.get_status_display(),
        "failed": delivery.status == DeliveryStatus.FAILED,
        "sent_at": moment_text(delivery.sent_at),
        "attempts": delivery.attempts,
        "error": delivery.error if delivery.status != DeliveryStatus.SENT else "",
    }


def message_proof_context(message: Message, *, produced_at: datetime) -> dict:
    message = (
        Message.objects.select_related(
            "thread__consultation__organisation", "thread__company", "sent_by", "first_read_by", "in_reply_to"
        )
        .prefetch_related("attachments", Prefetch("deliveries", queryset=Delivery.objects.order_by("email")))
        .get(pk=message.pk)
    )
    consultation = message.thread.consultation
    return {
        "platform_name": settings.PLATFORM_NAME,
        "platform_url": settings.PLATFORM_BASE_URL,
        "message": message,
        "consultation": consultation,
        "organisation": consultation.organisation,
        "company": message.thread.company,
        "sender": message.sent_by.name_with_email if message.sent_by else "",
        "sent_at": moment_sentence(message.sent_at),
        "sent_at_utc": _utc(message.sent_at),
        "answer_due_at": moment_sentence(message.answer_due_at),
        "in_reply_to_sent_at": moment_sentence(message.in_reply_to.sent_at) if message.in_reply_to else "",
        "first_read_at": moment_sentence(message.first_read_at),
        "first_read_at_utc": _utc(message.first_read_at),
        "reader": message.first_read_by.name_with_email if message.first_read_by else "",
        "deliveries": [_delivery_row(d) for d in message.deliveries.all()],
        "attachments": list(message.attachments.all()),
        "intact": message_intact(message),
        "canonical": message_canonical(message).decode("utf-8"),
        "produced_at": moment_sentence(produced_at),
        "produced_at_utc": _utc(produced_at),
        "produced_at_iso": produced_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def message_proof_html(message: Message, *, produced_at: datetime) -> str:
    return render_to_string("messaging/proof.html", message_proof_context(message, produced_at=produced_at))


def message_proof_pdf(message: Message) -> bytes:
    """A4 portrait through WeasyPrint, fetching nothing: one page for an ordinary message;
    sealed by the platform (unsealed, and said in the log, if the seal fails)."""
    from weasyprint import HTML

    from signatures.platform import pdf_seal_or_unsealed

    html = message_proof_html(message, produced_at=clock.now())
    pdf = HTML(string=html, base_url=None, url_fetcher=offline_url_fetcher()).write_pdf()
    return pdf_seal_or_unsealed(pdf, reason=f"Preuve d'échange — message n° {message.pk}")[0]
