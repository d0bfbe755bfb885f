import base64

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from accounts import services
from accounts.forms import OtpTokenForm, ProfileForm
from accounts.two_factor import (
    token_check,
    totp_device_confirm,
    totp_device_pending,
    totp_device_start,
    two_factor_disable,
    two_factor_enabled,
    two_factor_required,
)


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(user=request.user, request=request, **form.cleaned_data)
        messages.success(request, _("Votre profil est enregistré."))
        return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "two_factor_enabled": two_factor_enabled(request.user),
            "two_factor_required": two_factor_required(request.user),
        },
    )


@never_cache
@login_required
def two_factor(request):
    """Set up an authenticator app, or verify this session with the one already set up."""
    user = request.user
    form = OtpTokenForm(request.POST or None)
    enabled = two_factor_enabled(user)
    if enabled and user.is_verified():
        return render(
            request,
            "accounts/two_factor_enabled.html",
            {"two_factor_required": two_factor_required(user)},
        )
    if enabled:
        # A session opened without the code (e.g. before the obligation): verify it now.
        if request.method == "POST" and form.is_valid():
            device, error = token_check(user=user, token=form.cleaned_data["token"])
            if device is not None:
                otp_login(request, device)
                return redirect("accounts:home")
            form.add_error("token", error)
        return render(request, "accounts/two_factor_verify.html", {"form": form})

    device = totp_device_pending(user=user)
    if request.method == "POST" and device is not None and form.is_valid():
        error = totp_device_confirm(
            request=request, user=user, device=device, token=form.cleaned_data["token"]
        )
        if not error:
            messages.success(request, _("La double authentification est activée."))
            return redirect("accounts:profile")
        form.add_error("token", error)
    elif device is None or request.method == "GET":
        device = totp_device_start(user=user)
    qr_svg = segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_data_uri": qr_svg,
            "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "required": two_factor_required(user),
        },
    )


@login_required
@require_POST
def two_factor_remove(request):
    if not request.user.is_verified():
        # Only a session opened with the code may remove the code.
        messages.error(
            request, _("Saisissez d'abord un code de votre application pour vérifier cette session.")
        )
        return redirect("accounts:two_factor")
    if two_factor_disable(request=request, user=request.user):
        messages.success(request, _("La double authentification est désactivée."))
    else:
        messages.error(
            request, _("Votre habilitation « Ouvrir les plis » impose la double authentification.")
        )
    return redirect("accounts:profile")
