"""Reads of the messaging: what each side may see, inboxes and their filters.

A company user sees only its company's threads; an agent only its organisation's.
Anything else is « not found », so the existence of a message is never told.
"""

from datetime import datetime

from django.db.models import Count, Exists, Max, OuterRef, Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.permissions import agent_of, company_user_of
from messaging.models import Direction, Message, Thread


class MessageState:
    SENT = "sent"
    UNREAD = "unread"
    READ = "read"
    ANSWERED = "answered"
    AWAITING = "awaiting"
    OVERDUE = "overdue"
    FAILED = "failed"


STATE_FILTERS = {
    MessageState.SENT: _("Envoyés"),
    MessageState.UNREAD: _("Non lus par l'entreprise"),
    MessageState.READ: _("Lus"),
    MessageState.ANSWERED: _("Répondus"),
    MessageState.AWAITING: _("En attente de réponse"),
    MessageState.OVERDUE: _("Réponse en retard"),
    MessageState.FAILED: _("Courriel non remis"),
}


def with_reply_flag(queryset):
    return queryset.annotate(has_reply=Exists(Message.objects.filter(in_reply_to=OuterRef("pk"))))


def message_state_filter(queryset, state: str, *, now: datetime):
    """The buyer's messages in one state; an unknown state filters nothing."""
    queryset = with_reply_flag(queryset.filter(direction=Direction.TO_COMPANY))
    if state == MessageState.UNREAD:
        return queryset.filter(first_read_at__isnull=True)
    if state == MessageState.READ:
        return queryset.filter(first_read_at__isnull=False)
    if state == MessageState.ANSWERED:
        return queryset.filter(has_reply=True)
    if state == MessageState.AWAITING:
        return queryset.filter(answer_due_at__gt=now, has_reply=False)
    if state == MessageState.OVERDUE:
        return queryset.filter(answer_due_at__lte=now, has_reply=False)
    if state == MessageState.FAILED:
        return queryset.filter(email_failed=True)
    return queryset


def message_state(message: Message, *, now: datetime) -> str:
    """The one state shown beside a buyer's message (the most telling first)."""
    if message.email_failed:
        return MessageState.FAILED
    has_reply = getattr(message, "has_reply", None)
    if has_reply is None:
        has_reply = message.replies.exists()
    if has_reply:
        return MessageState.ANSWERED
    if message.answer_due_at is not None:
        return MessageState.OVERDUE if message.answer_due_at <= now else MessageState.AWAITING
    return MessageState.READ if message.first_read_at else MessageState.UNREAD


def company_threads(user):
    """The company's threads across consultations, the latest activity first, with
    how many of the buyer's messages nobody of the company has read yet."""
    company_user = company_user_of(user)
    if company_user is None:
        return Thread.objects.none()
    return (
        Thread.objects.filter(company_id=company_user.company_id)
        .select_related("consultation__organisation")
        .annotate(
            unread=Count(
                "messages",
                filter=Q(messages__direction=Direction.TO_COMPANY, messages__first_read_at__isnull=True),
            ),
            total=Count("messages"),
            last_sent_at=Max("messages__sent_at"),
        )
        .order_by("-last_sent_at", "-pk")
    )


def company_unread_count(user) -> int:
    company_user = company_user_of(user)
    if company_user is None:
        return 0
    return Message.objects.filter(
        thread__company_id=company_user.company_id, direction=Direction.TO_COMPANY, first_read_at__isnull=True
    ).count()


def company_message(user, pk: int) -> Message:
    """A message of the user's company's threads, or 404."""
    company_user = company_user_of(user)
    if company_user is None:
        raise Http404
    try:
        return Message.objects.select_related(
            "thread__consultation__organisation", "thread__company", "sent_by", "in_reply_to"
        ).get(pk=pk, thread__company_id=company_user.company_id)
    except Message.DoesNotExist as error:
        raise Http404 from error


def company_thread(user, pk: int) -> Thread:
    company_user = company_user_of(user)
    if company_user is None:
        raise Http404
    try:
        return Thread.objects.select_related("consultation__organisation", "company").get(
            pk=pk, company_id=company_user.company_id
        )
    except Thread.DoesNotExist as error:
        raise Http404 from error


def buyer_message(user, consultation_pk: int, pk: int) -> Message:
    """A message of one of the agent's organisation's consultations, or 404."""
    agent = agent_of(user)
    if agent is None:
        raise Http404
    try:
        return Message.objects.select_related(
            "thread__consultation__organisation", "thread__company", "sent_by", "first_read_by", "in_reply_to"
        ).get(
            pk=pk,
            thread__consultation_id=consultation_pk,
            thread__consultation__organisation_id=agent.organisation_id,
        )
    except Message.DoesNotExist as error:
        raise Http404 from error


def consultation_threads(consultation):
    """The consultation's threads for the buyer, with unread answers and waiting counts."""
    return (
        Thread.objects.filter(consultation=consultation)
        .select_related("company")
        .annotate(
            sent=Count("messages", filter=Q(messages__direction=Direction.TO_COMPANY)),
            replies=Count("messages", filter=Q(messages__direction=Direction.TO_BUYER)),
            unread_replies=Count(
                "messages",
                filter=Q(messages__direction=Direction.TO_BUYER, messages__first_read_at__isnull=True),
            ),
        )
        .order_by("company__name")
    )


def consultation_messages(consultation):
    return (
        Message.objects.filter(thread__consultation=consultation)
        .select_related("thread__company", "sent_by", "first_read_by")
        .prefetch_related("attachments", "deliveries")
        .order_by("-sent_at", "-pk")
    )
