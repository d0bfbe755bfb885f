"""Telling the companies that follow a consultation, through the secure messaging.

Every identified downloader gets a message of the platform (rectificatif, answer,
« sans suite ») in its thread, and an e-mail that only says a message waits for it;
anonymous downloaders cannot be told, which the download page says.
"""

from django.template.loader import render_to_string

from consultations.models import Consultation


def downloaders_notify(
    *, consultation: Consultation, user, kind: str, details: dict, extra_companies=()
) -> int:
    """Send the notice of ``kind`` to each company that downloaded the DCE identified
    (and to ``extra_companies``); the body is the kind's template, then the details.
    Returns how many companies were written to."""
    from messaging.services.sending import downloader_companies, notice_broadcast
    from messaging.templating import template_for

    subject, intro = template_for(kind, consultation)
    body = "\n\n".join(
        part
        for part in (
            intro.strip(),
            render_to_string(
                f"messaging/notices/{kind}.txt", {"consultation": consultation, **details}
            ).strip(),
        )
        if part
    )
    companies = {c.pk: c for c in downloader_companies(consultation)}
    for company in extra_companies:
        companies.setdefault(company.pk, company)
    notice_broadcast(
        consultation=consultation,
        user=user,
        kind=kind,
        subject=subject,
        body=body,
        companies=sorted(companies.values(), key=lambda c: c.name),
    )
    return len(companies)
