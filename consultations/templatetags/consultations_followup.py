"""What the follow-up partials (« Mes actions », registers, questions) need to know,
computed here so the pages that include them pass nothing but ``consultation``.

Usage: ``{% load consultations_followup %}{% followup_public consultation as followup %}``.
"""

from django import template
from django.db.models import Count, Q

from accounts.models import AgentPermission
from accounts.permissions import agent_belongs, agent_can, company_user_of
from consultations import policy
from consultations.models import Question, State
from consultations.registers import register_counts
from consultations.services.questions import questions_deadline_passed

register = template.Library()


@register.simple_tag(takes_context=True)
def followup_buyer(context, consultation) -> dict:
    """Which follow-up actions the agent may take on this consultation, with the counts."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not agent_belongs(user, consultation):
        return {"visible": False}
    questions = Question.objects.filter(consultation=consultation).aggregate(
        total=Count("pk"), unanswered=Count("pk", filter=Q(answered_at__isnull=True))
    )
    can_create = agent_can(user, AgentPermission.CREATE, consultation)
    published = consultation.published_at is not None
    result = {
        "visible": True,
        "can_amend": can_create and consultation.state == State.ONLINE,
        "can_cancel": agent_can(user, AgentPermission.DECIDE, consultation)
        and consultation.state in policy.CANCELLABLE_STATES,
        "can_see_questions": can_create and (published or questions["total"] > 0),
        "questions_total": questions["total"],
        "unanswered": questions["unanswered"],
        "amendments": consultation.amendments.count() if published else 0,
        "registers": register_counts(consultation),
        "published": published,
    }
    result["any"] = published or result["can_amend"] or result["can_cancel"] or result["can_see_questions"]
    return result


@register.simple_tag(takes_context=True)
def followup_public(context, consultation) -> dict:
    """The answered questions (never who asked), this company's own questions, and whether it may ask."""
    request = context.get("request")
    user = getattr(request, "user", None)
    unlocked = request is not None and policy.dce_unlocked(request, consultation)
    company_user = company_user_of(user) if user is not None else None
    questions = Question.objects.filter(consultation=consultation).only(
        "pk", "company_id", "asked_at", "text", "answer", "answered_at"
    )
    if not unlocked:
        # A restricted consultation keeps its answers for those who gave the code; a company
        # still sees its own questions.
        questions = questions.filter(company_id=company_user.company_id) if company_user else questions.none()
    questions = list(questions)
    question_deadline = consultation.question_deadline()
    online = policy.is_online(consultation)
    deadline_passed = questions_deadline_passed(consultation)
    return {
        "unlocked": unlocked,
        "answered": [q for q in questions if q.is_answered] if unlocked else [],
        "own": [q for q in questions if company_user and q.company_id == company_user.company_id],
        "company_user": company_user,
        "anonymous": user is None or not user.is_authenticated,
        "online": online,
        "question_deadline": question_deadline,
        "deadline_passed": deadline_passed,
        "can_ask": company_user is not None and online and not deadline_passed,
    }
