"""What a company says about its response before « Valider »: as a single company or as a
consortium (« groupement »: its members by SIRET and its representative, the
« mandataire »), the form of its candidature (standard or DUME), the lots it answers and
the variants it offers (which decide the deposit's envelopes); then the acceptance of the
conditions of use and the finalisation; and, beside the deposit, the declaration of a
backup copy (« copie de sauvegarde ») sent on a physical medium.

The deadline itself is judged by ``deposits.services.deposits.deposit_finalize``.
"""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.validators import validate_siret
from audit.services import event_record
from config import clock
from consultations.calendar import PARIS
from consultations.models import Consultation, EnvelopeKind, Lot
from consultations.registers import moment_sentence
from deposits.models import (
    BackupCopy,
    CandidatureForm,
    ConsortiumKind,
    ConsortiumMember,
    ConsortiumRole,
    Deposit,
    DepositStatus,
    Envelope,
    ResponseKind,
)
from deposits.selectors import deposit_files
from deposits.services.deposits import (
    accepting_require,
    company_user_require,
    deposit_finalize,
    draft_require,
    envelopes_wanted,
)
from deposits.services.errors import DepositError

# The requested document a DUME candidature is filed under, as the buyer's modalities name it.
DUME_LABEL = "DUME"
NAME_MAX_LENGTH = ConsortiumMember._meta.get_field("name").max_length
MEDIUM_MAX_LENGTH = BackupCopy._meta.get_field("medium").max_length
CARRIER_MAX_LENGTH = BackupCopy._meta.get_field("carrier").max_length
COMMENT_MAX_LENGTH = 2000


@dataclass(frozen=True)
class Member:
    """A company of a consortium as the depositor typed it."""

    siret: str
    name: str
    is_representative: bool = False


# --- The response's details ----------------------------------------------------------------


def _members_clean(members: list[Member]) -> list[Member]:
    cleaned, seen = [], set()
    for number, member in enumerate(members, start=1):
        siret = "".join((member.siret or "").split())
        name = " ".join((member.name or "").split())
        if not siret and not name:
            continue
        if not siret:
            raise DepositError(_("Membre n° %(number)d : indiquez son numéro SIRET.") % {"number": number})
        try:
            validate_siret(siret)
        except ValidationError as error:
            raise DepositError(
                _("Membre n° %(number)d (SIRET %(siret)s) : %(error)s")
                % {"number": number, "siret": siret, "error": error.messages[0]}
            ) from error
        if not name:
            raise DepositError(_("Membre n° %(number)d : indiquez sa raison sociale.") % {"number": number})
        if len(name) > NAME_MAX_LENGTH:
            raise DepositError(
                _("Membre n° %(number)d : la raison sociale est limitée à %(max)d caractères.")
                % {"number": number, "max": NAME_MAX_LENGTH}
            )
        if siret in seen:
            raise DepositError(
                _("Le SIRET %(siret)s figure deux fois dans le groupement.") % {"siret": siret}
            )
        seen.add(siret)
        cleaned.append(Member(siret=siret, name=name, is_representative=member.is_representative))
    if len(cleaned) < 2:
        raise DepositError(
            _(
                "Un groupement réunit au moins deux entreprises : indiquez le mandataire et au moins "
                "un cotraitant, chacun avec son SIRET et sa raison sociale."
            )
        )
    representatives = [member for member in cleaned if member.is_representative]
    if not representatives:
        raise DepositError(_("Désignez le mandataire du groupement (un seul membre)."))
    if len(representatives) > 1:
        raise DepositError(
            _("Un groupement n'a qu'un mandataire : %(count)d membres sont désignés comme mandataires.")
            % {"count": len(representatives)}
        )
    return cleaned


def _lots_of(consultation: Consultation, lot_ids) -> list[Lot]:
    ids = {int(lot_id) for lot_id in lot_ids or ()}
    lots = list(consultation.lots.filter(pk__in=ids).order_by("number"))
    if len(lots) != len(ids):
        raise DepositError(_("Un des lots choisis n'appartient pas à cette consultation."))
    return lots


def _envelopes_follow(deposit: Deposit, wanted: list[tuple[str, int | None]]) -> list[str]:
    """Create the wanted envelopes, remove the others; an envelope that holds files stays
    until they are withdrawn, so no document disappears without the company doing it."""
    current = {
        (envelope.kind, envelope.lot_id): envelope for envelope in deposit.envelopes.select_related("lot")
    }
    for key, envelope in current.items():
        if key in wanted:
            continue
        if envelope.files.exists():
            raise DepositError(
                _("L'%(envelope)s contient des fichiers : retirez-les avant de renoncer à cette enveloppe.")
                % {"envelope": envelope_name(envelope)}
            )
    removed = [envelope_name(envelope) for key, envelope in current.items() if key not in wanted]
    Envelope.objects.filter(pk__in=[e.pk for key, e in current.items() if key not in wanted]).delete()
    Envelope.objects.bulk_create(
        Envelope(deposit=deposit, kind=kind, lot_id=lot_id)
        for kind, lot_id in wanted
        if (kind, lot_id) not in current
    )
    return removed


def envelope_name(envelope: Envelope) -> str:
    """« enveloppe d'offre du lot 2 », inside a sentence."""
    names = {
        EnvelopeKind.CANDIDATURE: _("enveloppe de candidature"),
        EnvelopeKind.OFFER: _("enveloppe d'offre"),
        EnvelopeKind.VARIANT: _("enveloppe de variante"),
    }
    name = names.get(envelope.kind, envelope.kind)
    if envelope.lot_id:
        return _("%(envelope)s du lot %(number)s") % {"envelope": name, "number": envelope.lot.number}
    return str(name)


@transaction.atomic
def deposit_response_save(
    *,
    deposit: Deposit,
    user,
    response_kind: str,
    consortium_kind: str = "",
    members: list[Member] | None = None,
    candidature_form: str = CandidatureForm.STANDARD,
    lot_ids=None,
    variant_lot_ids=None,
    variant: bool = False,
) -> Deposit:
    """Record how the company answers: alone or as a consortium, its candidature's form,
    the lots it answers and the variants it offers (the envelopes follow)."""
    company_user_require(user, deposit.company)
    deposit = Deposit.objects.select_for_update().select_related("consultation").get(pk=deposit.pk)
    draft_require(deposit)
    consultation = deposit.consultation
    accepting_require(consultation)
    if response_kind not in ResponseKind.values:
        raise DepositError(_("Indiquez si vous répondez seul ou en groupement."))
    if candidature_form not in CandidatureForm.values:
        raise DepositError(_("Indiquez la forme de votre candidature : standard ou DUME."))
    cleaned: list[Member] = []
    if response_kind == ResponseKind.CONSORTIUM:
        if consortium_kind not in ConsortiumKind.values:
            raise DepositError(_("Indiquez la forme du groupement : conjoint ou solidaire."))
        cleaned = _members_clean(list(members or []))
    else:
        consortium_kind = ""
    has_lots = consultation.lots.exists()
    if has_lots:
        lots = _lots_of(consultation, lot_ids)
        if not lots:
            raise DepositError(_("Choisissez au moins un lot auquel vous répondez."))
        variant_lots = _lots_of(consultation, variant_lot_ids)
        if variant_lots and not consultation.variants_allowed:
            raise DepositError(_("Cette consultation n'autorise pas les variantes."))
        outside = [lot.number for lot in variant_lots if lot not in lots]
        if outside:
            raise DepositError(
                _("Une variante n'est possible que sur un lot auquel vous répondez (lot %(number)s).")
                % {"number": outside[0]}
            )
        wanted = envelopes_wanted(consultation, lots=lots, variant_lots=variant_lots)
    else:
        if variant and not consultation.variants_allowed:
            raise DepositError(_("Cette consultation n'autorise pas les variantes."))
        lots, variant_lots = [], []
        wanted = envelopes_wanted(consultation, variant=variant)
    removed = _envelopes_follow(deposit, wanted)
    deposit.response_kind = response_kind
    deposit.consortium_kind = consortium_kind
    deposit.candidature_form = candidature_form
    deposit.save(update_fields=["response_kind", "consortium_kind", "candidature_form"])
    deposit.consortium_members.all().delete()
    ConsortiumMember.objects.bulk_create(
        ConsortiumMember(
            deposit=deposit,
            siret=member.siret,
            name=member.name,
            role=ConsortiumRole.REPRESENTATIVE if member.is_representative else ConsortiumRole.MEMBER,
            position=position,
        )
        for position, member in enumerate(cleaned)
    )
    event_record(
        action="deposit.response_saved",
        actor=user,
        target=deposit,
        data={
            "consultation": deposit.consultation_id,
            "response_kind": response_kind,
            "consortium_kind": consortium_kind,
            "members": [member.siret for member in cleaned],
            "representative": next((m.siret for m in cleaned if m.is_representative), ""),
            "candidature_form": candidature_form,
            "lots": [lot.number for lot in lots],
            "variant_lots": [lot.number for lot in variant_lots],
            "envelopes_removed": len(removed),
        },
    )
    return deposit


# --- « Valider » --------------------------------------------------------------------------


def validation_problems(deposit: Deposit) -> list[str]:
    """What stops the deposit from being validated as the company described it, in French."""
    problems = []
    files = list(deposit_files(deposit))
    by_envelope: dict[int, list] = {}
    for deposit_file in files:
        by_envelope.setdefault(deposit_file.envelope_id, []).append(deposit_file)
    for envelope in deposit.envelopes.select_related("lot").order_by("kind", "lot__number"):
        if envelope.kind == EnvelopeKind.CANDIDATURE:
            continue
        if not by_envelope.get(envelope.pk) and (envelope.lot_id or envelope.kind == EnvelopeKind.VARIANT):
            problems.append(
                _(
                    "L'%(envelope)s est vide : ajoutez-y vos documents, ou retirez ce choix dans « Votre "
                    "réponse »."
                )
                % {"envelope": envelope_name(envelope)}
            )
    if deposit.candidature_form == CandidatureForm.DUME and not any(
        f.envelope.kind == EnvelopeKind.CANDIDATURE and f.document_label == DUME_LABEL for f in files
    ):
        problems.append(
            _(
                "Vous répondez avec un DUME : déposez le fichier du DUME dans l'enveloppe de "
                "candidature, à la ligne « DUME »."
            )
        )
    if deposit.response_kind == ResponseKind.CONSORTIUM and deposit.consortium_members.count() < 2:
        problems.append(_("Indiquez les membres du groupement avant de valider."))
    return problems


@transaction.atomic
def deposit_validate(*, deposit: Deposit, user, conditions_accepted: bool) -> Deposit:
    """« Valider »: the conditions of use accepted, the response complete, then the
    finalisation, which judges the deadline by the platform's clock."""
    company_user_require(user, deposit.company)
    deposit = Deposit.objects.select_related("consultation", "company").get(pk=deposit.pk)
    draft_require(deposit)
    if not conditions_accepted:
        raise DepositError(
            _("Cochez la case d'acceptation des conditions d'utilisation pour valider votre pli.")
        )
    problems = validation_problems(deposit)
    if problems:
        raise DepositError(problems[0])
    return deposit_finalize(deposit=deposit, user=user, conditions_accepted=True)


def finalisation_message(deposit: Deposit) -> str:
    """What the depositor reads at once after « Valider »."""
    moment = moment_sentence(deposit.received_at)
    if deposit.is_practice:
        return _(
            "Votre dépôt d'essai a bien été reçu le %(moment)s. C'était une consultation de test : "
            "aucun acheteur ne l'ouvrira."
        ) % {"moment": moment}
    if deposit.status == DepositStatus.LATE:
        return _(
            "Votre pli est arrivé le %(moment)s, après la date limite de remise des plis "
            "(%(deadline)s). Il est conservé et marqué hors délai : il ne sera pas ouvert avec les "
            "plis reçus dans les délais."
        ) % {"moment": moment, "deadline": moment_sentence(deposit.consultation.deadline)}
    return _("Votre dépôt a bien été reçu le %(moment)s (heure de Paris).") % {"moment": moment}


# --- Backup copy --------------------------------------------------------------------------


@transaction.atomic
def backup_copy_declare(
    *,
    consultation: Consultation,
    user,
    sent_on: date,
    medium: str,
    carrier: str = "",
    comment: str = "",
) -> BackupCopy:
    """The company declares a backup copy (« copie de sauvegarde ») of its response sent on
    a physical medium, so that the buyer knows one exists."""
    company_user = company_user_require(user)
    medium = " ".join((medium or "").split())
    carrier = " ".join((carrier or "").split())
    comment = (comment or "").strip()
    if not medium:
        raise DepositError(_("Indiquez le support de la copie (clé USB, DVD…)."))
    if len(medium) > MEDIUM_MAX_LENGTH or len(carrier) > CARRIER_MAX_LENGTH:
        raise DepositError(_("Le support et le mode d'envoi sont limités à 120 caractères."))
    if len(comment) > COMMENT_MAX_LENGTH:
        raise DepositError(_("Le commentaire est limité à %(max)d caractères.") % {"max": COMMENT_MAX_LENGTH})
    now = clock.now()
    if sent_on is None:
        raise DepositError(_("Indiquez la date d'envoi de la copie."))
    if sent_on > now.astimezone(PARIS).date():
        raise DepositError(_("La date d'envoi ne peut pas être dans le futur."))
    if consultation.published_at and sent_on < consultation.published_at.date():
        raise DepositError(_("La date d'envoi précède la mise en ligne de la consultation."))
    if consultation.is_practice:
        raise DepositError(_("La consultation de test ne reçoit pas de copie de sauvegarde."))
    backup = BackupCopy.objects.create(
        consultation=consultation,
        company_id=company_user.company_id,
        sent_on=sent_on,
        medium=medium,
        carrier=carrier,
        comment=comment,
        declared_by=user,
        declared_at=now,
    )
    event_record(
        action="deposit.backup_copy_declared",
        actor=user,
        target=backup,
        data={
            "consultation": consultation.pk,
            "company": company_user.company_id,
            "sent_on": sent_on.isoformat(),
            "medium": medium,
        },
    )
    return backup
