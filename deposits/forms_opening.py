"""The opening form: the private key file (PKCS#12) and its password, the deposits chosen
(the admitted candidates, or the late deposits) and, for late deposits, the reason.
The rules are the service's (deposits/services/opening.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from deposits.services.keys import PASSWORD_MAX_LENGTH
from deposits.services.opening import PKCS12_MAX_BYTES


class OpeningForm(forms.Form):
    pkcs12 = forms.FileField(
        label=_("Fichier de clé privée (.p12 ou .pfx)"),
        help_text=_(
            "Le fichier remis à la création de la bi-clé de la consultation, ou celui de la clé de secours "
            "de votre organisme. Il sert le temps de l'ouverture : la plateforme ne le conserve pas."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".p12,.pfx"}),
    )
    password = forms.CharField(
        label=_("Mot de passe du fichier de clé"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, deposit_choices=None, deposits_label=None, with_reason=False, **kwargs):
        super().__init__(*args, **kwargs)
        if deposit_choices is not None:
            self.fields["deposits"] = forms.MultipleChoiceField(
                label=deposits_label or _("Plis"),
                choices=deposit_choices,
                widget=forms.CheckboxSelectMultiple,
                error_messages={"required": _("Cochez au moins un pli.")},
            )
        if with_reason:
            self.fields["reason"] = forms.CharField(
                label=_("Motif de l'ouverture hors délai"),
                help_text=_(
                    "Par exemple : copie de sauvegarde à ouvrir, le pli électronique étant arrivé "
                    "hors délai. "
                    "Le motif figure au procès-verbal."
                ),
                widget=forms.Textarea(attrs={"rows": 3}),
                max_length=2000,
            )

    def pkcs12_content(self) -> bytes:
        uploaded = self.cleaned_data["pkcs12"]
        uploaded.seek(0)
        # One byte more than the service accepts is enough for it to say the file is too big.
        return uploaded.read(PKCS12_MAX_BYTES + 1)
