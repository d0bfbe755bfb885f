"""Telling the companies that follow a consultation.

The identified downloaders are told of every change (rectificatif, answer,
cancellation); anonymous downloaders cannot be, which the download page says.
The secure messaging will turn these notices into messages of its own.
"""

from django.conf import settings
from django.urls import reverse

from accounts.notifications import email_queue
from consultations.models import Consultation, Download


def downloader_emails(consultation: Consultation) -> list[str]:
    """The address of every user who downloaded the DCE for a company, once each."""
    return sorted(
        set(
            Download.objects.filter(consultation=consultation, user__is_active=True).values_list(
                "user__email", flat=True
            )
        )
    )


def downloaders_notify(*, consultation: Consultation, template: str, context: dict) -> int:
    """Mail each identified downloader separately (no one sees the others); returns how many."""
    url = settings.PLATFORM_BASE_URL + reverse("consultations:detail", args=[consultation.pk])
    emails = downloader_emails(consultation)
    for email in emails:
        email_queue(
            template=template,
            context={"consultation": consultation, "url": url, **context},
            to=[email],
        )
    return len(emails)
