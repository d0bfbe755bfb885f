"""E-mails about accounts, rendered from templates and sent by Celery after commit."""

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.tasks import email_send
from accounts.tokens import email_confirmation_token


def email_queue(*, template: str, context: dict, to: list[str]) -> None:
    context = {"platform_name": settings.PLATFORM_NAME, "platform_url": settings.PLATFORM_BASE_URL, **context}
    # A subject is one line whatever the buyer typed in a title or a reference.
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    body = render_to_string(f"{template}.txt", context)
    transaction.on_commit(lambda: email_send.delay(subject=subject, body=body, to=to))


def _uid(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def confirmation_email_queue(*, user, base_url: str) -> None:
    path = reverse(
        "accounts:register_confirm",
        kwargs={"uidb64": _uid(user), "token": email_confirmation_token.make_token(user)},
    )
    email_queue(
        template="accounts/email/confirm",
        context={"user": user, "url": base_url + path},
        to=[user.email],
    )


def invitation_email_queue(*, user, invited_by, base_url: str, organisation_name: str) -> None:
    """Ask a new account's owner to choose a password (the reset link serves for that)."""
    from django.contrib.auth.tokens import default_token_generator

    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={"uidb64": _uid(user), "token": default_token_generator.make_token(user)},
    )
    email_queue(
        template="accounts/email/invitation",
        context={
            "user": user,
            "invited_by": invited_by,
            "organisation_name": organisation_name,
            "url": base_url + path,
        },
        to=[user.email],
    )
