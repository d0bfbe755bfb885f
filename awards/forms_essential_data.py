"""The agent's forms for the essential data: the complements (choices from the schema's
enumerations), a modification of the contract."""

import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from awards import decp
from awards.fields import FrenchDecimalField

HUNDRED = Decimal("100")
YES_NO = [("", _("Non renseigné")), ("true", _("Oui")), ("false", _("Non"))]


def _choices(name: str) -> list[tuple[str, str]]:
    return [(value, value) for value in decp.schema_enum(name)]


def _boolean(value):
    return {"true": True, "false": False}.get(value)


class ComplementsForm(forms.Form):
    """Nothing is required here: the agent may save in several steps; publication says what
    is missing. Rates are typed in percent and kept as fractions, as the schema writes them."""

    ccag = forms.ChoiceField(label=_("CCAG de référence"), required=False)
    formePrix = forms.ChoiceField(label=_("Forme du prix"), required=False)
    typesPrix = forms.MultipleChoiceField(
        label=_("Type de prix"), required=False, widget=forms.CheckboxSelectMultiple
    )
    techniques = forms.MultipleChoiceField(
        label=_("Techniques d'achat"), required=False, widget=forms.CheckboxSelectMultiple
    )
    modalitesExecution = forms.MultipleChoiceField(
        label=_("Modalités d'exécution"), required=False, widget=forms.CheckboxSelectMultiple
    )
    idAccordCadre = forms.CharField(
        label=_("Identifiant de l'accord-cadre (marché subséquent)"),
        required=False,
        max_length=decp.ID_MAX_LENGTH,
        help_text=_("L'identifiant des données essentielles de l'accord-cadre, 16 caractères au plus."),
    )
    marcheInnovant = forms.TypedChoiceField(
        label=_("Marché innovant"),
        choices=YES_NO,
        coerce=_boolean,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    attributionAvance = forms.TypedChoiceField(
        label=_("Avance attribuée au titulaire"),
        choices=YES_NO,
        coerce=_boolean,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    tauxAvance = FrenchDecimalField(
        label=_("Taux de l'avance (% du montant)"),
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text=_("0 : une avance est attribuée, son taux n'est pas connu."),
    )
    sousTraitanceDeclaree = forms.TypedChoiceField(
        label=_("Sous-traitance déclarée à la notification"),
        choices=YES_NO,
        coerce=_boolean,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    typeGroupementOperateurs = forms.ChoiceField(label=_("Type de groupement des titulaires"), required=False)
    origineUE = FrenchDecimalField(
        label=_("Part des produits de l'Union européenne (%)"),
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text=_("Denrées alimentaires, véhicules, produits de santé, habillement : sinon, laissez vide."),
    )
    origineFrance = FrenchDecimalField(
        label=_("Part des produits français (%)"),
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
    )
    considerationsSociales = forms.MultipleChoiceField(
        label=_("Considérations sociales"), required=False, widget=forms.CheckboxSelectMultiple
    )
    considerationsEnvironnementales = forms.MultipleChoiceField(
        label=_("Considérations environnementales"), required=False, widget=forms.CheckboxSelectMultiple
    )
    lieu_code = forms.CharField(label=_("Code du lieu d'exécution"), required=False, max_length=10)
    lieu_type = forms.ChoiceField(label=_("Type de code du lieu d'exécution"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        empty = [("", _("— choisir —"))]
        for name in ("ccag", "formePrix", "typeGroupementOperateurs"):
            self.fields[name].choices = empty + _choices(name)
        for name in decp.LIST_COMPLEMENTS:
            self.fields[name].choices = _choices(name)
        types = decp.marche_property("lieuExecution")["properties"]["typeCode"]["enum"]
        self.fields["lieu_type"].choices = empty + [(value, value) for value in types]

    @classmethod
    def initial_from(cls, complements: dict) -> dict:
        initial = {}
        for name, value in complements.items():
            if name in decp.BOOLEAN_COMPLEMENTS:
                initial[name] = "true" if value else "false"
            elif name in decp.RATE_COMPLEMENTS:
                initial[name] = (Decimal(str(value)) * HUNDRED).normalize()
            elif name == "lieuExecution":
                initial["lieu_code"] = value.get("code", "")
                initial["lieu_type"] = value.get("typeCode", "")
            else:
                initial[name] = value
        return initial

    def values(self) -> dict:
        """The complements, keyed by DECP field names, for ``decp.complements_save``."""
        data = self.cleaned_data
        values = {name: data.get(name) for name in (*decp.CHOICE_COMPLEMENTS, *decp.LIST_COMPLEMENTS)}
        values.update({name: data.get(name) for name in decp.BOOLEAN_COMPLEMENTS})
        for name in decp.RATE_COMPLEMENTS:
            if data.get(name) is not None:
                values[name] = data[name] / HUNDRED
        values["idAccordCadre"] = data.get("idAccordCadre", "")
        values["lieuExecution"] = {"code": data.get("lieu_code", ""), "typeCode": data.get("lieu_type", "")}
        return values


class ModificationForm(forms.Form):
    notified_on = forms.DateField(
        label=_("Date de notification de la modification"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Indiquez la date de notification de la modification.")},
    )
    amount = FrenchDecimalField(
        label=_("Nouveau montant (EUR HT)"), required=False, min_value=1, max_digits=15, decimal_places=2
    )
    duration_months = forms.IntegerField(
        label=_("Nouvelle durée (mois)"), required=False, min_value=1, max_value=decp.DURATION_MAX_MONTHS
    )
    holders = forms.CharField(
        label=_("Nouveaux titulaires (SIRET)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Seulement s'ils changent : un SIRET par ligne, tous les titulaires après la modification."
        ),
    )
    object = forms.CharField(
        label=_("Objet de la modification"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Pour le suivi de l'acheteur ; le format réglementaire ne le publie pas."),
    )

    def clean_holders(self) -> list[str]:
        parts = re.split(r"[\r\n,;]+", self.cleaned_data.get("holders") or "")
        return [re.sub(r"\s+", "", part) for part in parts if part.strip()]
