"""Personal API tokens (« jetons d'accès à l'API ») of company users, for their software.

A token is ``sdm_`` followed by 43 random URL-safe characters (256 bits). It is shown once,
in the answer to the user who made it; the database keeps its SHA-256 and its first
characters only. A request's token is found by the hash of what it presents: the lookup
goes through a unique index on a digest, so its time says nothing about how close a guess
was, and a stolen database gives no usable token.

(``accounts/services.py`` is a module, not a package: hence this module beside it.)
"""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import ApiToken, User
from accounts.permissions import company_user_of
from audit.services import event_record
from config import clock

TOKEN_PREFIX = "sdm_"
# What the list shows to tell tokens apart: « sdm_ » and 8 random characters.
SHOWN_PREFIX_LENGTH = 12
# Recording every use would write to the database on every PATCH of an upload.
LAST_USED_PRECISION = timedelta(minutes=1)
MAX_ACTIVE_TOKENS = 20
INVALID_TOKEN = gettext_lazy(
    "Jeton d'accès invalide ou révoqué : créez-en un dans « Mon profil » › « Jetons d'accès à l'API »."
)


def token_sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header; None for no header or another scheme."""
    scheme, _space, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def api_tokens_of(user) -> QuerySet[ApiToken]:
    """The user's tokens, the active ones first, newest first."""
    return ApiToken.objects.filter(user=user).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-pk"
    )


@transaction.atomic
def api_token_create(*, user: User, label: str, request=None) -> tuple[ApiToken, str]:
    """Make a token for a company user; returns the row and the token, which nothing keeps."""
    if company_user_of(user) is None:
        raise PermissionDenied
    label = " ".join(label.split())
    if not label:
        raise ValidationError({"label": _("Donnez un libellé au jeton, par exemple le nom du logiciel.")})
    active = ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
    if len(active) >= MAX_ACTIVE_TOKENS:
        raise ValidationError(
            _(
                "Vous avez déjà %(count)d jetons actifs : révoquez ceux qui ne servent plus "
                "avant d'en créer un autre."
            )
            % {"count": MAX_ACTIVE_TOKENS}
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        label=label[:80],
        prefix=raw[:SHOWN_PREFIX_LENGTH],
        token_sha256=token_sha256(raw),
        created_at=clock.now(),
    )
    event_record(
        action="api_token.created",
        actor=user,
        target=token,
        data={"label": token.label, "prefix": token.prefix},
        request=request,
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, user: User, request=None) -> ApiToken:
    """Revoke one of the user's own tokens; revoking twice changes nothing."""
    if token.user_id != user.pk:
        raise PermissionDenied
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    event_record(
        action="api_token.revoked",
        actor=user,
        target=token,
        data={"label": token.label, "prefix": token.prefix},
        request=request,
    )
    return token


def api_token_authenticate(raw: str | None) -> ApiToken | None:
    """The active token matching ``raw``, its user active; None otherwise.

    Its last use is recorded at most once a minute, by a conditional UPDATE, so concurrent
    requests of one upload do not queue on its row.
    """
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    digest = token_sha256(raw)
    token = (
        ApiToken.objects.select_related("user").filter(token_sha256=digest, revoked_at__isnull=True).first()
    )
    if token is None or not secrets.compare_digest(token.token_sha256, digest):
        return None
    if not token.user.is_active:
        return None
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token
