"""The forms of the decisions screen: the decision on a lot, its letters, the signature date
and the notification. The rules are in awards/services/decisions.py and letters.py: the
forms only read what was typed, the services refuse with a French message."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from awards.fields import FrenchDecimalField
from awards.models import Outcome
from awards.services.letters import CERTIFICATES_DAYS_MAX
from consultations.calendar import validate_plausible_date
from consultations.forms_buyer_calendar import DateInput, TimeInput

VARIANT_SUFFIX = ":variante"


def winner_choices(bidders: list, variants: set) -> list[tuple[str, str]]:
    """One choice per on-time offer of the lot: base offer, and variant when one was deposited."""
    choices = [("", _("— Choisir l'attributaire —"))]
    for deposit in bidders:
        choices.append(
            (
                str(deposit.pk),
                _("%(company)s (pli n° %(number)s)")
                % {"company": deposit.company.name, "number": deposit.pk},
            )
        )
        if deposit.pk in variants:
            choices.append(
                (
                    f"{deposit.pk}{VARIANT_SUFFIX}",
                    _("%(company)s — variante (pli n° %(number)s)")
                    % {"company": deposit.company.name, "number": deposit.pk},
                )
            )
    return choices


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Décision"), choices=Outcome.choices, widget=forms.RadioSelect)
    winner = forms.ChoiceField(
        label=_("Attributaire"),
        required=False,
        error_messages={
            "invalid_choice": _(
                "L'attributaire se choisit parmi les entreprises qui ont remis une offre dans les délais "
                "pour ce lot (ou cette consultation, sans lots)."
            )
        },
        help_text=_(
            "Seulement pour « Attribué » : une entreprise qui a remis une offre dans les délais pour ce lot."
        ),
    )
    amount = FrenchDecimalField(
        label=_("Montant du marché (EUR HT)"),
        required=False,
        max_digits=15,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("Seulement pour « Attribué ». Exemple : 125 000,50"),
    )
    duration_months = forms.IntegerField(
        label=_("Durée du marché (mois)"),
        required=False,
        min_value=1,
        max_value=1200,
        help_text=_("Seulement pour « Attribué »."),
    )
    reason = forms.CharField(
        label=_("Motif"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Obligatoire pour « Infructueux » et « Sans suite » ; repris dans les lettres aux entreprises."
        ),
    )

    def __init__(self, *args, bidders: list, variants: set, **kwargs):
        super().__init__(*args, **kwargs)
        self.bidders = {deposit.pk: deposit for deposit in bidders}
        self.fields["winner"].choices = winner_choices(bidders, variants)

    def winner_value(self):
        """(deposit, variant) chosen, or (None, False)."""
        value = self.cleaned_data.get("winner") or ""
        variant = value.endswith(VARIANT_SUFFIX)
        if variant:
            value = value[: -len(VARIANT_SUFFIX)]
        deposit = self.bidders.get(int(value)) if value.isdigit() else None
        return deposit, variant


def decision_initial(decision) -> dict:
    if decision is None:
        return {}
    winner = ""
    if decision.deposit_id:
        winner = f"{decision.deposit_id}{VARIANT_SUFFIX if decision.variant else ''}"
    return {
        "outcome": decision.outcome,
        "winner": winner,
        "amount": decision.amount,
        "duration_months": decision.duration_months,
        "reason": decision.reason,
    }


class LettersForm(forms.Form):
    certificates_days = forms.IntegerField(
        label=_("Délai de production des attestations de régularité fiscale et sociale (jours francs)"),
        min_value=1,
        max_value=CERTIFICATES_DAYS_MAX,
        initial=7,
        help_text=_(
            "Ni le jour de l'envoi ni celui de l'échéance ne comptent ; un samedi, un dimanche ou un jour "
            "férié reporte l'échéance au jour ouvré suivant."
        ),
    )
    electronic = forms.TypedChoiceField(
        label=_("Les lettres sont-elles notifiées par voie électronique ?"),
        choices=(
            ("1", _("Oui : délai de suspension de 11 jours")),
            ("0", _("Non, aussi envoyées par courrier : délai de suspension de 16 jours")),
        ),
        coerce=lambda value: value == "1",
        initial="1",
        widget=forms.RadioSelect,
    )


class SignatureForm(forms.Form):
    signed_day = forms.DateField(
        label=_("Date de signature du marché"), widget=DateInput, validators=[validate_plausible_date]
    )
    signed_time = forms.TimeField(
        label=_("Heure de signature"),
        widget=TimeInput,
        help_text=_("Heure de Paris (exemple : 14:30:00)."),
    )


class NotificationForm(forms.Form):
    body = forms.CharField(
        label=_("Texte de la notification"),
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Joignez les pièces du marché signé par la messagerie si nécessaire. La date de notification "
            "est celle de la première lecture du message par l'entreprise."
        ),
    )
