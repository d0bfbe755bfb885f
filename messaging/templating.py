"""Filling the placeholders of a message template: {reference}, {titre}…

Only known names between braces are replaced; anything else stays as written, so an
agent's text with braces of its own is never broken and no attribute is ever read.
"""

import re

from django.conf import settings
from django.urls import reverse

from consultations.registers import moment_sentence
from messaging.default_templates import DEFAULT_TEMPLATES
from messaging.models import Kind, MessageTemplate

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def template_fill(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def template_values(consultation, company=None) -> dict[str, str]:
    return {
        "reference": consultation.reference,
        "titre": consultation.title,
        "acheteur": consultation.organisation.name,
        "entreprise": company.name if company else "",
        "date_limite": moment_sentence(consultation.deadline),
        "lien": settings.PLATFORM_BASE_URL + reverse("consultations:detail", args=[consultation.pk]),
    }


def template_for(kind: str, consultation, company=None) -> tuple[str, str]:
    """The subject and text an agent starts from, filled for this consultation."""
    template = MessageTemplate.objects.filter(kind=kind).first()
    if template is not None:
        subject, body = template.subject, template.body
    else:
        subject, body = DEFAULT_TEMPLATES.get(kind, (str(Kind(kind).label), ""))
    values = template_values(consultation, company)
    return template_fill(subject, values), template_fill(body, values)
