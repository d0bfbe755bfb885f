"""Who calls the deposit API: a company user's personal token (``Authorization: Bearer
sdm_…``, accounts/api_tokens.py), or, for reading only, the session of the web pages.

The token is never logged nor kept: only its SHA-256 is looked up. A request that carries
a Bearer header is judged by its token alone, never by a session cookie it may also carry.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.api_tokens import INVALID_TOKEN, api_token_authenticate, bearer_token
from accounts.permissions import company_user_of


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        if raw is None:
            return None
        token = api_token_authenticate(raw)
        if token is None:
            raise AuthenticationFailed(INVALID_TOKEN)
        # Marks the request as not cookie-based: no session, no CSRF.
        request._request.api_token = token
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ReadOnlySessionAuthentication(SessionAuthentication):
    """The web session, for GET only: writes go through a token, which no other site can send."""

    def authenticate(self, request):
        if request.method not in SAFE_METHODS:
            return None
        if bearer_token(request.META.get("HTTP_AUTHORIZATION")) is not None:
            return None
        return super().authenticate(request)


class IsCompanyUser(BasePermission):
    message = _("Seul un compte entreprise peut utiliser l'API des dépôts.")

    def has_permission(self, request, view):
        return company_user_of(request.user) is not None


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "jetonPersonnel"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "Jeton d'accès personnel (« sdm_… ») créé par un utilisateur d'entreprise dans "
                "« Mon profil » › « Jetons d'accès à l'API »."
            ),
        }


class ReadOnlySessionScheme(OpenApiAuthenticationExtension):
    target_class = ReadOnlySessionAuthentication
    name = "sessionWeb"

    def get_security_definition(self, auto_schema):
        from django.conf import settings

        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
