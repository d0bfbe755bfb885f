"""The e-mails that tell recipients a message waits for them on the platform.

The e-mail holds who wrote about which consultation and the link « Accéder au
contenu du message », never the content. One e-mail per recipient, sent by Celery
after the commit, retried with back-off; a permanent failure flags the message for
the agent.
"""

from datetime import timedelta

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
    """One e-mail per recipient, queued after the commit. With no one to tell (no active
    user with an address), the message is flagged at once, as a failed e-mail would be."""
    deliveries = Delivery.objects.bulk_create(
        Delivery(message=message, user=user, email=user.email) for user in users if user.email
    )
    if not deliveries:
        message.email_failed = True
        message.save(update_fields=["email_failed"])
        return []
    for pk in (delivery.pk for delivery in deliveries):
        # Robust: a broker down after the commit must not turn a sent message into an
        # error page; the sweep queues what was left pending.
        # A lambda, not functools.partial: Django names the callable when a robust one fails.
        transaction.on_commit(lambda pk=pk: _queue(pk), robust=True)
    return deliveries


def _queue(delivery_id: int) -> None:
    from messaging.tasks import delivery_send

    delivery_send.delay(delivery_id)


# A delivery never tried this long after sending was lost on its way to the queue; one
# still pending after the whole retry schedule (about two hours) is given up.
REQUEUE_AFTER = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(hours=6)


def deliveries_sweep() -> dict[str, int]:
    """Queue again the e-mails lost before their first try; fail the ones stuck for hours."""
    now = clock.now()
    pending = Delivery.objects.filter(status=DeliveryStatus.PENDING)
    stuck = list(pending.filter(message__sent_at__lte=now - GIVE_UP_AFTER).values_list("pk", flat=True))
    for pk in stuck:
        delivery_fail(delivery_id=pk)
    lost = list(
        pending.filter(attempts=0, message__sent_at__lte=now - REQUEUE_AFTER)
        .exclude(pk__in=stuck)
        .values_list("pk", flat=True)
    )
    for pk in lost:
        _queue(pk)
    return {"requeued": len(lost), "failed": len(stuck)}


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
    if delivery.status != DeliveryStatus.PENDING:
        return
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    message = delivery.message
    if not message.email_failed:
        message.email_failed = True
        message.save(update_fields=["email_failed"])
