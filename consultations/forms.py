"""Forms of the buyer's screens: the dashboard filters, the identification tab and the
validation decision. The other tabs are in ``forms_buyer_files`` (documents, access,
lots) and ``forms_buyer_calendar`` (calendar, modalities).

The forms check what a user typed; the services decide (permission, state, locks)
and save. Tab forms never receive the consultation as their instance: the service
compares the typed values with the saved ones to write the audit log.
"""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy as _

from consultations.models import Consultation, State
from consultations.validators import validate_cpv

IDENTIFICATION_FIELDS = (
    "contract_type",
    "procedure_type",
    "category",
    "reference",
    "title",
    "object",
    "estimated_value",
    "cpv_code",
    "cpv_additional",
    "place_of_execution",
    "variants_allowed",
    "service",
)
LOCKED_FIELDS = ("contract_type", "procedure_type")


def readonly(form: forms.Form) -> forms.Form:
    """Show a tab without letting it be changed (a consultation that is no longer a draft)."""
    for field in form.fields.values():
        field.disabled = True
    return form


def clean_amount(value):
    if value is not None and value < Decimal(0):
        raise ValidationError(_("La valeur estimée ne peut pas être négative."))
    return value


class DashboardFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("État"), required=False, choices=[("", _("Tous les états")), *State.choices]
    )
    reference = forms.CharField(label=_("Référence"), required=False, max_length=64)
    keyword = forms.CharField(
        label=_("Mot-clé"),
        required=False,
        max_length=200,
        help_text=_("Cherché dans l'intitulé, l'objet, le lieu, les codes CPV et les lots."),
    )


class CpvListField(forms.CharField):
    """Additional CPV codes, separated by commas, semicolons or spaces; each one checked."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):
            return list(value)
        codes: list[str] = []
        for code in re.split(r"[,;\s]+", super().to_python(value) or ""):
            if code and code not in codes:
                codes.append(code)
        return codes

    def validate(self, value):
        super().validate(value)
        errors = []
        for code in value:
            try:
                validate_cpv(code)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)


class IdentificationForm(forms.ModelForm):
    cpv_additional = CpvListField(
        label=_("Codes CPV complémentaires"),
        required=False,
        help_text=_("Séparés par des virgules ou des espaces (exemple : 45261000-4, 45262000-1)."),
    )

    class Meta:
        model = Consultation
        fields = [name for name in IDENTIFICATION_FIELDS if name != "cpv_additional"]
        widgets = {
            "object": forms.Textarea(attrs={"rows": 5}),
            "estimated_value": forms.NumberInput(attrs={"min": "0", "step": "0.01"}),
        }
        help_texts = {
            "contract_type": _("Ne pourra plus être modifié une fois l'onglet enregistré."),
            "procedure_type": _("Ne pourra plus être modifié une fois l'onglet enregistré."),
            "reference": _("Unique dans votre organisme (exemple : 2026-T0012)."),
            "cpv_code": _("Huit chiffres, un tiret et le chiffre de contrôle (exemple : 45000000-7)."),
        }

    def __init__(self, *args, organisation, consultation: Consultation | None = None, **kwargs):
        if consultation is not None:
            kwargs.setdefault("initial", model_to_dict(consultation, fields=IDENTIFICATION_FIELDS))
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.consultation = consultation
        self.order_fields(IDENTIFICATION_FIELDS)
        services = organisation.services.order_by("name")
        if services.exists():
            self.fields["service"].queryset = services
            self.fields["service"].label_from_instance = lambda service: service.name
            self.fields["service"].empty_label = _("Aucun service précisé")
        else:
            del self.fields["service"]
        # Once saved, the contract and procedure types are shown as text and never sent.
        if self.locked:
            for name in LOCKED_FIELDS:
                del self.fields[name]

    @property
    def locked(self) -> bool:
        return self.consultation is not None and self.consultation.identification_locked

    def clean_reference(self):
        reference = self.cleaned_data["reference"].strip()
        taken = Consultation.objects.filter(organisation=self.organisation, reference__iexact=reference)
        if self.consultation is not None:
            taken = taken.exclude(pk=self.consultation.pk)
        if taken.exists():
            raise ValidationError(
                _(
                    "La référence « %(reference)s » est déjà utilisée par une autre consultation "
                    "de votre organisme."
                )
                % {"reference": reference}
            )
        return reference

    def clean_estimated_value(self):
        return clean_amount(self.cleaned_data["estimated_value"])

    def tab_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in IDENTIFICATION_FIELDS if name in self.fields}


class ValidationDecisionForm(forms.Form):
    comment = forms.CharField(
        label=_("Commentaire du valideur"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Obligatoire pour renvoyer en brouillon : expliquez au rédacteur ce qui doit être repris."
        ),
    )
