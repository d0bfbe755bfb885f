"""Forms of the suites: « Créer une suite », the invitation à concourir, the deletion."""

from django import forms
from django.db import connection
from django.utils.translation import gettext_lazy as _

from accounts.models import Company
from consultations.models import SuiteKind
from consultations.services.suites import LotSituation

LOTS_ALL = "all"
LOTS_SELECTION = "selection"

# The three situations of the seed's table, as the agent reads them.
SITUATIONS = (
    (
        SuiteKind.UNSUCCESSFUL,
        _("Consultation entièrement infructueuse (aucun lot attribué) : tous les lots sont relancés."),
    ),
    (
        SuiteKind.PARTIALLY_UNSUCCESSFUL,
        _(
            "Consultation partiellement infructueuse (certains lots non attribués) : seuls les lots "
            "infructueux sélectionnés sont relancés."
        ),
    ),
    (
        SuiteKind.NEGOTIATION,
        _("Phase de négociation prévue : négociation ciblée avec les candidats retenus."),
    ),
)


class CompanyChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, company: Company) -> str:
        return f"{company.name} (SIRET {company.siret})"

    def _check_values(self, value):
        # A number the database cannot hold is no company: refused as such, not an overflow.
        _low, high = connection.ops.integer_field_range(self.queryset.model._meta.pk.get_internal_type())
        for pk in value:
            if str(pk).isdigit() and high is not None and int(pk) > high:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class SuiteCreateForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Situation"),
        choices=SITUATIONS,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez la situation de la suite.")},
    )
    lots_scope = forms.ChoiceField(
        label=_("Cette nouvelle phase porte sur le(s) lot(s) suivant(s)"),
        choices=((LOTS_ALL, _("Tous les lots")), (LOTS_SELECTION, _("Sélection du/des lot(s) suivant(s)"))),
        widget=forms.RadioSelect,
        initial=LOTS_ALL,
        required=False,
    )
    lots = forms.MultipleChoiceField(
        label=_("Lots à relancer"), widget=forms.CheckboxSelectMultiple, required=False
    )
    companies = CompanyChoiceField(
        label=_("Candidats invités à la négociation"),
        queryset=Company.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Les entreprises qui ont déposé un pli dans les délais sur la consultation initiale."),
    )

    def __init__(self, *args, situations: list[LotSituation], candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.situations = situations
        if situations:
            self.fields["lots"].choices = [
                (
                    str(s.lot.pk),
                    _("Lot %(number)s - %(title)s (%(outcome)s)")
                    % {"number": s.lot.number, "title": s.lot.title, "outcome": s.outcome_label},
                )
                for s in situations
            ]
        else:
            del self.fields["lots_scope"]
            del self.fields["lots"]
        self.fields["companies"].queryset = candidates

    def clean_lots_scope(self):
        return self.cleaned_data.get("lots_scope") or LOTS_ALL

    def clean(self):
        # The service says the same; here the message goes next to the field concerned.
        data = super().clean()
        if self.situations and data.get("lots_scope") == LOTS_SELECTION and not data.get("lots"):
            self.add_error("lots", _("Sélectionnez au moins un lot à relancer."))
        if data.get("kind") == SuiteKind.NEGOTIATION and not data.get("companies"):
            self.add_error("companies", _("Sélectionnez au moins un candidat à inviter à la négociation."))
        return data

    def service_values(self) -> dict:
        """What ``suite_create`` takes: the kind, the lots (None for all), the companies."""
        data = self.cleaned_data
        lots = None
        if self.situations and data.get("lots_scope") == LOTS_SELECTION:
            by_pk = {str(s.lot.pk): s.lot for s in self.situations}
            lots = [by_pk[pk] for pk in data.get("lots", [])]
        companies = list(data.get("companies") or ()) if data["kind"] == SuiteKind.NEGOTIATION else []
        return {"kind": data["kind"], "lots": lots, "companies": companies}


class SuiteInviteForm(forms.Form):
    companies = CompanyChoiceField(
        label=_("Candidats destinataires"),
        queryset=Company.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choisissez au moins un candidat à inviter.")},
    )
    subject = forms.CharField(label=_("Objet"), max_length=255)
    body = forms.CharField(
        label=_("Texte de l'invitation"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_(
            "Le lien vers la page de la consultation et, si elle est restreinte, son code d'accès sont "
            "ajoutés au message s'il ne les donne pas déjà."
        ),
    )

    def __init__(self, *args, recipients, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["companies"].queryset = recipients


class DeleteConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Je confirme la suppression définitive de ce brouillon."),
        error_messages={"required": _("Cochez la case pour confirmer la suppression.")},
    )
