"""Forms of the company's deposit page: the response's details, « Valider », the backup copy."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.validators import normalize_siret, validate_siret
from consultations.forms_buyer_calendar import DateInput
from deposits.models import BackupCopy, CandidatureForm, ConsortiumKind, ConsortiumMember, ResponseKind
from deposits.services.responses import Member

MEMBER_ROWS_EXTRA = 2
MEMBER_ROWS_MIN = 3


class ResponseForm(forms.Form):
    response_kind = forms.ChoiceField(
        label=_("Vous répondez"), choices=ResponseKind.choices, widget=forms.RadioSelect
    )
    consortium_kind = forms.ChoiceField(
        label=_("Forme du groupement"),
        choices=ConsortiumKind.choices,
        widget=forms.RadioSelect,
        required=False,
        help_text=_("Seulement pour une réponse en groupement."),
    )
    candidature_form = forms.ChoiceField(
        label=_("Forme de la candidature"),
        choices=CandidatureForm.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Avec un DUME, déposez son fichier dans l'enveloppe de candidature, à la ligne « DUME »."
        ),
    )

    def __init__(self, *args, deposit, lots, variants_allowed: bool, **kwargs):
        envelopes = list(deposit.envelopes.all())
        initial = {
            "response_kind": deposit.response_kind,
            "consortium_kind": deposit.consortium_kind,
            "candidature_form": deposit.candidature_form,
            "lots": [str(e.lot_id) for e in envelopes if e.kind == "offer" and e.lot_id],
            "variant_lots": [str(e.lot_id) for e in envelopes if e.kind == "variant" and e.lot_id],
            "variant": any(e.kind == "variant" for e in envelopes),
        }
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        choices = [
            (str(lot.pk), _("Lot %(number)s — %(title)s") % {"number": lot.number, "title": lot.title})
            for lot in lots
        ]
        if lots:
            self.fields["lots"] = forms.MultipleChoiceField(
                label=_("Lots auxquels vous répondez"),
                choices=choices,
                widget=forms.CheckboxSelectMultiple,
                error_messages={"required": _("Choisissez au moins un lot auquel vous répondez.")},
            )
            if variants_allowed:
                self.fields["variant_lots"] = forms.MultipleChoiceField(
                    label=_("Lots pour lesquels vous proposez aussi une variante"),
                    choices=choices,
                    widget=forms.CheckboxSelectMultiple,
                    required=False,
                    help_text=_("Les variantes sont autorisées ; chacune a son enveloppe."),
                )
        elif variants_allowed:
            self.fields["variant"] = forms.BooleanField(
                label=_("Je propose aussi une variante (enveloppe de variante)"), required=False
            )

    def choice(self) -> dict:
        data = self.cleaned_data
        return {
            "response_kind": data["response_kind"],
            "consortium_kind": data.get("consortium_kind") or "",
            "candidature_form": data["candidature_form"],
            "lot_ids": [int(value) for value in data.get("lots", [])],
            "variant_lot_ids": [int(value) for value in data.get("variant_lots", [])],
            "variant": bool(data.get("variant")),
        }


class MemberForm(forms.Form):
    siret = forms.CharField(
        label=_("SIRET"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
        help_text=_("14 chiffres."),
    )
    name = forms.CharField(
        label=_("Raison sociale"),
        max_length=ConsortiumMember._meta.get_field("name").max_length,
        required=False,
    )
    is_representative = forms.BooleanField(label=_("Mandataire du groupement"), required=False)

    def __init__(self, *args, check: bool = False, **kwargs):
        # check: the company answers as a consortium, so each row typed must be complete
        # and its SIRET valid; otherwise the rows are ignored and not checked.
        super().__init__(*args, **kwargs)
        self.check = check

    def clean(self):
        data = super().clean()
        if not self.check:
            return data
        siret = normalize_siret(data.get("siret") or "")
        name = " ".join((data.get("name") or "").split())
        if not siret and not name:
            return data
        if not siret:
            self.add_error("siret", _("Indiquez le numéro SIRET de ce membre."))
        else:
            try:
                validate_siret(siret)
            except ValidationError as error:
                self.add_error("siret", error)
            else:
                data["siret"] = siret
        if not name:
            self.add_error("name", _("Indiquez la raison sociale de ce membre."))
        return data

    def member(self) -> Member | None:
        data = self.cleaned_data
        if not data or not (data.get("siret") or data.get("name")):
            return None
        return Member(siret=data["siret"], name=data["name"], is_representative=data["is_representative"])


class MemberFormSet(forms.BaseFormSet):
    def clean(self):
        """A SIRET typed twice: the error goes to the second row's SIRET."""
        seen: dict[str, int] = {}
        for number, form in enumerate(self.forms, start=1):
            if not form.check or not form.is_valid():
                continue
            siret = form.cleaned_data.get("siret")
            if not siret:
                continue
            if siret in seen:
                form.add_error(
                    "siret",
                    _("Ce SIRET est déjà celui du membre n° %(number)d.") % {"number": seen[siret]},
                )
            else:
                seen[siret] = number

    def error_items(self) -> list[tuple[str, str]]:
        """The rows' errors for the summary: (the field's id, « Membre n° 2 (SIRET …) : … »)."""
        items = []
        for number, form in enumerate(self.forms, start=1):
            for name, errors in form.errors.items():
                if name not in form.fields:
                    continue
                field = form[name]
                siret = normalize_siret(field.value() or "") if name == "siret" else ""
                for error in errors:
                    if siret:
                        message = _("Membre n° %(number)d (SIRET %(siret)s) : %(error)s") % {
                            "number": number,
                            "siret": siret,
                            "error": error,
                        }
                    else:
                        message = _("Membre n° %(number)d, %(field)s : %(error)s") % {
                            "number": number,
                            "field": field.label,
                            "error": error,
                        }
                    items.append((field.auto_id, message))
        return items


def member_formset(data=None, *, deposit, company, check: bool = False):
    """The consortium's members, and a few empty rows to add more. A new consortium starts
    with the depositing company as its representative. check: the answer is a consortium,
    the rows typed are checked."""
    members = list(deposit.consortium_members.all())
    if members:
        initial = [
            {"siret": m.siret, "name": m.name, "is_representative": m.role == "representative"}
            for m in members
        ]
    else:
        initial = [{"siret": company.siret, "name": company.name, "is_representative": True}]
    rows = max(len(initial) + MEMBER_ROWS_EXTRA, MEMBER_ROWS_MIN)
    formset_class = forms.formset_factory(
        MemberForm, formset=MemberFormSet, extra=rows - len(initial), max_num=30, validate_max=True
    )
    return formset_class(data, initial=initial, prefix="membres", form_kwargs={"check": check})


class ValidateForm(forms.Form):
    conditions = forms.BooleanField(
        label=_("J'ai lu et j'accepte les conditions d'utilisation de la plateforme pour le dépôt de ce pli"),
        error_messages={
            "required": _("Cochez la case d'acceptation des conditions d'utilisation pour valider votre pli.")
        },
    )

    def __init__(self, *args, **kwargs):
        # The label follows the box on its line: no « : » at its end.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class BackupCopyForm(forms.ModelForm):
    class Meta:
        model = BackupCopy
        fields = ["sent_on", "medium", "carrier", "comment"]
        labels = {
            "sent_on": _("Date d'envoi"),
            "medium": _("Support"),
            "carrier": _("Mode d'envoi"),
            "comment": _("Commentaire"),
        }
        help_texts = {
            "medium": _("Par exemple : clé USB, DVD, disque dur."),
            "carrier": _("Par exemple : lettre recommandée avec accusé de réception, remise en main propre."),
        }
        widgets = {"sent_on": DateInput, "comment": forms.Textarea(attrs={"rows": 3})}
