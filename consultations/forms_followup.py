"""Forms of what follows publication: questions, answers, rectificatifs, « sans suite »."""

from django import forms
from django.utils.translation import gettext_lazy as _

from consultations.calendar import PARIS, paris_moment, validate_plausible_date
from consultations.services.questions import ANSWER_MAX_LENGTH, QUESTION_MAX_LENGTH


class QuestionForm(forms.Form):
    text = forms.CharField(
        label=_("Votre question"),
        max_length=QUESTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "La question et sa réponse seront publiées sur la page de la consultation sans le nom "
            "de votre entreprise : ne le mentionnez pas dans le texte."
        ),
        error_messages={"required": _("Écrivez votre question.")},
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Réponse publiée"),
        max_length=ANSWER_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Publiée sans le nom de l'entreprise qui a posé la question, et annoncée par courriel à "
            "chaque entreprise identifiée qui a retiré le DCE."
        ),
        error_messages={"required": _("Écrivez la réponse à publier.")},
    )


class ReasonForm(forms.Form):
    """« Déclarer sans suite »."""

    reason = forms.CharField(
        label=_("Motif de la déclaration sans suite"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Communiqué à chaque entreprise identifiée qui a retiré le DCE."),
        error_messages={"required": _("Le motif de la déclaration sans suite est obligatoire.")},
    )


class DceFileForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier à ajouter ou à remplacer"),
        help_text=_("Un fichier du même nom que l'un de ceux du DCE le remplace."),
        error_messages={
            "required": _("Choisissez un fichier."),
            "empty": _("Le fichier envoyé est vide."),
            "invalid": _("Aucun fichier n'a été reçu : choisissez-le de nouveau."),
        },
    )
    is_rules = forms.BooleanField(
        label=_("Il s'agit du règlement de consultation (il remplace le précédent)"), required=False
    )


class AmendmentForm(forms.Form):
    deadline_date = forms.DateField(
        label=_("Date limite de remise des plis — date"),
        validators=[validate_plausible_date],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={"required": _("Indiquez la date."), "invalid": _("Date invalide (jj/mm/aaaa).")},
    )
    deadline_time = forms.TimeField(
        label=_("Date limite de remise des plis — heure (Paris)"),
        widget=forms.TimeInput(attrs={"type": "time", "step": "1"}, format="%H:%M:%S"),
        input_formats=["%H:%M:%S", "%H:%M"],
        help_text=_("À la seconde près, heure de Paris."),
        error_messages={"required": _("Indiquez l'heure."), "invalid": _("Heure invalide (hh:mm:ss).")},
    )
    title = forms.CharField(label=_("Intitulé"), max_length=255)
    object = forms.CharField(label=_("Objet"), widget=forms.Textarea(attrs={"rows": 5}))
    reason = forms.CharField(
        label=_("Motif du rectificatif"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Obligatoire ; communiqué aux entreprises avec la liste des changements."),
        error_messages={
            "required": _("Indiquez le motif du rectificatif : il est communiqué aux entreprises.")
        },
    )
    confirm_after_cutoff = forms.BooleanField(
        label=_("Je confirme la publication après la date limite de modification du DCE"),
        required=False,
    )

    def __init__(self, *args, ask_confirmation: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not ask_confirmation:
            del self.fields["confirm_after_cutoff"]

    @classmethod
    def initial_from(cls, consultation) -> dict:
        initial = {"title": consultation.title, "object": consultation.object}
        if consultation.deadline is not None:
            local = consultation.deadline.astimezone(PARIS)
            initial.update(deadline_date=local.date(), deadline_time=local.time().replace(microsecond=0))
        return initial

    def clean(self):
        cleaned = super().clean()
        day, at = cleaned.get("deadline_date"), cleaned.get("deadline_time")
        if day and at:
            moment = paris_moment(day, at)
            if moment is None:
                self.add_error(
                    "deadline_time", _("Cette heure n'existe pas ce jour-là (changement d'heure).")
                )
            else:
                cleaned["deadline"] = moment
        return cleaned

    def changes(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in ("deadline", "title", "object")}
