"""Forms of the corrections screen: correct an offer's amount (or withdraw the correction),
ask the justification of an abnormally low offer, keep or reject it. The rules are in
``awards/services/corrections.py`` and ``low_offers.py``; these forms only read the input."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from awards.models import LowOfferDecision
from config import clock
from consultations.calendar import paris_moment, validate_plausible_date


def amount_parse(text: str) -> Decimal | None:
    """« 130 000,00 », « 130000.00 » or « 130 000 € »: the amount, or None if unreadable."""
    cleaned = "".join(c for c in (text or "") if not c.isspace()).removesuffix("€").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class CorrectionForm(forms.Form):
    corrected_amount = forms.CharField(
        label=_("Montant rectifié (€ HT)"),
        max_length=30,
        help_text=_("En euros hors taxes, au centime près (exemple : 130 000,00)."),
        error_messages={"required": _("Indiquez le montant rectifié.")},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    reason = forms.CharField(
        label=_("Motif de la rectification"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Les prix unitaires prévalent : écrivez la ligne recalculée, par exemple « ligne 4 : "
            "1 300,00 € × 100 = 130 000,00 € HT au lieu de 90 000,00 € HT »."
        ),
        error_messages={
            "required": _(
                "Le motif de la rectification est obligatoire : écrivez la ligne recalculée "
                "(prix unitaire × quantité)."
            )
        },
    )

    def clean_corrected_amount(self):
        value = amount_parse(self.cleaned_data["corrected_amount"])
        if value is None:
            raise forms.ValidationError(_("Saisissez un montant en euros HT, par exemple 130 000,00."))
        return value


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif du retrait de la rectification"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("L'offre sera de nouveau jugée sur le montant remis."),
        error_messages={"required": _("Le motif du retrait de la rectification est obligatoire.")},
    )


class JustificationRequestForm(forms.Form):
    body = forms.CharField(
        label=_("Texte de la demande"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Envoyé à l'entreprise par la messagerie sécurisée ; sa réponse et ses pièces jointes "
            "apparaîtront ici."
        ),
        error_messages={"required": _("Le message est vide : écrivez son texte.")},
    )
    answer_due_date = forms.DateField(
        label=_("Réponse attendue avant le — date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        validators=[validate_plausible_date],
        error_messages={
            "required": _("Indiquez la date à laquelle la justification doit être remise."),
            "invalid": _("Date invalide (jj/mm/aaaa)."),
        },
    )
    answer_due_time = forms.TimeField(
        label=_("Réponse attendue avant le — heure (Paris)"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M:%S", "%H:%M"],
        initial="12:00",
        error_messages={
            "required": _("Indiquez l'heure limite de réponse."),
            "invalid": _("Heure invalide (hh:mm)."),
        },
    )

    def clean(self):
        cleaned = super().clean()
        day, at = cleaned.get("answer_due_date"), cleaned.get("answer_due_time")
        if day is None or at is None:
            return cleaned
        moment = paris_moment(day, at)
        if moment is None:
            self.add_error(
                "answer_due_time",
                _("Cette heure n'existe pas ce jour-là (passage à l'heure d'été) : choisissez-en une autre."),
            )
        elif moment <= clock.now():
            self.add_error(
                "answer_due_date",
                _("La date de réponse attendue est déjà passée : choisissez une date à venir."),
            )
        else:
            cleaned["answer_due_at"] = moment
        return cleaned


class LowOfferDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Décision"),
        choices=LowOfferDecision.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez de maintenir ou de rejeter l'offre.")},
    )
    reason = forms.CharField(
        label=_("Motif de la décision"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Par exemple : les justifications apportées expliquent le prix, "
            "ou pourquoi elles ne suffisent pas."
        ),
        error_messages={"required": _("Le motif de la décision sur l'offre est obligatoire.")},
    )


# action → (form, prefix stem); the service's field names that differ from the form's.
FORMS = {
    "correct": CorrectionForm,
    "withdraw": WithdrawForm,
    "request": JustificationRequestForm,
    "decide": LowOfferDecisionForm,
}
FIELD_ALIASES = {"answer_due_at": "answer_due_date"}
