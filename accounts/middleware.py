from django.shortcuts import redirect
from django.urls import reverse

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
