"""The « Messagerie » line of the buyer's « Mes actions », with its counts.

Usage: ``{% load messaging_buyer %}{% messaging_buyer_summary consultation as messaging %}``.
"""

from django import template
from django.db.models import Count, Q

from accounts.permissions import agent_belongs
from messaging.models import Direction, Message

register = template.Library()


@register.simple_tag(takes_context=True)
def messaging_buyer_summary(context, consultation) -> dict:
    """Whether the link is shown (an agent of the buyer, once published) and the counts."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or consultation.published_at is None or not agent_belongs(user, consultation):
        return {"visible": False}
    counts = Message.objects.filter(thread__consultation=consultation).aggregate(
        companies=Count("thread", distinct=True),
        sent=Count("pk", filter=Q(direction=Direction.TO_COMPANY)),
        unread_replies=Count("pk", filter=Q(direction=Direction.TO_BUYER, first_read_at__isnull=True)),
    )
    return {"visible": True, **counts}
