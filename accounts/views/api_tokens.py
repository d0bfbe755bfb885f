"""« Jetons d'accès à l'API »: a company user's personal tokens, in the profile area.

The creation answers with a redirection (POST, then GET): the new token waits in the
session and the page shows it once, so reloading the page makes no second token. The
revocation asks for a confirmation first (GET shows it, POST with the CSRF token revokes).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.api_tokens import api_token_create, api_token_revoke, api_tokens_of
from accounts.permissions import company_user_required
from accounts.views.helpers import form_add_service_error

# The token just made, until the page shows it (once): {"pk": …, "raw": …}.
CREATED_SESSION_KEY = "api_token_created"


class ApiTokenForm(forms.Form):
    label = forms.CharField(
        label=gettext_lazy("Libellé"),
        max_length=80,
        help_text=gettext_lazy(
            "Pour reconnaître le jeton plus tard, par exemple le nom du logiciel qui l'utilise."
        ),
    )


def _page(request, form, *, created=None, raw_token="", status=200):
    return render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "tokens": api_tokens_of(request.user), "created": created, "raw_token": raw_token},
        status=status,
    )


# never_cache: the page that shows a new token holds the token itself.
@never_cache
@company_user_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """The list, and the creation form; the new token is shown on the next page, once."""
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                token, raw = api_token_create(
                    user=request.user, label=form.cleaned_data["label"], request=request
                )
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                request.session[CREATED_SESSION_KEY] = {"pk": token.pk, "raw": raw}
                return redirect("accounts:api_tokens")
        return _page(request, form, status=400)
    created = request.session.pop(CREATED_SESSION_KEY, None)
    token = None
    if isinstance(created, dict):
        token = api_tokens_of(request.user).filter(pk=created.get("pk"), revoked_at__isnull=True).first()
    if token is None:
        return _page(request, ApiTokenForm())
    return _page(request, ApiTokenForm(), created=token, raw_token=created.get("raw", ""))


@company_user_required
@require_http_methods(["GET", "POST"])
def api_token_revoke_view(request, pk):
    """GET asks « Révoquer ce jeton ? »; POST (the confirmation's button) revokes it."""
    token = api_tokens_of(request.user).filter(pk=pk).first()
    if token is None:
        raise Http404
    if request.method == "GET":
        if token.revoked_at is not None:
            messages.info(request, _("Le jeton « %(label)s » est déjà révoqué.") % {"label": token.label})
            return redirect("accounts:api_tokens")
        return render(request, "accounts/api_token_revoke.html", {"token": token})
    api_token_revoke(token=token, user=request.user, request=request)
    messages.success(
        request,
        _("Le jeton « %(label)s » est révoqué : il ne donne plus accès à l'API.") % {"label": token.label},
    )
    return redirect("accounts:api_tokens")
