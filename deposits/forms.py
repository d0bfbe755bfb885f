"""The opening keys' forms: generate a key pair (label, password typed twice) or import a
certificate. The rules (password length, key type and size, validity) are the service's."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from deposits.services.keys import LABEL_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


class KeyGenerateForm(forms.Form):
    label = forms.CharField(
        label=_("Libellé de la clé"),
        max_length=LABEL_MAX_LENGTH,
        help_text=_("Par exemple le nom de l'agent qui conservera le fichier de clé."),
    )
    password = forms.CharField(
        label=_("Mot de passe du fichier de clé"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("Mot de passe du fichier de clé (confirmation)"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = gettext(
            "Au moins %(min)d caractères. Il protège la clé privée : la plateforme ne le conserve pas "
            "et ne pourra pas vous le rappeler."
        ) % {"min": PASSWORD_MIN_LENGTH}

    def clean(self):
        data = super().clean()
        confirm = data.get("password_confirm")
        if data.get("password") and confirm is not None and data["password"] != confirm:
            self.add_error("password_confirm", _("Les deux mots de passe ne sont pas identiques."))
        return data


class KeyImportForm(forms.Form):
    label = forms.CharField(
        label=_("Libellé de la clé"),
        max_length=LABEL_MAX_LENGTH,
        help_text=_("Par exemple le nom du détenteur du certificat."),
    )
    certificate = forms.FileField(
        label=_("Certificat (clé publique)"),
        help_text=_(
            "Un certificat X.509 au format PEM ou DER (.pem, .crt, .cer), à clé RSA d'au moins 3072 bits. "
            "N'envoyez jamais la clé privée ni un fichier .p12 ou .pfx."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".pem,.crt,.cer,.der"}),
    )
