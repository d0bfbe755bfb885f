from django.conf import settings
from django.contrib import admin
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView
from django_otp.admin import OTPAdminSite

from consultations.views.home import home

# The admin requires a session verified with the second factor (RequireTwoFactorMiddleware
# sends staff to set one up first).
admin.site.__class__ = OTPAdminSite
admin.site.site_header = settings.PLATFORM_NAME
admin.site.site_title = settings.PLATFORM_NAME

urlpatterns = [
    path("", home, name="home"),
    # Administrators log in like everyone else, through the two-step login.
    path("admin/login/", RedirectView.as_view(url=reverse_lazy("accounts:login"), query_string=True)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("accounts.urls")),
    path("", include("consultations.urls")),
    path("", include("messaging.urls")),
    path("", include("deposits.urls")),
    path("", include("awards.urls")),
    path("", include("signatures.urls")),
    path("", include("signatures.urls_contract")),
]
