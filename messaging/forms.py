"""The buyer's « Nouveau message »: its kind, its recipients, its text, the answer date
asked, and its attachments.

The form checks what was typed and turns the recipients' choice into companies; the
rules of sending (who may send a decision letter, who may be written to, the files)
are the service's, which refuses with the field to show the reason on.
"""

from datetime import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from config import clock
from config.filetypes import ACCEPTED_EXTENSIONS
from consultations.calendar import paris_moment, validate_plausible_date
from consultations.forms_buyer_calendar import DateInput, TimeInput
from consultations.forms_buyer_files import MultipleFileField
from messaging.forms_reply import files_help_text
from messaging.models import AGENT_KINDS
from messaging.services.sending import (
    BODY_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
    depositor_companies,
    downloader_companies,
)


class CompanyChoices(forms.ModelMultipleChoiceField):
    """Refuses a value that cannot be a company's id before it reaches the database
    (``pk__in`` with a number beyond 64 bits fails there, unlike a plain lookup)."""

    def _check_values(self, value):
        for pk in value:
            if not str(pk).isdecimal() or int(pk) >= 2**63:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


class Recipients:
    ONE = "one"
    SELECTION = "selection"
    DOWNLOADERS = "downloaders"
    DEPOSITORS = "depositors"

    CHOICES = (
        (ONE, _("Une entreprise")),
        (SELECTION, _("Une sélection d'entreprises")),
        (DOWNLOADERS, _("Toutes les entreprises ayant retiré le DCE (identifiées)")),
        (DEPOSITORS, _("Toutes les entreprises ayant déposé un pli (après la date limite)")),
    )


def agent_kind_choices() -> list[tuple[str, str]]:
    return [(kind.value, kind.label) for kind in AGENT_KINDS]


class ComposeForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Type de message"),
        choices=agent_kind_choices,
        help_text=_(
            "Les lettres de rejet, d'attribution et la notification du marché sont réservées "
            "aux agents habilités à décider."
        ),
        error_messages={"required": _("Choisissez le type du message.")},
    )
    recipients = forms.ChoiceField(
        label=_("Destinataires"),
        choices=Recipients.CHOICES,
        widget=forms.RadioSelect,
        help_text=_("Chaque entreprise reçoit son propre message : aucune ne voit les autres destinataires."),
        error_messages={"required": _("Choisissez à qui envoyer le message.")},
    )
    company = forms.ModelChoiceField(
        label=_("Entreprise destinataire"),
        queryset=None,
        required=False,
        empty_label=_("— Choisir une entreprise —"),
        help_text=_("Pour « Une entreprise »."),
    )
    companies = CompanyChoices(
        label=_("Entreprises destinataires"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Pour « Une sélection d'entreprises » : cochez chacune."),
    )
    subject = forms.CharField(
        label=_("Objet"),
        max_length=SUBJECT_MAX_LENGTH,
        error_messages={"required": _("Donnez un objet au message.")},
    )
    body = forms.CharField(
        label=_("Message"),
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_(
            "Le texte se lit sur la plateforme : le courriel envoyé à l'entreprise ne contient qu'un lien."
        ),
        error_messages={"required": _("Le message est vide : écrivez son texte.")},
    )
    answer_due_date = forms.DateField(
        label=_("Réponse attendue avant le — date"),
        required=False,
        widget=DateInput,
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        validators=[validate_plausible_date],
        error_messages={"invalid": _("Date invalide (jj/mm/aaaa).")},
    )
    answer_due_time = forms.TimeField(
        label=_("Réponse attendue avant le — heure (Paris)"),
        required=False,
        widget=TimeInput,
        input_formats=["%H:%M:%S", "%H:%M"],
        help_text=_("Heure de Paris, à la minute ou à la seconde près (exemple : 12:00 ou 12:00:00)."),
        error_messages={"invalid": _("Heure invalide (hh:mm ou hh:mm:ss).")},
    )
    files = MultipleFileField(
        label=_("Pièces jointes (facultatif)"),
        required=False,
        error_messages={
            "empty": _("Un fichier envoyé est vide."),
            "invalid": _("Aucun fichier n'a été reçu : choisissez-le de nouveau."),
        },
    )

    def __init__(self, *args, consultation, contacts, **kwargs):
        kwargs.setdefault("auto_id", "message-%s")
        super().__init__(*args, **kwargs)
        self.consultation = consultation
        self.fields["company"].queryset = contacts
        self.fields["companies"].queryset = contacts
        # Read at each request: the size limit and the antivirus differ between deployments.
        self.fields["files"].help_text = files_help_text()
        self.fields["files"].widget.attrs["accept"] = ",".join(sorted(ACCEPTED_EXTENSIONS))

    def _answer_due_at(self) -> datetime | None:
        if self.has_error("answer_due_date") or self.has_error("answer_due_time"):
            return None
        day, at = self.cleaned_data.get("answer_due_date"), self.cleaned_data.get("answer_due_time")
        if day is None and at is None:
            return None
        if day is None:
            self.add_error("answer_due_date", _("Indiquez aussi la date de réponse attendue."))
            return None
        if at is None:
            self.add_error("answer_due_time", _("Indiquez aussi l'heure de réponse attendue."))
            return None
        moment = paris_moment(day, at)
        if moment is None:
            self.add_error(
                "answer_due_time",
                _("Cette heure n'existe pas ce jour-là (passage à l'heure d'été) : choisissez-en une autre."),
            )
            return None
        if moment <= clock.now():
            self.add_error(
                "answer_due_date",
                _("La date de réponse attendue est déjà passée : choisissez une date à venir."),
            )
            return None
        return moment

    def _chosen_companies(self) -> list:
        mode = self.cleaned_data.get("recipients")
        if mode == Recipients.ONE:
            company = self.cleaned_data.get("company")
            if company is None:
                if not self.has_error("company"):
                    self.add_error("company", _("Choisissez l'entreprise destinataire."))
                return []
            return [company]
        if mode == Recipients.SELECTION:
            companies = list(self.cleaned_data.get("companies") or [])
            if not companies and not self.has_error("companies"):
                self.add_error("companies", _("Cochez au moins une entreprise destinataire."))
            return companies
        if mode == Recipients.DOWNLOADERS:
            companies = list(downloader_companies(self.consultation))
            if not companies:
                self.add_error(
                    "recipients",
                    _(
                        "Aucune entreprise identifiée n'a retiré le DCE : choisissez une entreprise "
                        "ou une sélection."
                    ),
                )
            return companies
        if mode == Recipients.DEPOSITORS:
            companies = list(depositor_companies(self.consultation))
            if not companies:
                self.add_error(
                    "recipients",
                    _(
                        "Aucun pli n'a été déposé, ou la date limite de remise des plis n'est pas encore "
                        "passée : les déposants ne sont connus qu'après elle."
                    ),
                )
            return companies
        return []

    def clean(self):
        cleaned = super().clean()
        cleaned["answer_due_at"] = self._answer_due_at()
        cleaned["chosen_companies"] = self._chosen_companies()
        return cleaned


class InboxFilterForm(forms.Form):
    """The inbox's filters, sent by GET (no JavaScript needed); the view keeps only known values."""

    type = forms.ChoiceField(label=_("Type de message"), required=False)
    etat = forms.ChoiceField(label=_("État"), required=False)

    def __init__(self, *args, kind_choices, state_choices, **kwargs):
        kwargs.setdefault("auto_id", "filtre-%s")
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [("", _("Tous les types")), *kind_choices]
        self.fields["etat"].choices = [("", _("Tous les états")), *state_choices]
