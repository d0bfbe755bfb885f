from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordResetForm as BasePasswordResetForm
from django.utils.translation import gettext_lazy as _

from accounts.models import AgentPermission, LegalForm, Service, User
from accounts.validators import normalize_siret, validate_postal_code, validate_siret


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Adresse électronique"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    error_messages = {
        "invalid_login": _("Adresse électronique ou mot de passe incorrect."),
        "inactive": _(
            "Ce compte n'est pas encore actif : cliquez sur le lien de confirmation reçu par courriel."
        ),
    }


class OtpTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code à 6 chiffres"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text=_(
            "Le code affiché par votre application d'authentification (il change toutes les 30 secondes)."
        ),
    )


class SiretField(forms.CharField):
    default_validators = [validate_siret]

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Numéro SIRET"))
        kwargs.setdefault("help_text", _("14 chiffres, espaces acceptés."))
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def to_python(self, value):
        return normalize_siret(super().to_python(value))


class CompanyRegistrationForm(forms.Form):
    siret = SiretField()
    name = forms.CharField(label=_("Raison sociale"), max_length=255)
    legal_form = forms.ChoiceField(label=_("Forme juridique"), choices=[("", "—")] + LegalForm.choices)
    street = forms.CharField(
        label=_("Adresse"),
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    postal_code = forms.CharField(
        label=_("Code postal"),
        max_length=5,
        validators=[validate_postal_code],
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    city = forms.CharField(
        label=_("Commune"),
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    first_name = forms.CharField(
        label=_("Prénom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Nom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        label=_("Adresse électronique"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Au moins 12 caractères, pas uniquement des chiffres, pas un mot de passe courant."),
    )
    password2 = forms.CharField(
        label=_("Confirmation du mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    accept_terms = forms.BooleanField(
        label=_("J'accepte les conditions d'utilisation de la plateforme"), label_suffix=""
    )

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("Les deux mots de passe ne sont pas identiques."))
        elif password1:
            user = User(
                email=cleaned.get("email", ""),
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password1, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "phone"]
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
        }


class PersonForm(forms.Form):
    first_name = forms.CharField(label=_("Prénom"), max_length=150)
    last_name = forms.CharField(label=_("Nom"), max_length=150)
    email = forms.EmailField(label=_("Adresse électronique"))


class AgentPermissionsForm(forms.Form):
    job_title = forms.CharField(label=_("Fonction"), max_length=150, required=False)
    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.none(), required=False)
    permissions = forms.MultipleChoiceField(
        label=_("Habilitations"),
        choices=AgentPermission.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("L'habilitation « Ouvrir les plis » impose la double authentification."),
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(organisation=organisation)


class AgentCreateForm(PersonForm, AgentPermissionsForm):
    pass


class AgentUpdateForm(AgentPermissionsForm):
    is_active = forms.BooleanField(label=_("Compte actif"), required=False, label_suffix="")


class PasswordResetForm(BasePasswordResetForm):
    """Also for accounts created by an administrator that never chose a password.

    Every account is local here: an agent who lost its invitation uses « Mot de passe
    oublié » like anyone else.
    """

    def get_users(self, email):
        return User.objects.filter(email__iexact=email, is_active=True)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        # Through Celery after commit, like every other e-mail: the page answers at
        # once whether the address exists or the mail server is slow.
        from accounts.notifications import email_queue

        email_queue(template=email_template_name.removesuffix(".txt"), context=context, to=[to_email])
