from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation

from accounts.two_factor import two_factor_required


class RequireTwoFactorMiddleware:
    """Keep an agent who may open bids on the two-factor page until its session is verified."""

    allowed_prefixes = ("/static/", "/media/", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified() and two_factor_required(user):
            exempt = (reverse("accounts:two_factor"), reverse("accounts:logout"))
            if request.path not in exempt and not request.path.startswith(self.allowed_prefixes):
                return redirect(f"{reverse('accounts:two_factor')}?obligatoire=1")
        return self.get_response(request)


class FrenchFirstLocaleMiddleware:
    """French unless the visitor chose another language with the selector.

    The browser's Accept-Language is not followed: a buyer whose browser says
    "en-US" still expects the French platform it knows.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
