"""Forms of the « Pièces et modalités d'accès » and « Lots » tabs."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy as _

from consultations.errors import ConsultationError
from consultations.forms import clean_amount
from consultations.models import Access, Consultation, Lot
from consultations.services.dce import dce_file_check


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = data if isinstance(data, list | tuple) else [data]
        cleaned = []
        for item in items:
            uploaded = super().clean(item, initial)
            if uploaded:
                cleaned.append(uploaded)
        return cleaned


def _check_upload(uploaded) -> None:
    try:
        dce_file_check(uploaded)
    except ConsultationError as error:
        raise ValidationError(error.message) from error


class PiecesForm(forms.ModelForm):
    rules_file = forms.FileField(
        label=_("Règlement de consultation (RC)"),
        required=False,
        # Empty files get the DCE's own message, with the file's name.
        allow_empty_file=True,
        help_text=_("Remplace le règlement de consultation déjà joint, s'il y en a un."),
    )
    files = MultipleFileField(
        label=_("Autres pièces du DCE"),
        required=False,
        allow_empty_file=True,
        help_text=_("Vous pouvez choisir plusieurs fichiers ; un fichier de même nom est remplacé."),
    )

    class Meta:
        model = Consultation
        fields = ["access", "access_code"]
        widgets = {
            "access": forms.RadioSelect,
            "access_code": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }
        labels = {"access": _("Phase d'accès")}
        help_texts = {
            "access_code": _(
                "Obligatoire en phase d'accès restreint : tapez un code (6 caractères au moins, "
                "sans espace) ou générez-en un, puis transmettez-le aux candidats invités."
            )
        }

    def __init__(self, *args, consultation: Consultation, **kwargs):
        kwargs.setdefault("initial", model_to_dict(consultation, fields=["access", "access_code"]))
        super().__init__(*args, **kwargs)
        self.fields["access_code"].required = False

    def clean_access_code(self):
        code = self.cleaned_data["access_code"].strip()
        if code and (len(code) < 6 or re.search(r"\s", code)):
            raise ValidationError(_("Le code d'accès doit compter au moins 6 caractères, sans espace."))
        return code

    def clean_rules_file(self):
        uploaded = self.cleaned_data.get("rules_file")
        if uploaded:
            _check_upload(uploaded)
        return uploaded

    def clean_files(self):
        files = self.cleaned_data.get("files") or []
        errors = []
        for uploaded in files:
            try:
                _check_upload(uploaded)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return files

    def clean(self):
        cleaned = super().clean()
        restricted = cleaned.get("access") == Access.RESTRICTED
        if restricted and not cleaned.get("access_code") and not self.has_error("access_code"):
            self.add_error(
                "access_code",
                _(
                    "Une consultation en phase d'accès restreint demande un code d'accès : "
                    "tapez-le ou cliquez sur « Générer un code »."
                ),
            )
        return cleaned

    def tab_values(self) -> dict:
        access = self.cleaned_data["access"]
        # A public consultation keeps no code: nobody would be asked for it.
        code = self.cleaned_data["access_code"] if access == Access.RESTRICTED else ""
        return {"access": access, "access_code": code}


class LotForm(forms.ModelForm):
    class Meta:
        model = Lot
        fields = ["number", "title", "description", "estimated_value", "cpv_code"]
        widgets = {
            "number": forms.NumberInput(attrs={"min": "1"}),
            "description": forms.Textarea(attrs={"rows": 3}),
            "estimated_value": forms.NumberInput(attrs={"min": "0", "step": "0.01"}),
        }
        help_texts = {
            "cpv_code": _("Huit chiffres, un tiret et le chiffre de contrôle (exemple : 45261000-4).")
        }

    def __init__(self, *args, consultation: Consultation, lot: Lot | None = None, **kwargs):
        if lot is not None:
            kwargs.setdefault("initial", model_to_dict(lot, fields=self._meta.fields))
        else:
            numbers = consultation.lots.values_list("number", flat=True)
            kwargs.setdefault("initial", {"number": max(numbers, default=0) + 1})
        super().__init__(*args, **kwargs)
        self.consultation = consultation
        self.lot = lot

    def clean_number(self):
        number = self.cleaned_data["number"]
        if number < 1:
            raise ValidationError(_("Les lots sont numérotés à partir de 1."))
        if number > 999:
            raise ValidationError(_("Un numéro de lot ne dépasse pas 999."))
        taken = self.consultation.lots.filter(number=number)
        if self.lot is not None:
            taken = taken.exclude(pk=self.lot.pk)
        if taken.exists():
            raise ValidationError(
                _("Le lot n° %(number)s existe déjà dans cette consultation : choisissez un autre numéro.")
                % {"number": number}
            )
        return number

    def clean_estimated_value(self):
        return clean_amount(self.cleaned_data["estimated_value"])
