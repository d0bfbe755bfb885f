"""What the suites partials (« Mes actions », the chain of suites) need, computed here so
the details page passes nothing but ``consultation``.

Usage: ``{% load consultations_suites %}{% suites_buyer consultation as suites %}``.
"""

from django import template

from accounts.models import AgentPermission
from accounts.permissions import agent_belongs, agent_can
from consultations.models import State
from consultations.services.deletion import DELETABLE_STATES
from consultations.services.suites import SUITE_PARENT_STATES, suite_chain, suite_invitations_sent

register = template.Library()


@register.simple_tag(takes_context=True)
def suites_buyer(context, consultation) -> dict:
    """Which suite actions this agent may take on the consultation."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not agent_belongs(user, consultation):
        return {"visible": False}
    can_create = agent_can(user, AgentPermission.CREATE, consultation)
    is_suite = consultation.parent_id is not None
    has_suites = consultation.suites.exists()
    return {
        "visible": True,
        "can_create_suite": can_create and consultation.state in SUITE_PARENT_STATES,
        "can_invite": can_create and is_suite and consultation.state == State.ONLINE,
        "invitations": suite_invitations_sent(consultation).count() if is_suite else 0,
        "can_delete": can_create and consultation.state in DELETABLE_STATES and not has_suites,
        "has_suites": has_suites,
    }


@register.simple_tag
def suites_chain(consultation) -> dict:
    """The consultation's place in its chain: its initial one, its suites, the whole chain."""
    suites = list(consultation.suites.order_by("created_at", "pk"))
    if consultation.parent_id is None and not suites:
        return {"visible": False}
    _root, rows = suite_chain(consultation)
    references = {node.pk: node.reference for node, _depth in rows}
    return {
        "visible": True,
        "parent": consultation.parent,
        "suites": suites,
        "rows": [
            {
                "consultation": node,
                "depth": depth,
                "current": node.pk == consultation.pk,
                "parent_reference": references.get(node.parent_id, ""),
            }
            for node, depth in rows
        ],
        "dce_to_confirm": consultation.parent_id is not None and consultation.state == State.DRAFT,
    }
