"""Login in two steps (password, then a TOTP code when the user has one), registration."""

import time

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from accounts import services
from accounts.forms import CompanyRegistrationForm, LoginForm, OtpTokenForm
from accounts.tokens import email_confirmation_token
from accounts.two_factor import token_check, two_factor_enabled
from accounts.views.helpers import base_url, form_add_service_error
from audit.services import event_record

PENDING_KEY = "accounts_pending_login"
PENDING_SECONDS = 300


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor_enabled(user):
            return super().form_valid(form)
        # The password was right; the session is opened only once the code is too.
        self.request.session[PENDING_KEY] = {
            "user_id": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_redirect_url(),
        }
        return redirect("accounts:login_otp")


@sensitive_post_parameters("token")
def login_otp(request):
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        messages.error(request, _("Votre connexion a expiré : saisissez à nouveau votre mot de passe."))
        return redirect("accounts:login")
    user = get_user_model().objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING_KEY, None)
        return redirect("accounts:login")
    form = OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, error = token_check(user=user, token=form.cleaned_data["token"])
        if device is None:
            event_record(action="accounts.otp_failed", actor=None, target=user, request=request)
            form.add_error("token", error)
        else:
            del request.session[PENDING_KEY]
            login(request, user, backend=pending["backend"])
            otp_login(request, device)
            target = pending.get("next") or ""
            if not url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                target = reverse("accounts:home")
            return redirect(target)
    return render(request, "accounts/login_otp.html", {"form": form})


class LogoutView(auth_views.LogoutView):
    template_name = "accounts/logged_out.html"


@sensitive_post_parameters("password1", "password2")
def register(request):
    if request.user.is_authenticated:
        return redirect("accounts:home")
    form = CompanyRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            company_user = services.company_register(
                siret=data["siret"],
                name=data["name"],
                legal_form=data["legal_form"],
                street=data["street"],
                postal_code=data["postal_code"],
                city=data["city"],
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                password=data["password1"],
                base_url=base_url(request),
                request=request,
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            return render(request, "accounts/register_done.html", {"email": company_user.user.email})
    return render(request, "accounts/register.html", {"form": form})


def register_confirm(request, uidb64: str, token: str):
    User = get_user_model()
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if (
        user is not None
        and user.email_confirmed_at is None
        and email_confirmation_token.check_token(user, token)
    ):
        services.user_confirm_email(user=user, request=request)
        messages.success(request, _("Votre adresse est confirmée : vous pouvez vous connecter."))
        return redirect("accounts:login")
    return render(request, "accounts/register_invalid.html", status=400)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        event_record(action="accounts.password_reset", actor=None, target=form.user, request=self.request)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        event_record(
            action="accounts.password_changed",
            actor=self.request.user,
            target=self.request.user,
            request=self.request,
        )
        messages.success(self.request, _("Votre mot de passe est changé."))
        return response
