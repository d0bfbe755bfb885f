"""Forms of the « Calendrier » and « Modalités » tabs."""

from datetime import datetime

from django import forms
from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy as _

from config import clock
from config.filetypes import ACCEPTED_EXTENSIONS, MAGIC
from consultations.calendar import PARIS, paris_moment, validate_plausible_date
from consultations.models import (
    Consultation,
    ElectronicResponse,
    EnvelopeKind,
    OpeningMode,
    PublicationRule,
    SignatureRule,
)

# The labels are stored as written here, in French: the bidder reads them in its envelope.
STANDARD_DOCUMENTS = {
    EnvelopeKind.CANDIDATURE: (
        "DC1 – Lettre de candidature",
        "DC2 – Déclaration du candidat",
        "DUME",
        "Attestations d'assurance",
        "Références",
    ),
    EnvelopeKind.OFFER: (
        "Acte d'engagement",
        "Annexe financière (DPGF, BPU/DQE)",
        "Mémoire technique",
        "Pièces libres",
    ),
    EnvelopeKind.VARIANT: (
        "Acte d'engagement de la variante",
        "Mémoire technique de la variante",
    ),
}
# What the agent reads beside each box, in its language.
STANDARD_DOCUMENT_LABELS = {
    "DC1 – Lettre de candidature": _("DC1 – Lettre de candidature"),
    "DC2 – Déclaration du candidat": _("DC2 – Déclaration du candidat"),
    "DUME": _("DUME"),
    "Attestations d'assurance": _("Attestations d'assurance"),
    "Références": _("Références"),
    "Acte d'engagement": _("Acte d'engagement"),
    "Annexe financière (DPGF, BPU/DQE)": _("Annexe financière (DPGF, BPU/DQE)"),
    "Mémoire technique": _("Mémoire technique"),
    "Pièces libres": _("Pièces libres"),
    "Acte d'engagement de la variante": _("Acte d'engagement de la variante"),
    "Mémoire technique de la variante": _("Mémoire technique de la variante"),
}
MAX_LABEL_LENGTH = 255
# Every type whose content the platform can check; the platform's list comes ticked.
EXTENSION_CHOICES = [(extension.lstrip("."), extension) for extension in sorted(MAGIC)]
PLATFORM_EXTENSIONS = sorted(extension.lstrip(".") for extension in ACCEPTED_EXTENSIONS)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs={"step": "1", **(attrs or {})}, format="%H:%M:%S")


class CalendarForm(forms.Form):
    publication_rule = forms.ChoiceField(
        label=_("Règle de mise en ligne"), choices=PublicationRule.choices, widget=forms.RadioSelect
    )
    publication_day = forms.DateField(
        label=_("Date de mise en ligne choisie"),
        required=False,
        widget=DateInput,
        validators=[validate_plausible_date],
    )
    publication_time = forms.TimeField(
        label=_("Heure de mise en ligne choisie"),
        required=False,
        widget=TimeInput,
        help_text=_("Seulement pour « Date choisie ». Heure de Paris."),
    )
    deadline_day = forms.DateField(
        label=_("Date limite de remise des plis"),
        required=False,
        widget=DateInput,
        validators=[validate_plausible_date],
    )
    deadline_time = forms.TimeField(
        label=_("Heure limite de remise des plis"),
        required=False,
        widget=TimeInput,
        help_text=_("Heure de Paris, à la seconde près (exemple : 12:00:00)."),
    )
    question_cutoff_days = forms.IntegerField(
        label=_("Questions des entreprises jusqu'à (jours ouvrés avant la date limite)"),
        min_value=0,
        max_value=60,
    )
    modification_cutoff_days = forms.IntegerField(
        label=_("Modifications du DCE jusqu'à (jours ouvrés avant la date limite)"),
        min_value=0,
        max_value=60,
    )
    offer_validity_days = forms.IntegerField(
        label=_("Durée de validité des offres (jours)"), min_value=1, max_value=3650
    )

    def __init__(self, *args, consultation: Consultation, **kwargs):
        initial = model_to_dict(
            consultation,
            fields=[
                "publication_rule",
                "question_cutoff_days",
                "modification_cutoff_days",
                "offer_validity_days",
            ],
        )
        if consultation.publication_date:
            local = consultation.publication_date.astimezone(PARIS)
            initial.update(publication_day=local.date(), publication_time=local.time())
        if consultation.deadline:
            local = consultation.deadline.astimezone(PARIS)
            initial.update(deadline_day=local.date(), deadline_time=local.time())
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)

    def _moment(self, day_field: str, time_field: str, *, required: bool) -> datetime | None:
        if self.has_error(day_field) or self.has_error(time_field):
            return None
        day, at = self.cleaned_data.get(day_field), self.cleaned_data.get(time_field)
        if day is None and at is None:
            if required:
                self.add_error(day_field, _("Indiquez la date et l'heure."))
            return None
        if day is None:
            self.add_error(day_field, _("Indiquez aussi la date."))
            return None
        if at is None:
            self.add_error(time_field, _("Indiquez aussi l'heure."))
            return None
        moment = paris_moment(day, at)
        if moment is None:
            self.add_error(
                time_field,
                _("Cette heure n'existe pas ce jour-là (passage à l'heure d'été) : choisissez-en une autre."),
            )
        return moment

    def clean(self):
        cleaned = super().clean()
        now = clock.now()
        chosen = cleaned.get("publication_rule") == PublicationRule.CHOSEN_DATE
        publication = self._moment("publication_day", "publication_time", required=chosen)
        deadline = self._moment("deadline_day", "deadline_time", required=False)
        if chosen and publication is not None and publication <= now:
            self.add_error("publication_day", _("La date de mise en ligne choisie est déjà passée."))
        if deadline is not None:
            if deadline <= now:
                self.add_error(
                    "deadline_day",
                    _("La date limite de remise des plis est déjà passée : choisissez une date à venir."),
                )
            elif chosen and publication is not None and deadline <= publication:
                self.add_error(
                    "deadline_day",
                    _("La date limite de remise des plis doit suivre la date de mise en ligne choisie."),
                )
        cleaned["publication_date"] = publication if chosen else None
        cleaned["deadline"] = deadline
        return cleaned

    def tab_values(self) -> dict:
        names = (
            "publication_rule",
            "publication_date",
            "deadline",
            "question_cutoff_days",
            "modification_cutoff_days",
            "offer_validity_days",
        )
        return {name: self.cleaned_data[name] for name in names}


def _extra_labels(text: str) -> list[str]:
    return [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()]


def _documents_field(envelope: EnvelopeKind, label) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        required=False,
        choices=[(value, STANDARD_DOCUMENT_LABELS[value]) for value in STANDARD_DOCUMENTS[envelope]],
        widget=forms.CheckboxSelectMultiple,
    )


def _extra_field(label) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Un intitulé par ligne."),
    )


class ModalitiesForm(forms.Form):
    electronic_response = forms.ChoiceField(
        label=_("Réponse électronique"), choices=ElectronicResponse.choices, widget=forms.RadioSelect
    )
    signature_rule = forms.ChoiceField(
        label=_("Signature électronique"), choices=SignatureRule.choices, widget=forms.RadioSelect
    )
    opening_mode = forms.ChoiceField(
        label=_("Mode d'ouverture des plis"), choices=OpeningMode.choices, widget=forms.RadioSelect
    )
    encrypted = forms.TypedChoiceField(
        label=_("Chiffrement des plis"),
        choices=[("1", _("Oui")), ("0", _("Non"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        help_text=_("Oui : la clé de chiffrement de la consultation est requise pour ouvrir chaque pli."),
    )
    accepted_extensions = forms.MultipleChoiceField(
        label=_("Formats de fichiers acceptés dans les plis"),
        choices=EXTENSION_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Par défaut (ou si aucun n'est coché), la liste de la plateforme. Chaque fichier déposé "
            "est contrôlé par son extension et par son contenu."
        ),
    )
    candidature_documents = _documents_field(
        EnvelopeKind.CANDIDATURE, _("Documents demandés dans l'enveloppe de candidature")
    )
    candidature_extra = _extra_field(_("Autres documents de candidature"))
    offer_documents = _documents_field(EnvelopeKind.OFFER, _("Documents demandés dans l'enveloppe d'offre"))
    offer_extra = _extra_field(_("Autres documents d'offre"))
    variant_documents = _documents_field(
        EnvelopeKind.VARIANT,
        _("Documents demandés dans l'enveloppe de variante (si les variantes sont autorisées)"),
    )
    variant_extra = _extra_field(_("Autres documents de variante"))

    def __init__(self, *args, consultation: Consultation, **kwargs):
        initial = model_to_dict(
            consultation, fields=["electronic_response", "signature_rule", "opening_mode"]
        )
        initial["encrypted"] = "1" if consultation.encrypted else "0"
        initial["accepted_extensions"] = list(consultation.accepted_extensions or PLATFORM_EXTENSIONS)
        documents = list(consultation.requested_documents.all())
        for envelope in EnvelopeKind:
            labels = [d.label for d in documents if d.envelope == envelope]
            standard = STANDARD_DOCUMENTS[envelope]
            initial[f"{envelope.value}_documents"] = [label for label in labels if label in standard]
            initial[f"{envelope.value}_extra"] = "\n".join(label for label in labels if label not in standard)
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        for envelope in EnvelopeKind:
            name = f"{envelope.value}_extra"
            for label in _extra_labels(cleaned.get(name, "")):
                if len(label) > MAX_LABEL_LENGTH:
                    self.add_error(
                        name,
                        _("Un intitulé compte 255 caractères au plus : « %(start)s… » est trop long.")
                        % {"start": label[:40]},
                    )
        return cleaned

    def tab_values(self) -> dict:
        names = ("electronic_response", "signature_rule", "opening_mode", "encrypted")
        values = {name: self.cleaned_data[name] for name in names}
        chosen = sorted(set(self.cleaned_data["accepted_extensions"]))
        # The platform's list is stored as « none chosen », so that it follows the platform's.
        values["accepted_extensions"] = [] if chosen in ([], PLATFORM_EXTENSIONS) else chosen
        return values

    def documents(self) -> dict[str, list[str]]:
        """{envelope: labels}: the standard ones in their usual order, then the extra ones."""
        result = {}
        for envelope in EnvelopeKind:
            checked = set(self.cleaned_data[f"{envelope.value}_documents"])
            standard = [label for label in STANDARD_DOCUMENTS[envelope] if label in checked]
            result[envelope.value] = standard + _extra_labels(self.cleaned_data[f"{envelope.value}_extra"])
        return result
