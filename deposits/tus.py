"""The tus 1.0 resumable upload protocol (https://tus.io/protocols/resumable-upload), as
tus-js-client 4 (the deposit page) and tuspy (scripts) speak it. Extensions: creation,
termination, checksum (sha1, sha256), expiration (an unfinished upload expires 7 days after
it started: ``Upload-Expires`` says when; then 410, and a daily sweep removes it). Not
supported: Upload-Defer-Length, concatenation, creation-with-upload.

    OPTIONS /depots/tus/               what the server supports (no login needed)
    POST    /depots/tus/               creation: Upload-Length, Upload-Metadata → 201 + Location
    HEAD    /depots/tus/<id>/          Upload-Offset, Upload-Length
    PATCH   /depots/tus/<id>/          Upload-Offset + body → 204 + the new Upload-Offset
    DELETE  /depots/tus/<id>/          termination, while the deposit is a draft

Upload-Metadata (base64 values): ``filename``, ``deposit`` (id), ``envelope`` (id) or
``kind`` (candidature, offer) with ``lot`` (its number; none without lots), ``document``
(the requested document's label, optional).

A PATCH keeps whole segments of the encryption only (``deposits/ingest.py``): its answer's
Upload-Offset may stop short of the body, and both clients continue from the offset they
are answered. Any chunk size of at least 64 KiB works; a smaller chunk that does not end the
file is refused (400), since nothing of it could ever be kept.

Who may call. The upload URLs serve the company user who created the upload, and nobody
else (404 for anyone else, as for an unknown id). Requests come from the deposit page's
JavaScript with the session cookie, so they are open to cross-site request forgery like any
form; the views are exempted from Django's middleware only to answer in tus terms (a French
text, a status the client understands) and to leave room for the API token of companies'
software, which will carry no cookie. For a session, they apply Django's own check
themselves: a trusted Origin if one is sent, and the ``X-CSRFToken`` header matching the
CSRF cookie, as for any AJAX call (tus-js-client sends it through its ``headers`` option).
Two more walls stand in front of a forged request: every request but OPTIONS must carry
``Tus-Resumable``, a header no cross-site form can set and no cross-origin script may send
without a CORS preflight, which the platform never grants; and the session cookie is
SameSite=Lax, so other sites' requests do not carry it.

Companies' software sends a personal token instead (``Authorization: Bearer sdm_…``,
accounts/api_tokens.py): the request is then its user's, judged by the token alone (an
invalid one is a 401, never a fall back to a session), and no CSRF check applies since no
cookie authenticates it.
"""

import base64
import binascii
import hashlib

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from accounts.api_tokens import INVALID_TOKEN, api_token_authenticate, bearer_token
from deposits import selectors
from deposits.services.deposits import company_user_require
from deposits.services.errors import DepositError
from deposits.services.uploads import (
    deposit_file_create,
    deposit_file_receive,
    deposit_file_remove,
    upload_expires_at,
)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,checksum,expiration"
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
METADATA_MAX_LENGTH = 4096

STATUS = {
    "invalid": 400,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "gone": 410,
    "length_required": 411,
    "too_large": 413,
    "unsupported": 415,
    "checksum": 460,
    "unavailable": 503,
}


class _Refusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _response(status: int, message: str = "", **headers) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _options() -> HttpResponse:
    response = _response(204)
    response["Tus-Version"] = TUS_VERSION
    response["Tus-Extension"] = TUS_EXTENSIONS
    response["Tus-Max-Size"] = str(settings.DEPOSIT_MAX_FILE_BYTES)
    response["Tus-Checksum-Algorithm"] = ",".join(CHECKSUM_ALGORITHMS)
    return response


def _method(request: HttpRequest) -> str:
    # tus-js-client's overridePatchMethod, for proxies that drop PATCH.
    override = request.headers.get("X-HTTP-Method-Override", "").upper()
    if request.method == "POST" and override in {"PATCH", "DELETE"}:
        return override
    return request.method


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def _csrf_reason(request: HttpRequest) -> str | None:
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


def _precheck(request: HttpRequest) -> None:
    """The protocol version, a company user's token or session, and the CSRF check for a
    session's writes."""
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise _Refusal(412, _("Ce service parle le protocole tus 1.0.0 (en-tête Tus-Resumable)."))
    raw_token = bearer_token(request.headers.get("Authorization"))
    if raw_token is not None:
        # A token, and only the token: no cookie is involved, so no CSRF check, and a bad
        # token never falls back to a session the same request may carry.
        token = api_token_authenticate(raw_token)
        if token is None:
            raise _Refusal(401, str(INVALID_TOKEN))
        request.user = token.user
    elif not request.user.is_authenticated:
        raise _Refusal(403, _("Votre session a expiré : reconnectez-vous pour continuer le dépôt."))
    elif _csrf_reason(request):
        raise _Refusal(
            403, _("La page de dépôt a expiré (jeton de sécurité) : rechargez-la pour reprendre l'envoi.")
        )
    try:
        company_user_require(request.user)
    except PermissionDenied:
        raise _Refusal(403, _("Seul un compte entreprise peut déposer un pli.")) from None


def _integer(value: str | None, header: str) -> int:
    # 20 digits at most: beyond any file, and far from Python's limit on int() of long strings.
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 20:
        raise _Refusal(
            400, _("L'en-tête %(header)s doit être un nombre entier positif.") % {"header": header}
        )
    return int(value)


def metadata_parse(header: str) -> dict[str, str]:
    """``key base64,key base64,key`` → {key: text}; a value is UTF-8 in base64."""
    if len(header) > METADATA_MAX_LENGTH:
        raise _Refusal(400, _("L'en-tête Upload-Metadata est trop long."))
    metadata = {}
    for pair in filter(None, (item.strip() for item in header.split(","))):
        key, _space, value = pair.partition(" ")
        try:
            metadata[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # ValueError: non-ASCII text, or not UTF-8
            raise _Refusal(
                400, _("L'en-tête Upload-Metadata est mal formé (valeur « %(key)s »).") % {"key": key}
            ) from None
    return metadata


def _location(deposit_file) -> str:
    # A path: both clients resolve it against the URL they posted to, whatever the host.
    return reverse("deposits:tus_upload", args=[deposit_file.upload_id])


def _metadata_header(deposit_file) -> str:
    values = {
        "filename": deposit_file.name,
        "deposit": str(deposit_file.envelope.deposit_id),
        "envelope": str(deposit_file.envelope_id),
        "document": deposit_file.document_label,
    }
    return ",".join(
        f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}"
        for key, value in values.items()
        if value
    )


def _create(request: HttpRequest) -> HttpResponse:
    if request.headers.get("Upload-Defer-Length") is not None:
        raise _Refusal(400, _("La taille du fichier doit être annoncée dès le début (Upload-Length)."))
    size = _integer(request.headers.get("Upload-Length"), "Upload-Length")
    metadata = metadata_parse(request.headers.get("Upload-Metadata", ""))
    company_user = company_user_require(request.user)
    deposit = selectors.deposit_of_company(metadata.get("deposit"), company_user.company_id)
    if deposit is None:
        raise _Refusal(404, _("Ce pli est introuvable."))
    envelope = selectors.envelope_of(
        deposit,
        envelope_id=metadata.get("envelope"),
        kind=metadata.get("kind", ""),
        lot_number=metadata.get("lot"),
    )
    if envelope is None:
        raise _Refusal(404, _("Cette enveloppe est introuvable dans ce pli."))
    deposit_file = deposit_file_create(
        deposit=deposit,
        envelope=envelope,
        user=request.user,
        name=metadata.get("filename") or metadata.get("name") or "",
        size=size,
        document_label=metadata.get("document", ""),
    )
    return _response(201, Location=_location(deposit_file), **_expiry_header(deposit_file))


def _checksum(request: HttpRequest) -> tuple | None:
    header = request.headers.get("Upload-Checksum")
    if header is None:
        return None
    algorithm, _space, value = header.strip().partition(" ")
    constructor = CHECKSUM_ALGORITHMS.get(algorithm.lower())
    if constructor is None:
        raise _Refusal(
            400,
            _("Algorithme de somme de contrôle non pris en charge : %(list)s.")
            % {"list": ", ".join(CHECKSUM_ALGORITHMS)},
        )
    try:
        expected = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text
        raise _Refusal(400, _("L'en-tête Upload-Checksum est mal formé.")) from None
    return constructor, expected


def _patch(request: HttpRequest, deposit_file) -> HttpResponse:
    content_type = request.content_type or ""
    if content_type.lower() != OFFSET_CONTENT_TYPE:
        raise _Refusal(415, _("Le contenu doit être envoyé en %(type)s.") % {"type": OFFSET_CONTENT_TYPE})
    offset = _integer(request.headers.get("Upload-Offset"), "Upload-Offset")
    length = request.META.get("CONTENT_LENGTH")
    content_length = _integer(length, "Content-Length") if length not in (None, "") else None
    deposit_file = deposit_file_receive(
        deposit_file=deposit_file,
        user=request.user,
        offset=offset,
        read=request.read,
        content_length=content_length,
        checksum=_checksum(request),
    )
    return _response(204, Upload_Offset=str(deposit_file.offset), **_expiry_header(deposit_file))


def _expiry_header(deposit_file) -> dict:
    expires = upload_expires_at(deposit_file)
    return {"Upload_Expires": http_date(expires.timestamp())} if expires is not None else {}


def _head(deposit_file) -> HttpResponse:
    headers = {
        "Upload_Offset": str(deposit_file.offset),
        "Upload_Length": str(deposit_file.size),
        **_expiry_header(deposit_file),
    }
    metadata = _metadata_header(deposit_file)
    if metadata:
        headers["Upload_Metadata"] = metadata
    return _response(200, **headers)


def _answer(handler) -> HttpResponse:
    try:
        return handler()
    except _Refusal as refusal:
        headers = {"Tus_Version": TUS_VERSION} if refusal.status == 412 else {}
        if refusal.status == 401:
            headers["WWW_Authenticate"] = 'Bearer realm="depots"'
        return _response(refusal.status, refusal.message, **headers)
    except DepositError as error:
        return _response(STATUS.get(error.reason, 400), error.message)
    except PermissionDenied:
        return _response(403, _("Vous ne pouvez pas déposer pour cette entreprise."))


@csrf_exempt
def tus_endpoint(request: HttpRequest) -> HttpResponse:
    """Where uploads are created."""
    method = _method(request)
    if method == "OPTIONS":
        return _options()
    if method != "POST":
        return _response(405, Allow="OPTIONS, POST")

    def handle():
        _precheck(request)
        return _create(request)

    return _answer(handle)


@csrf_exempt
def tus_upload(request: HttpRequest, upload_id) -> HttpResponse:
    """One upload: its offset, its bytes, its termination."""
    method = _method(request)
    if method == "OPTIONS":
        return _options()
    if method not in {"HEAD", "PATCH", "DELETE"}:
        return _response(405, Allow="OPTIONS, HEAD, PATCH, DELETE")

    def handle():
        _precheck(request)
        deposit_file = selectors.upload_of(upload_id, request.user)
        if deposit_file is None:
            raise _Refusal(404, _("Cet envoi est introuvable."))
        if method == "HEAD":
            return _head(deposit_file)
        if method == "PATCH":
            return _patch(request, deposit_file)
        deposit_file_remove(deposit_file=deposit_file, user=request.user)
        return _response(204)

    return _answer(handle)
