"""The upload of a signed acte d'engagement (by the holder, then the buyer)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ContractSignatureForm(forms.Form):
    file = forms.FileField(
        label=_("Acte d'engagement signé"),
        help_text=_(
            "Le PDF signé avec votre outil de signature (PAdES), ou le PDF tel que téléchargé si vous "
            "joignez une signature détachée. 20 Mo au plus."
        ),
        error_messages={"required": _("Choisissez le fichier signé à déposer.")},
    )
    detached = forms.FileField(
        label=_("Signature détachée (facultative)"),
        help_text=_("Un fichier .p7s (CAdES) ou .xml (XAdES) qui signe le fichier ci-dessus."),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "contract")
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".pdf,application/pdf"
        self.fields["detached"].widget.attrs["accept"] = ".p7s,.p7m,.xml"
