"""Two-factor authentication with TOTP (django-otp): available to all, required for openers."""

from django.db import transaction
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.services import event_record


def two_factor_required(user: User) -> bool:
    """Platform administrators and agents who may open bids must use a second factor."""
    if user.is_staff:
        return True
    agent = user.agent_or_none
    return agent is not None and agent.requires_two_factor


def two_factor_enabled(user: User) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def totp_device_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed device whose secret the user scans; it counts once confirmed."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Application d'authentification", confirmed=False)


def totp_device_pending(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def token_check(*, user: User, token: str, device: TOTPDevice | None = None) -> tuple[TOTPDevice | None, str]:
    """Verify a code; return the device it matched, or ``None`` and the French reason."""
    token = "".join(token.split())
    candidates = [device] if device is not None else list(devices_for_user(user, confirmed=True))
    for candidate in candidates:
        allowed, _data = candidate.verify_is_allowed()
        if not allowed:
            return (
                None,
                "Trop d'essais : patientez quelques secondes avant de saisir un nouveau code.",
            )
        if candidate.verify_token(token):
            return candidate, ""
    return (
        None,
        "Code incorrect ou expiré : saisissez le code à 6 chiffres affiché par votre application.",
    )


@transaction.atomic
def totp_device_confirm(*, request, user: User, device: TOTPDevice, token: str) -> str:
    """Confirm a device with its first code and mark the session verified; '' on success."""
    matched, error = token_check(user=user, token=token, device=device)
    if matched is None:
        return error
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    matched.confirmed = True
    matched.save(update_fields=["confirmed"])
    otp_login(request, matched)
    event_record(action="accounts.two_factor_enabled", actor=user, target=user, request=request)
    return ""


@transaction.atomic
def two_factor_disable(*, request, user: User) -> bool:
    if two_factor_required(user):
        return False
    TOTPDevice.objects.filter(user=user).delete()
    event_record(action="accounts.two_factor_disabled", actor=user, target=user, request=request)
    return True
