"""The registers of a consultation, as rows ready to export: downloads (« registre des
retraits »), questions and the exchanges of the secure messaging (« registre des
échanges »). Reads only; the formats are in ``consultations.exports``."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consultations.calendar import PARIS
from consultations.models import Consultation, Download, Question
from messaging.models import Delivery, Direction, Kind, Message

CHUNK_SIZE = 500


def moment_text(value: datetime | None) -> str:
    """A moment as the registers and messages show it: Paris time, to the second."""
    if value is None:
        return ""
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")


def moment_sentence(value: datetime | None) -> str:
    """« 02/03/2026 à 09:00:00 »: a moment inside a French sentence."""
    if value is None:
        return ""
    local = value.astimezone(PARIS)
    return _("%(date)s à %(time)s") % {"date": local.strftime("%d/%m/%Y"), "time": local.strftime("%H:%M:%S")}


@dataclass(frozen=True)
class Column:
    label: str
    width: int  # in characters, for the spreadsheet


@dataclass
class Register:
    kind: str
    title: str
    consultation: Consultation
    exported_at: datetime
    columns: list[Column]
    # Each row: str, or an aware datetime that every format shows in Paris time.
    rows: Callable[[], Iterator[list]] = field(repr=False)
    count: int = 0

    @property
    def filename_stem(self) -> str:
        return f"registre-{self.kind}-{safe_filename_part(self.consultation.reference)}"


def safe_filename_part(text: str) -> str:
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in text)
    return cleaned.strip("-.") or "consultation"


def downloads_register(consultation: Consultation, *, exported_at: datetime) -> Register:
    queryset = (
        Download.objects.filter(consultation=consultation)
        .order_by("downloaded_at", "pk")
        .values_list(
            "downloaded_at",
            "company__name",
            "company__siret",
            "user__first_name",
            "user__last_name",
            "user__email",
            "dce_version__number",
            "file_name",
        )
    )

    def rows():
        for at, company, siret, first, last, email, version, file_name in queryset.iterator(chunk_size=500):
            yield [
                at,
                company,
                siret,
                f"{first} {last}".strip(),
                email,
                str(version),
                file_name or _("DCE complet"),
            ]

    return Register(
        kind="retraits",
        title=_("Registre des retraits"),
        consultation=consultation,
        exported_at=exported_at,
        columns=[
            Column(_("Date et heure (Paris)"), 20),
            Column(_("Entreprise"), 30),
            Column(_("SIRET"), 16),
            Column(_("Utilisateur"), 24),
            Column(_("E-mail"), 30),
            Column(_("Version du DCE"), 10),
            Column(_("Fichier"), 30),
        ],
        rows=rows,
        count=queryset.count(),
    )


def questions_register(consultation: Consultation, *, exported_at: datetime) -> Register:
    queryset = (
        Question.objects.filter(consultation=consultation)
        .order_by("asked_at", "pk")
        .values_list(
            "asked_at",
            "company__name",
            "company__siret",
            "asked_by__first_name",
            "asked_by__last_name",
            "asked_by__email",
            "text",
            "answered_at",
            "answer",
        )
    )

    def rows():
        for asked_at, company, siret, first, last, email, text, answered_at, answer in queryset.iterator(
            chunk_size=500
        ):
            yield [
                asked_at,
                company,
                siret,
                f"{first} {last}".strip(),
                email,
                text,
                answered_at,
                answer if answered_at else _("Sans réponse"),
            ]

    return Register(
        kind="questions",
        title=_("Registre des questions"),
        consultation=consultation,
        exported_at=exported_at,
        columns=[
            Column(_("Posée le (Paris)"), 20),
            Column(_("Entreprise"), 28),
            Column(_("SIRET"), 16),
            Column(_("Posée par"), 22),
            Column(_("E-mail"), 28),
            Column(_("Question"), 60),
            Column(_("Répondue le (Paris)"), 20),
            Column(_("Réponse"), 60),
        ],
        rows=rows,
        count=queryset.count(),
    )


def _yes_no(value: bool) -> str:
    return _("Oui") if value else _("Non")


def _chunks(iterable, size: int):
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def exchanges_register(consultation: Consultation, *, exported_at: datetime) -> Register:
    """Every message of the consultation's secure messaging, both ways, in sending order.

    The recipients are the addresses the platform notified (one e-mail per recipient):
    they are read with one query per chunk of messages.
    """
    messages = Message.objects.filter(thread__consultation=consultation)
    queryset = (
        messages.order_by("sent_at", "pk")
        .annotate(attachment_count=Count("attachments"))
        .values_list(
            "pk",
            "sent_at",
            "direction",
            "kind",
            "thread__company__name",
            "thread__company__siret",
            "subject",
            "sent_by__first_name",
            "sent_by__last_name",
            "sent_by__email",
            "answer_due_at",
            "first_read_at",
            "is_late",
            "attachment_count",
            "email_failed",
            "content_sha256",
        )
    )
    directions = {value: str(label) for value, label in Direction.choices}
    kinds = {value: str(label) for value, label in Kind.choices}

    def rows():
        for chunk in _chunks(queryset.iterator(chunk_size=CHUNK_SIZE), CHUNK_SIZE):
            recipients: dict[int, list[str]] = {}
            for message_id, email in (
                Delivery.objects.filter(message_id__in=[row[0] for row in chunk])
                .order_by("message_id", "email")
                .values_list("message_id", "email")
            ):
                recipients.setdefault(message_id, []).append(email)
            for (
                pk,
                sent_at,
                direction,
                kind,
                company,
                siret,
                subject,
                first,
                last,
                email,
                answer_due_at,
                first_read_at,
                is_late,
                attachment_count,
                email_failed,
                sha256,
            ) in chunk:
                name = f"{first} {last}".strip()
                yield [
                    sent_at,
                    directions.get(direction, direction),
                    kinds.get(kind, kind),
                    company,
                    siret,
                    subject,
                    f"{name} ({email})" if name else email,
                    ", ".join(recipients.get(pk, [])),
                    answer_due_at,
                    first_read_at,
                    _yes_no(is_late),
                    str(attachment_count),
                    _yes_no(email_failed),
                    sha256,
                ]

    return Register(
        kind="echanges",
        title=_("Registre des échanges"),
        consultation=consultation,
        exported_at=exported_at,
        columns=[
            Column(_("Envoyé le (Paris)"), 20),
            Column(_("Sens"), 22),
            Column(_("Type"), 24),
            Column(_("Entreprise"), 28),
            Column(_("SIRET"), 16),
            Column(_("Objet"), 40),
            Column(_("Expéditeur"), 32),
            Column(_("Destinataires notifiés"), 36),
            Column(_("Réponse attendue avant le (Paris)"), 20),
            Column(_("Première lecture (Paris)"), 20),
            Column(_("Réponse hors délai"), 10),
            Column(_("Pièces jointes"), 8),
            Column(_("Échec du courriel"), 10),
            Column(_("Empreinte SHA-256"), 66),
        ],
        rows=rows,
        count=messages.count(),
    )


def deposits_register(consultation: Consultation, *, exported_at: datetime) -> Register:
    """Every finalised deposit (« registre des dépôts »), in order of receipt: who, when to
    the second, its envelopes, files and sizes, its state, a declared backup copy.

    Before the deadline the buyer learns nothing of the deposits: PermissionDenied.
    """
    from django.core.exceptions import PermissionDenied
    from django.template.defaultfilters import filesizeformat

    from deposits.selectors import finalised_deposits, register_rows
    from deposits.services.opening import deposits_disclosed

    if not deposits_disclosed(consultation):
        raise PermissionDenied

    def rows():
        for row in register_rows(consultation):
            deposit = row["deposit"]
            envelopes = [
                _("%(envelope)s : %(count)d fichier(s), %(size)s")
                % {"envelope": str(e["envelope"]), "count": e["count"], "size": filesizeformat(e["size"])}
                for e in row["envelopes"]
            ]
            opened = [
                _("%(envelope)s le %(moment)s")
                % {"envelope": str(e["envelope"]), "moment": moment_text(e["envelope"].opening.opened_at)}
                for e in row["envelopes"]
                if e["opened"]
            ]
            backup = "; ".join(
                _("Oui : envoyée le %(date)s (%(medium)s)")
                % {"date": copy.sent_on.strftime("%d/%m/%Y"), "medium": copy.medium}
                for copy in row["backup_copies"]
            )
            yield [
                str(deposit.pk),
                row["depositor"],
                deposit.received_at,
                deposit.get_status_display(),
                "\n".join(envelopes),
                str(row["count"]),
                str(row["size"]),
                backup or _("Non"),
                "\n".join(opened) or _("Non ouvert"),
            ]

    return Register(
        kind="depots",
        title=_("Registre des dépôts"),
        consultation=consultation,
        exported_at=exported_at,
        columns=[
            Column(_("Pli n°"), 8),
            Column(_("Entreprise ou groupement"), 40),
            Column(_("Reçu le (Paris)"), 20),
            Column(_("État"), 24),
            Column(_("Enveloppes"), 44),
            Column(_("Fichiers"), 8),
            Column(_("Taille totale (octets)"), 14),
            Column(_("Copie de sauvegarde déclarée"), 30),
            Column(_("Ouverture"), 36),
        ],
        rows=rows,
        count=finalised_deposits(consultation).count(),
    )


REGISTERS = {
    "retraits": downloads_register,
    "questions": questions_register,
    "echanges": exchanges_register,
    "depots": deposits_register,
}
REGISTER_LABELS = {
    "retraits": gettext_lazy("Registre des retraits"),
    "questions": gettext_lazy("Registre des questions"),
    "echanges": gettext_lazy("Registre des échanges"),
    "depots": gettext_lazy("Registre des dépôts"),
}


def register_build(consultation: Consultation, kind: str, *, exported_at: datetime) -> Register:
    return REGISTERS[kind](consultation, exported_at=exported_at)


def register_counts(consultation: Consultation) -> dict[str, int]:
    return {
        "retraits": Download.objects.filter(consultation=consultation).count(),
        "questions": Question.objects.filter(consultation=consultation).count(),
        "echanges": Message.objects.filter(thread__consultation=consultation).count(),
    }
