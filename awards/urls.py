"""Every award URL: the analysis of the offers, the decisions and letters, and the
public essential data and award notices."""

from django.urls import include, path

app_name = "awards"

urlpatterns = [
    path("", include("awards.urls_evaluation")),
    path("", include("awards.urls_report")),
    path("", include("awards.urls_decisions")),
    path("", include("awards.urls_public")),
]
