"""Logins, logouts and failed logins go to the audit history (never a password)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.services import event_record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    event_record(action="accounts.login", actor=user, target=user, request=request)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        event_record(action="accounts.logout", actor=user, target=user, request=request)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    event_record(
        action="accounts.login_failed",
        request=request,
        data={"username": str(credentials.get("username", ""))[:254]},
    )
