from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts.forms import PasswordResetForm
from accounts.views import api_tokens, auth, profile, spaces

app_name = "accounts"

urlpatterns = [
    path("compte/connexion/", auth.LoginView.as_view(), name="login"),
    path("compte/connexion/code/", auth.login_otp, name="login_otp"),
    path("compte/deconnexion/", auth.LogoutView.as_view(), name="logout"),
    path("compte/inscription/", auth.register, name="register"),
    path(
        "compte/inscription/confirmer/<uidb64>/<token>/",
        auth.register_confirm,
        name="register_confirm",
    ),
    path(
        "compte/mot-de-passe/oublie/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset.html",
            form_class=PasswordResetForm,
            email_template_name="accounts/email/password_reset.txt",
            subject_template_name="accounts/email/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "compte/mot-de-passe/envoye/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "compte/mot-de-passe/nouveau/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "compte/mot-de-passe/termine/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path(
        "compte/mot-de-passe/changer/",
        auth.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path("compte/", spaces.home, name="home"),
    path("compte/profil/", profile.profile, name="profile"),
    path("compte/double-authentification/", profile.two_factor, name="two_factor"),
    path(
        "compte/double-authentification/desactiver/",
        profile.two_factor_remove,
        name="two_factor_remove",
    ),
    path("compte/jetons-api/", api_tokens.api_tokens, name="api_tokens"),
    path(
        "compte/jetons-api/<int:pk>/revoquer/",
        api_tokens.api_token_revoke_view,
        name="api_token_revoke",
    ),
    path("entreprise/", spaces.company_space, name="company_space"),
    path("entreprise/collegues/ajouter/", spaces.company_user_add, name="company_user_add"),
    path("acheteur/", spaces.buyer_space, name="buyer_space"),
    path("acheteur/agents/ajouter/", spaces.agent_add, name="agent_add"),
    path("acheteur/agents/<int:pk>/", spaces.agent_edit, name="agent_edit"),
]
