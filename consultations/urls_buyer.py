from django.http import Http404
from django.urls import path


def _placeholder(request, pk):
    raise Http404


urlpatterns = [path("acheteur/consultations/<int:pk>/", _placeholder, name="buyer_detail")]
