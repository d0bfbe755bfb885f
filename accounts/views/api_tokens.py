"""« Jetons d'accès à l'API »: a company user's personal tokens, in the profile area."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.api_tokens import api_token_create, api_token_revoke, api_tokens_of
from accounts.permissions import company_user_required
from accounts.views.helpers import form_add_service_error


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


# never_cache: the answer to the creation holds the token itself.
@never_cache
@company_user_required
def api_tokens(request):
    """The list, and the creation form; the new token is shown in the answer, once."""
    if request.method != "POST":
        return _page(request, ApiTokenForm())
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, raw = api_token_create(
                user=request.user, label=form.cleaned_data["label"], request=request
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            return _page(request, ApiTokenForm(), created=token, raw_token=raw)
    return _page(request, form, status=400)


@require_POST
@company_user_required
def api_token_revoke_view(request, pk):
    token = api_tokens_of(request.user).filter(pk=pk).first()
    if token is None:
        raise Http404
    api_token_revoke(token=token, user=request.user, request=request)
    messages.success(
        request,
        _("Le jeton « %(label)s » est révoqué : il ne donne plus accès à l'API.") % {"label": token.label},
    )
    return redirect("accounts:api_tokens")
