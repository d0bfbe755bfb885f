from django.http import Http404
from django.urls import path

from consultations.views.home import home  # noqa: F401


def _placeholder(request, pk):
    raise Http404


urlpatterns = [path("consultations/<int:pk>/", _placeholder, name="detail")]
