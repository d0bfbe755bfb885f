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


def closing_notify(*, consultation: Consultation) -> list[str]:
    """At the closing, tell the consultation's creator and the agents who may open the
    deposits how many arrived on time (one per company: its last on-time deposit counts)
    and how many late. Returns the addresses written to."""
    from accounts.models import Agent
    from accounts.notifications import email_queue
    from deposits.models import Deposit, DepositState, DepositStatus

    finalised = Deposit.objects.filter(consultation=consultation, state=DepositState.FINALISED)
    on_time = finalised.filter(status=DepositStatus.ON_TIME).values("company_id").distinct().count()
    late = finalised.filter(status=DepositStatus.LATE).count()
    openers = Agent.objects.filter(
        organisation_id=consultation.organisation_id, can_open=True, user__is_active=True
    ).values_list("user__email", flat=True)
    emails = set(openers)
    if consultation.created_by.is_active:
        emails.add(consultation.created_by.email)
    recipients = sorted(email for email in emails if email)
    for email in recipients:
        email_queue(
            template="consultations/email/closed",
            context={"consultation": consultation, "on_time": on_time, "late": late},
            to=[email],
        )
    return recipients
