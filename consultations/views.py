from django.shortcuts import render


def home(request):
    """The public home page: what the platform is, and the notices (« Annonces »)."""
    return render(request, "consultations/home.html")


def notices(request):
    return render(request, "consultations/notices.html")
