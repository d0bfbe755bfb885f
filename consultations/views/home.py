from django.shortcuts import render


def home(request):
    """The public home page: what the platform is, and the notices (« Annonces »)."""
    return render(request, "consultations/home.html")
