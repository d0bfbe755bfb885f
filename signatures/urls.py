from django.urls import path

from . import views

app_name = "signatures"

urlpatterns = [
    path("verifier-une-signature/", views.verify_public, name="verify_public"),
]
