"""The buyer's opening keys: a consultation's « Clés de chiffrement », and the
organisation's backup key (« clé de secours ») for its administrators.

Any agent of the organisation sees a consultation's keys (an agent of another
organisation gets « not found »); adding or withdrawing one takes the permission to
create consultations, and the backup key the permission to administer (403 otherwise).
A generated key pair is answered at once as a PKCS#12 attachment: the only copy of the
private key, never stored, never offered again.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_require, agent_required
from consultations.registers import safe_filename_part
from consultations.views.buyer_common import agent_consultation
from deposits import selectors
from deposits.forms import KeyGenerateForm, KeyImportForm
from deposits.models import OpeningKey
from deposits.services.keys import (
    CERTIFICATE_MAX_BYTES,
    OpeningKeyError,
    backup_key_generate,
    backup_key_import,
    keys_changeable,
    opening_key_generate,
    opening_key_import,
    opening_key_revoke,
)

PKCS12_CONTENT_TYPE = "application/x-pkcs12"
GENERATE_PREFIX = "generer"
IMPORT_PREFIX = "importer"


def _error_into(form, error: OpeningKeyError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _certificate_bytes(form) -> bytes:
    uploaded = form.cleaned_data["certificate"]
    # One byte more than the service accepts is enough for it to say the file is too big.
    uploaded.seek(0)
    return uploaded.read(CERTIFICATE_MAX_BYTES + 1)


def _pkcs12_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=PKCS12_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


# --- A consultation's keys --------------------------------------------------------------


def _keys_page(request, consultation, *, generate_form=None, import_form=None):
    can_change = agent_can(request.user, AgentPermission.CREATE, consultation) and keys_changeable(
        consultation
    )
    return render(
        request,
        "deposits/buyer/keys.html",
        {
            "consultation": consultation,
            "keys": selectors.consultation_keys(consultation),
            "backup_key": selectors.backup_key_of(consultation.organisation_id),
            "can_change": can_change,
            "can_administer": agent_can(request.user, AgentPermission.ADMINISTER, consultation),
            "changeable": keys_changeable(consultation),
            "generate_form": generate_form or KeyGenerateForm(prefix=GENERATE_PREFIX),
            "import_form": import_form or KeyImportForm(prefix=IMPORT_PREFIX),
        },
    )


@never_cache
@agent_required
def keys(request, pk: int):
    return _keys_page(request, agent_consultation(request, pk))


@never_cache
@sensitive_post_parameters(f"{GENERATE_PREFIX}-password", f"{GENERATE_PREFIX}-password_confirm")
@agent_required
@require_POST
def key_generate(request, pk: int):
    consultation = agent_consultation(request, pk)
    agent_require(request.user, AgentPermission.CREATE, consultation)
    form = KeyGenerateForm(request.POST, prefix=GENERATE_PREFIX)
    if form.is_valid():
        try:
            key, pkcs12_bytes = opening_key_generate(
                consultation=consultation,
                user=request.user,
                password=form.cleaned_data["password"],
                label=form.cleaned_data["label"],
            )
        except OpeningKeyError as error:
            _error_into(form, error)
        else:
            filename = f"cle-{safe_filename_part(consultation.reference)}-{key.fingerprint[:8]}.p12"
            return _pkcs12_response(pkcs12_bytes, filename)
    return _keys_page(request, consultation, generate_form=form)


@never_cache
@agent_required
@require_POST
def key_import(request, pk: int):
    consultation = agent_consultation(request, pk)
    agent_require(request.user, AgentPermission.CREATE, consultation)
    form = KeyImportForm(request.POST, request.FILES, prefix=IMPORT_PREFIX)
    if form.is_valid():
        try:
            key = opening_key_import(
                consultation=consultation,
                user=request.user,
                certificate=_certificate_bytes(form),
                label=form.cleaned_data["label"],
            )
        except OpeningKeyError as error:
            _error_into(form, error)
        else:
            messages.success(
                request,
                _("Le certificat « %(label)s » est enregistré comme clé de chiffrement de la consultation.")
                % {"label": key.label},
            )
            return redirect("deposits:buyer_keys", pk=consultation.pk)
    return _keys_page(request, consultation, import_form=form)


@never_cache
@agent_required
@require_http_methods(["GET", "POST"])
def key_revoke(request, pk: int, key_pk: int):
    consultation = agent_consultation(request, pk)
    key = get_object_or_404(OpeningKey, pk=key_pk, consultation=consultation)
    agent_require(request.user, AgentPermission.CREATE, consultation)
    error = None
    if request.method == "POST":
        try:
            opening_key_revoke(key=key, user=request.user)
        except OpeningKeyError as refused:
            error = refused.message
        else:
            messages.success(request, _("La clé « %(label)s » est retirée.") % {"label": key.label})
            return redirect("deposits:buyer_keys", pk=consultation.pk)
    return render(
        request,
        "deposits/buyer/key_revoke.html",
        {
            "consultation": consultation,
            "key": key,
            "error": error,
            "changeable": keys_changeable(consultation),
        },
    )


# --- The organisation's backup key ------------------------------------------------------


def _organisation_administered(request):
    organisation = request.user.agent.organisation
    if not agent_can(request.user, AgentPermission.ADMINISTER, organisation):
        raise PermissionDenied
    return organisation


def _backup_page(request, organisation, *, generate_form=None, import_form=None):
    current = selectors.backup_key_of(organisation.pk)
    return render(
        request,
        "deposits/buyer/backup_key.html",
        {
            "organisation": organisation,
            "backup_key": current,
            "backup_key_list": [current] if current else [],
            "previous_keys": OpeningKey.objects.backup()
            .filter(organisation=organisation, revoked_at__isnull=False)
            .select_related("created_by", "revoked_by")
            .order_by("-revoked_at", "-pk"),
            "generate_form": generate_form or KeyGenerateForm(prefix=GENERATE_PREFIX),
            "import_form": import_form or KeyImportForm(prefix=IMPORT_PREFIX),
        },
    )


@never_cache
@agent_required
def backup_key(request):
    return _backup_page(request, _organisation_administered(request))


@never_cache
@sensitive_post_parameters(f"{GENERATE_PREFIX}-password", f"{GENERATE_PREFIX}-password_confirm")
@agent_required
@require_POST
def backup_key_generate_view(request):
    organisation = _organisation_administered(request)
    form = KeyGenerateForm(request.POST, prefix=GENERATE_PREFIX)
    if form.is_valid():
        try:
            key, pkcs12_bytes = backup_key_generate(
                organisation=organisation,
                user=request.user,
                password=form.cleaned_data["password"],
                label=form.cleaned_data["label"],
            )
        except OpeningKeyError as error:
            _error_into(form, error)
        else:
            return _pkcs12_response(pkcs12_bytes, f"cle-de-secours-{key.fingerprint[:8]}.p12")
    return _backup_page(request, organisation, generate_form=form)


@never_cache
@agent_required
@require_POST
def backup_key_import_view(request):
    organisation = _organisation_administered(request)
    form = KeyImportForm(request.POST, request.FILES, prefix=IMPORT_PREFIX)
    if form.is_valid():
        try:
            key = backup_key_import(
                organisation=organisation,
                user=request.user,
                certificate=_certificate_bytes(form),
                label=form.cleaned_data["label"],
            )
        except OpeningKeyError as error:
            _error_into(form, error)
        else:
            messages.success(
                request,
                _("Le certificat « %(label)s » est désormais la clé de secours de votre organisme.")
                % {"label": key.label},
            )
            return redirect("deposits:buyer_backup_key")
    return _backup_page(request, organisation, import_form=form)


@never_cache
@agent_required
@require_http_methods(["GET", "POST"])
def backup_key_revoke(request, key_pk: int):
    organisation = _organisation_administered(request)
    key = get_object_or_404(OpeningKey.objects.backup(), pk=key_pk, organisation=organisation)
    error = None
    if request.method == "POST":
        try:
            opening_key_revoke(key=key, user=request.user)
        except OpeningKeyError as refused:
            error = refused.message
        else:
            messages.success(
                request, _("La clé de secours « %(label)s » est retirée.") % {"label": key.label}
            )
            return redirect("deposits:buyer_backup_key")
    return render(
        request,
        "deposits/buyer/key_revoke.html",
        {"consultation": None, "key": key, "error": error, "changeable": True},
    )
