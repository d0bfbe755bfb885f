"""The e-mails that tell recipients a message waits for them on the platform.

The e-mail holds who wrote about which consultation and the link « Accéder au
contenu du message », never the content. One e-mail per recipient, sent by Celery
after the commit, retried with back-off; a permanent failure flags the message for
the agent.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from config import clock
from messaging.models import Delivery, DeliveryStatus, Message


def message_url(message: Message, *, for_company: bool) -> str:
    if for_company:
        path = reverse("messaging:company_message", args=[message.pk])
    else:
        path = reverse("messaging:buyer_message", args=[message.thread.consultation_id, message.pk])
    return settings.PLATFORM_BASE_URL + path


def deliveries_queue(message: Message, users) -> list[Delivery]:
    deliveries = Delivery.objects.bulk_create(
        Delivery(message=message, user=user, email=user.email) for user in users if user.email
    )
    from messaging.tasks import delivery_send

    ids = [d.pk for d in Delivery.objects.filter(message=message).order_by("pk")]
    transaction.on_commit(lambda: [delivery_send.delay(pk) for pk in ids])
    return deliveries


def _render(delivery: Delivery) -> tuple[str, str]:
    message = delivery.message
    consultation = message.thread.consultation
    context = {
        "platform_name": settings.PLATFORM_NAME,
        "platform_url": settings.PLATFORM_BASE_URL,
        "message": message,
        "consultation": consultation,
        "company": message.thread.company,
        "organisation": consultation.organisation,
        "to_company": message.is_to_company,
        "url": message_url(message, for_company=message.is_to_company),
    }
    subject = " ".join(render_to_string("messaging/email/notification_subject.txt", context).split())
    return subject, render_to_string("messaging/email/notification.txt", context)


def delivery_attempt(*, delivery_id: int) -> None:
    """Send one notification; raises OSError (SMTP errors are OSErrors) for a retry."""
    delivery = Delivery.objects.select_related(
        "message__thread__consultation__organisation", "message__thread__company"
    ).get(pk=delivery_id)
    if delivery.status != DeliveryStatus.PENDING:
        return
    Delivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1)
    subject, body = _render(delivery)
    try:
        send_mail(subject=subject, message=body, from_email=None, recipient_list=[delivery.email])
    except OSError as error:
        Delivery.objects.filter(pk=delivery.pk).update(error=f"{type(error).__name__}: {error}"[:255])
        raise
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT, sent_at=clock.now(), error="")


@transaction.atomic
def delivery_fail(*, delivery_id: int) -> None:
    """Give up on an e-mail: the message is flagged so the agent knows to reach the company."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    message = delivery.message
    if not message.email_failed:
        message.email_failed = True
        message.save(update_fields=["email_failed"])
