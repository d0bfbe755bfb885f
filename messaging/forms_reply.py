"""The company's answer to a buyer's message: a text and any number of files.

The form only carries what was typed and chosen; the rules (empty text, size, type,
antivirus) are the service's, which refuses with the field to show the reason on.
"""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config import antivirus
from config.filetypes import ACCEPTED_EXTENSIONS
from consultations.forms_buyer_files import MultipleFileField
from messaging.services.sending import BODY_MAX_LENGTH


def accepted_formats_text() -> str:
    return ", ".join(sorted(ACCEPTED_EXTENSIONS))


def files_help_text() -> str:
    """What the company must know before choosing files: formats, sizes, and the antivirus."""
    text = gettext(
        "Formats acceptés : %(formats)s. Taille maximale : %(size)s par fichier, %(count)d fichiers au plus."
    ) % {
        "formats": accepted_formats_text(),
        "size": filesizeformat(settings.MESSAGE_ATTACHMENT_MAX_BYTES),
        "count": settings.MESSAGE_ATTACHMENTS_MAX,
    }
    if antivirus.antivirus_enabled():
        return text + " " + gettext("Chaque fichier est analysé par un antivirus avant l'envoi.")
    return (
        text
        + " "
        + gettext("Les pièces jointes ne sont pas analysées par un antivirus sur cette plateforme.")
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Votre réponse"),
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 10}),
        error_messages={"required": _("Votre réponse est vide : écrivez son texte.")},
    )
    files = MultipleFileField(
        label=_("Pièces jointes (facultatif)"),
        required=False,
        error_messages={
            "empty": _("Un fichier envoyé est vide."),
            "invalid": _("Aucun fichier n'a été reçu : choisissez-le de nouveau."),
        },
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "reponse-%s")
        super().__init__(*args, **kwargs)
        # Read at each request: the settings (size, antivirus) may differ between deployments and tests.
        self.fields["files"].help_text = files_help_text()
