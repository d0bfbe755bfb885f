from django.shortcuts import render

from consultations.notices import notices_latest


def home(request):
    """The public home page: what the platform is, and the notices (« Annonces »)."""
    return render(request, "consultations/home.html", {"latest_notices": notices_latest(limit=5)})
