"""The forms of the analysis screens: the review of a candidature, a request for
complements, a criterion of the grid, and an offer's amount and notes.

The forms read what was typed (French decimals « 120 000,50 » included); the rules are the
services' (awards/services/admission.py, grids.py, scoring.py), which refuse with the
field to show the reason on.
"""

from datetime import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from awards.fields import FrenchDecimalField, decimal_initial
from awards.models import CriterionKind, PriceFormula
from consultations.calendar import paris_moment, validate_plausible_date
from consultations.forms_buyer_calendar import DateInput, TimeInput
from messaging.services.sending import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH


class CandidatureReviewForm(forms.Form):
    ADMITTED, REFUSED = "admitted", "refused"

    professional_ok = forms.BooleanField(label=_("Capacités professionnelles suffisantes"), required=False)
    technical_ok = forms.BooleanField(label=_("Capacités techniques suffisantes"), required=False)
    financial_ok = forms.BooleanField(label=_("Capacités financières suffisantes"), required=False)
    decision = forms.ChoiceField(
        label=_("Candidature"),
        choices=[(ADMITTED, _("Admise")), (REFUSED, _("Non admise"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Indiquez si la candidature est admise.")},
    )
    reason = forms.CharField(
        label=_("Motif"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Obligatoire si la candidature n'est pas admise, ou si elle est admise alors qu'une capacité "
            "n'est pas jugée suffisante."
        ),
    )

    @classmethod
    def initial_of(cls, review) -> dict:
        if review is None:
            return {"professional_ok": True, "technical_ok": True, "financial_ok": True}
        return {
            "professional_ok": review.professional_ok,
            "technical_ok": review.technical_ok,
            "financial_ok": review.financial_ok,
            "decision": cls.ADMITTED if review.admitted else cls.REFUSED,
            "reason": review.reason,
        }


class ComplementsRequestForm(forms.Form):
    subject = forms.CharField(label=_("Objet"), required=False, max_length=SUBJECT_MAX_LENGTH)
    body = forms.CharField(
        label=_("Pièces ou précisions demandées"),
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Le message est vide : écrivez son texte.")},
    )
    answer_due_date = forms.DateField(
        label=_("Réponse attendue avant le — date"),
        widget=DateInput,
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        validators=[validate_plausible_date],
        error_messages={
            "required": _("Indiquez la date à laquelle la réponse de l'entreprise est attendue."),
            "invalid": _("Date invalide (jj/mm/aaaa)."),
        },
    )
    answer_due_time = forms.TimeField(
        label=_("Réponse attendue avant le — heure (Paris)"),
        widget=TimeInput,
        input_formats=["%H:%M:%S", "%H:%M"],
        error_messages={
            "required": _("Indiquez l'heure de réponse attendue."),
            "invalid": _("Heure invalide (hh:mm ou hh:mm:ss)."),
        },
    )

    def answer_due_at(self) -> datetime | None:
        day, at = self.cleaned_data.get("answer_due_date"), self.cleaned_data.get("answer_due_time")
        if day is None or at is None:
            return None
        moment = paris_moment(day, at)
        if moment is None:
            self.add_error(
                "answer_due_time",
                _("Cette heure n'existe pas ce jour-là (passage à l'heure d'été) : choisissez-en une autre."),
            )
        return moment


class GridCreateForm(forms.Form):
    lot = forms.IntegerField(required=False, widget=forms.HiddenInput)


class CriterionForm(forms.Form):
    label = forms.CharField(
        label=_("Intitulé"), max_length=255, error_messages={"required": _("Donnez un intitulé au critère.")}
    )
    weight = FrenchDecimalField(
        label=_("Pondération (%)"),
        max_digits=5,
        error_messages={"required": _("Indiquez la pondération du critère, en %.")},
    )
    kind = forms.ChoiceField(label=_("Nature"), choices=CriterionKind.choices, initial=CriterionKind.OTHER)
    price_formula = forms.ChoiceField(
        label=_("Formule de notation du prix"),
        choices=[("", _("— sans objet (critère noté par les agents) —")), *PriceFormula.choices],
        required=False,
    )
    scale = FrenchDecimalField(
        label=_("Noté sur"),
        max_digits=6,
        required=False,
        help_text=_("Vide : la note se saisit directement en points, de 0 à la pondération."),
    )

    def __init__(self, *args, parents=(), **kwargs):
        super().__init__(*args, **kwargs)
        if parents is not None:
            self.fields["parent"] = forms.TypedChoiceField(
                label=_("Place dans la grille"),
                choices=[("", _("Critère principal"))]
                + [
                    (str(parent.pk), _("Sous-critère de « %(label)s »") % {"label": parent.label})
                    for parent in parents
                ],
                coerce=int,
                empty_value=None,
                required=False,
            )

    @classmethod
    def initial_of(cls, criterion) -> dict:
        return {
            "label": criterion.label,
            "weight": decimal_initial(criterion.weight),
            "kind": criterion.kind,
            "price_formula": criterion.price_formula,
            "scale": decimal_initial(criterion.scale),
        }


class OfferForm(forms.Form):
    """An offer's amount (when the grid has a price criterion) and a note with its comment
    for each leaf criterion noted by the agents."""

    def __init__(self, *args, leaves=(), has_price: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.leaves = list(leaves)
        if has_price:
            self.fields["amount"] = FrenchDecimalField(
                label=_("Montant de l'offre (EUR HT)"),
                max_digits=14,
                required=False,
                help_text=_("Tel que lu dans le détail estimatif, exemple : 120 000,50."),
            )
        for criterion in self.leaves:
            scale = criterion.scale if criterion.scale is not None else criterion.weight
            from awards.services.scoring import number_fr

            self.fields[f"note_{criterion.pk}"] = FrenchDecimalField(
                label=_("Note « %(label)s » (sur %(scale)s)")
                % {"label": criterion.label, "scale": number_fr(scale)},
                max_digits=7,
                required=False,
            )
            self.fields[f"comment_{criterion.pk}"] = forms.CharField(
                label=_("Commentaire « %(label)s »") % {"label": criterion.label},
                required=False,
                max_length=5000,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    @staticmethod
    def initial_of(row, leaves) -> dict:
        initial = {}
        if row["amount"] is not None:
            initial["amount"] = decimal_initial(row["amount"].amount)
        for criterion in leaves:
            score = row["scores"].get(criterion.pk)
            if score is not None:
                initial[f"note_{criterion.pk}"] = decimal_initial(score.value)
                initial[f"comment_{criterion.pk}"] = score.comment
        return initial

    def notes(self) -> dict:
        return {
            criterion: (
                self.cleaned_data.get(f"note_{criterion.pk}"),
                self.cleaned_data.get(f"comment_{criterion.pk}", ""),
            )
            for criterion in self.leaves
        }

    def pairs(self):
        """(note field, comment field, criterion) for the template."""
        return [(self[f"note_{c.pk}"], self[f"comment_{c.pk}"], c) for c in self.leaves]
