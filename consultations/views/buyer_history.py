"""The « Historique » of a consultation: its audit events, told in French."""

from datetime import datetime

from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consultations.calendar import PARIS
from consultations.models import Consultation, EnvelopeKind, Lot, State

ACTION_LABELS = {
    "consultation.created": gettext_lazy("Création de la consultation"),
    "consultation.updated": gettext_lazy("Modification du brouillon"),
    "consultation.requested_documents_set": gettext_lazy("Documents demandés modifiés"),
    "consultation.validation_requested": gettext_lazy("Demande de validation"),
    "consultation.approved": gettext_lazy("Validation"),
    "consultation.sent_back": gettext_lazy("Renvoi en brouillon par le valideur"),
    "consultation.published": gettext_lazy("Mise en ligne"),
    "consultation.closed": gettext_lazy("Clôture à la date limite de remise des plis"),
    "consultation.cancelled": gettext_lazy("Déclaration sans suite"),
    "consultation.opened": gettext_lazy("Ouverture des plis"),
    "consultation.evaluation_started": gettext_lazy("Début de l'analyse des candidatures et des offres"),
    "consultation.decided": gettext_lazy("Décision prise pour tous les lots"),
    "suite.created": gettext_lazy("Création de la consultation comme suite d'une consultation initiale"),
    "consultation.suite_created": gettext_lazy("Suite créée"),
    "consultation.suite_deleted": gettext_lazy("Suite supprimée (brouillon)"),
    "consultation.deleted": gettext_lazy("Consultation supprimée"),
    "suite.invitation_sent": gettext_lazy("Invitation à concourir envoyée"),
    "dce.file_added": gettext_lazy("Fichier ajouté au DCE"),
    "dce.file_removed": gettext_lazy("Fichier retiré du DCE"),
    "dce.working_version_discarded": gettext_lazy("Version du DCE en préparation abandonnée"),
    "lot.created": gettext_lazy("Lot ajouté"),
    "lot.updated": gettext_lazy("Lot modifié"),
    "lot.deleted": gettext_lazy("Lot supprimé"),
    "amendment.published": gettext_lazy("Rectificatif publié"),
    "question.asked": gettext_lazy("Question d'une entreprise"),
    "question.answered": gettext_lazy("Réponse à une question publiée"),
    "message.sent": gettext_lazy("Message envoyé"),
    "message.replied": gettext_lazy("Réponse d'une entreprise"),
    "message.first_read": gettext_lazy("Première lecture d'un message"),
    "message.proof_downloaded": gettext_lazy("Preuve d'un message téléchargée"),
    "register.exported": gettext_lazy("Registre exporté"),
    "opening_key.generated": gettext_lazy("Clé de chiffrement générée"),
    "opening_key.imported": gettext_lazy("Certificat de chiffrement importé"),
    "opening_key.revoked": gettext_lazy("Clé de chiffrement retirée"),
}
# Kept in the log for the chain, not worth a line on screen.
_HIDDEN_KEYS = {"sha256", "from", "to", "amendment", "question", "company", "key", "key_size", "origin"}


def _field_label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def _state_label(value) -> str:
    return str(State(value).label) if value in State.values else str(value)


def _moment_text(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    if timezone.is_naive(moment):
        return str(value)
    return formats.date_format(moment.astimezone(PARIS), "d/m/Y H:i:s")


def _details(action: str, data: dict) -> list[str]:
    lines: list[str] = []
    if "from" in data and "to" in data:
        lines.append(
            _("État : %(before)s → %(after)s")
            % {"before": _state_label(data["from"]), "after": _state_label(data["to"])}
        )
    if action.startswith("lot."):
        lines.append(
            _("Lot n° %(number)s — %(title)s") % {"number": data.get("number"), "title": data.get("title")}
        )
        if action == "lot.updated" and data.get("fields"):
            fields = ", ".join(_field_label(Lot, name) for name in data["fields"])
            lines.append(_("Champs modifiés : %(fields)s") % {"fields": fields})
        return lines
    if action.startswith("dce.file"):
        lines.append(
            _("Version %(version)s : « %(name)s »")
            % {"version": data.get("version"), "name": data.get("name")}
        )
        if data.get("replaced"):
            lines.append(_("Remplace : %(names)s") % {"names": ", ".join(data["replaced"])})
        return lines
    if action.startswith("message."):
        return _message_details(data)
    if action == "consultation.requested_documents_set":
        for envelope, labels in (data.get("documents") or {}).items():
            kind = str(EnvelopeKind(envelope).label) if envelope in EnvelopeKind.values else envelope
            lines.append(f"{kind} : {', '.join(labels) or '—'}")
        return lines
    for key, value in data.items():
        if key in _HIDDEN_KEYS or value in (None, "", [], {}):
            continue
        if key == "fields" and isinstance(value, list):
            fields = ", ".join(_field_label(Consultation, name) for name in value)
            lines.append(_("Champs modifiés : %(fields)s") % {"fields": fields})
        elif key == "comment":
            lines.append(_("Commentaire : %(comment)s") % {"comment": value})
        elif key == "reason":
            lines.append(_("Motif : %(reason)s") % {"reason": value})
        elif key == "publication":
            lines.append(_("Mise en ligne programmée le %(date)s") % {"date": _moment_text(value)})
        elif key == "deadline":
            lines.append(_("Date limite de remise des plis : %(date)s") % {"date": _moment_text(value)})
        elif key == "reference":
            lines.append(_("Référence : %(reference)s") % {"reference": value})
        elif key == "dce_version":
            lines.append(_("Nouvelle version du DCE : %(version)s") % {"version": value})
        elif key == "after_cutoff":
            lines.append(_("Après la date limite de modification du DCE"))
        elif key == "versions":
            lines.append(_("Versions : %(versions)s") % {"versions": ", ".join(map(str, value))})
        else:
            lines.append(f"{key} : {value}")
    return lines


def _message_details(data: dict) -> list[str]:
    from messaging.models import Kind

    lines = []
    if data.get("kind") in Kind.values:
        lines.append(_("Type : %(kind)s") % {"kind": Kind(data["kind"]).label})
    if data.get("companies"):
        lines.append(_("Entreprises destinataires : %(count)d") % {"count": len(data["companies"])})
    if data.get("attachments"):
        lines.append(_("Pièces jointes : %(count)d") % {"count": data["attachments"]})
    if data.get("late"):
        lines.append(_("Réponse hors délai"))
    if data.get("at"):
        lines.append(_("Lu le %(date)s") % {"date": _moment_text(data["at"])})
    return lines


def history_rows(events) -> list[dict]:
    return [
        {
            "created_at": event.created_at,
            "actor": event.actor_label or _("La plateforme (automatiquement)"),
            "action": event.action,
            "label": ACTION_LABELS.get(event.action, event.action),
            "details": _details(event.action, event.data or {}),
        }
        for event in events
    ]
