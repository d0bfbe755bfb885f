"""The states of a consultation and the only functions that change them.

draft → pending_validation → scheduled → online → closed → … (DESIGN.md §2).
Each transition checks the permission, the current state and the clock, writes
the audit log, and is atomic.
"""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import AgentPermission, Organisation
from accounts.notifications import email_queue
from accounts.permissions import agent_require
from audit.services import event_record
from config import clock
from consultations.errors import ConsultationError
from consultations.models import (
    Access,
    Consultation,
    DceVersion,
    ElectronicResponse,
    PublicationRule,
    State,
)
from consultations.policy import CANCELLABLE_STATES, EDITABLE_STATES
from consultations.search import search_refresh

IDENTIFICATION_LOCKED_FIELDS = ("contract_type", "procedure_type")


def _lock(consultation: Consultation) -> Consultation:
    """Reload the row under a lock, so two transitions never interleave."""
    locked = (
        Consultation.objects.select_for_update(no_key=True)
        .select_related("organisation")
        .get(pk=consultation.pk)
    )
    consultation.__dict__.update(
        {f.attname: getattr(locked, f.attname) for f in Consultation._meta.concrete_fields}
    )
    return locked


def _require_state(consultation: Consultation, allowed, message: str) -> None:
    if consultation.state not in allowed:
        raise ConsultationError(message)


def _transition(consultation: Consultation, *, to: str, actor, action: str, data: dict | None = None):
    previous = consultation.state
    consultation.state = to
    consultation.save()
    event_record(
        action=f"consultation.{action}",
        actor=actor,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"from": previous, "to": to, **(data or {})},
    )


@transaction.atomic
def consultation_create(*, user, organisation: Organisation, **fields) -> Consultation:
    """Save the identification tab for the first time; contract and procedure types lock."""
    agent_require(user, AgentPermission.CREATE, organisation)
    consultation = Consultation(
        organisation=organisation, created_by=user, identification_locked=True, **fields
    )
    consultation.full_clean()
    consultation.save()
    DceVersion.objects.create(consultation=consultation, number=1, created_by=user)
    search_refresh(consultation)
    event_record(
        action="consultation.created",
        actor=user,
        target=consultation,
        organisation=organisation,
        data={"reference": consultation.reference},
    )
    return consultation


@transaction.atomic
def consultation_update(*, consultation: Consultation, user, **fields) -> Consultation:
    """Save one tab of a draft. Locked identification fields cannot change."""
    agent_require(user, AgentPermission.CREATE, consultation)
    _lock(consultation)
    _require_state(
        consultation,
        EDITABLE_STATES,
        _("Cette consultation n'est plus un brouillon : modifiez-la par un rectificatif."),
    )
    changed = sorted(name for name, value in fields.items() if getattr(consultation, name) != value)
    for name in IDENTIFICATION_LOCKED_FIELDS:
        if name in changed and consultation.identification_locked:
            raise ConsultationError(
                _("Le type de contrat et le type de procédure ne peuvent plus être modifiés.")
            )
    for name, value in fields.items():
        setattr(consultation, name, value)
    # A suite is created unlocked (consultations/services/suites.py): its types lock
    # when its identification tab is first saved.
    if any(name in fields for name in IDENTIFICATION_LOCKED_FIELDS):
        consultation.identification_locked = True
    consultation.full_clean()
    consultation.save()
    search_refresh(consultation)
    if changed:
        event_record(
            action="consultation.updated",
            actor=user,
            target=consultation,
            organisation=consultation.organisation_id,
            data={"fields": changed},
        )
    return consultation


def consultation_missing_data(consultation: Consultation, *, now: datetime | None = None) -> list[str]:
    """What must still be filled in before the consultation may go online, in French."""
    now = now or clock.now()
    missing = []
    for name in ("reference", "title", "object", "category", "cpv_code"):
        if not getattr(consultation, name):
            missing.append(
                _("Identification : « %(field)s » est à renseigner.")
                % {"field": Consultation._meta.get_field(name).verbose_name}
            )
    version = consultation.dce_versions.order_by("-number").first()
    files = list(version.files.all()) if version else []
    if not any(f.is_rules for f in files):
        missing.append(_("Pièces : le règlement de consultation doit être joint."))
    if consultation.access == Access.RESTRICTED and not consultation.access_code:
        missing.append(_("Accès : une consultation restreinte demande un code d'accès."))
    if consultation.publication_rule == PublicationRule.CHOSEN_DATE and not consultation.publication_date:
        missing.append(_("Calendrier : la date de mise en ligne choisie est à renseigner."))
    if consultation.deadline is None:
        missing.append(_("Calendrier : la date limite de remise des plis est à renseigner."))
    else:
        publication = publication_moment(consultation, now=now)
        if consultation.deadline <= now:
            missing.append(_("Calendrier : la date limite de remise des plis est passée."))
        elif consultation.deadline <= publication:
            missing.append(
                _("Calendrier : la date limite de remise des plis doit suivre la date de mise en ligne.")
            )
        elif consultation.question_deadline() <= publication:
            missing.append(
                _(
                    "Calendrier : la date limite des questions tomberait avant la mise en ligne : "
                    "reportez la date limite de remise des plis ou réduisez le délai des questions."
                )
            )
    if (
        consultation.electronic_response != ElectronicResponse.FORBIDDEN
        and not consultation.requested_documents.exists()
    ):
        missing.append(_("Modalités : indiquez au moins un document demandé dans les enveloppes."))
    # The organisation's backup key is not enough: the buyer must hold a key of its own.
    if consultation.encrypted and not consultation.opening_keys.active().exists():
        missing.append(
            _(
                "Chiffrement : générez ou importez au moins une clé de chiffrement (bi-clé) "
                "pour ouvrir les plis."
            )
        )
    return missing


def publication_moment(consultation: Consultation, *, now: datetime) -> datetime:
    if consultation.publication_rule == PublicationRule.CHOSEN_DATE and consultation.publication_date:
        return max(consultation.publication_date, now)
    return now


def _validators_emails(consultation: Consultation) -> list[str]:
    from accounts.models import Agent

    agents = Agent.objects.filter(
        organisation_id=consultation.organisation_id, can_validate=True, user__is_active=True
    ).select_related("user")
    return sorted({agent.user.email for agent in agents})


@transaction.atomic
def consultation_validation_request(*, consultation: Consultation, user) -> Consultation:
    agent_require(user, AgentPermission.CREATE, consultation)
    _lock(consultation)
    _require_state(consultation, {State.DRAFT}, _("Seul un brouillon peut être soumis à validation."))
    missing = consultation_missing_data(consultation)
    if missing:
        raise ConsultationError(_("Des données obligatoires manquent."), problems=missing)
    consultation.validation_requested_at = clock.now()
    _transition(consultation, to=State.PENDING_VALIDATION, actor=user, action="validation_requested")
    for email in _validators_emails(consultation):
        email_queue(
            template="consultations/email/validation_requested",
            context={"consultation": consultation, "requested_by": user},
            to=[email],
        )
    return consultation


@transaction.atomic
def consultation_approve(*, consultation: Consultation, user, comment: str = "") -> Consultation:
    """The validator's approval schedules the publication; a task puts it online on time."""
    agent_require(user, AgentPermission.VALIDATE, consultation)
    _lock(consultation)
    _require_state(
        consultation, {State.PENDING_VALIDATION}, _("Cette consultation n'attend pas de validation.")
    )
    now = clock.now()
    missing = consultation_missing_data(consultation, now=now)
    if missing:
        raise ConsultationError(_("Des données obligatoires manquent."), problems=missing)
    consultation.validated_at = now
    consultation.validated_by = user
    consultation.validation_comment = comment
    consultation.scheduled_publication_at = publication_moment(consultation, now=now)
    _transition(
        consultation,
        to=State.SCHEDULED,
        actor=user,
        action="approved",
        data={"publication": consultation.scheduled_publication_at.isoformat(), "comment": comment},
    )
    _schedule(consultation)
    return consultation


@transaction.atomic
def consultation_reject(*, consultation: Consultation, user, comment: str) -> Consultation:
    agent_require(user, AgentPermission.VALIDATE, consultation)
    _lock(consultation)
    _require_state(
        consultation, {State.PENDING_VALIDATION}, _("Cette consultation n'attend pas de validation.")
    )
    if not comment.strip():
        raise ConsultationError(_("Expliquez au rédacteur ce qui doit être repris."))
    consultation.validation_comment = comment
    _transition(consultation, to=State.DRAFT, actor=user, action="sent_back", data={"comment": comment})
    email_queue(
        template="consultations/email/sent_back",
        context={"consultation": consultation, "validator": user, "comment": comment},
        to=[consultation.created_by.email],
    )
    return consultation


def _schedule(consultation: Consultation) -> None:
    from consultations.tasks import consultation_timed_events_run

    for moment, _handler in consultation.timed_events():
        transaction.on_commit(
            lambda moment=moment: consultation_timed_events_run.apply_async(
                args=[consultation.pk], eta=moment
            )
        )


@transaction.atomic
def consultation_publish(*, consultation: Consultation) -> bool:
    """Put a scheduled consultation online, if its time has come by the platform's clock.

    Returns whether it went online. A task that runs early (a worker's clock, a
    retried message) finds the time not yet come and changes nothing.
    """
    _lock(consultation)
    now = clock.now()
    if consultation.state != State.SCHEDULED or now < consultation.scheduled_publication_at:
        return False
    consultation.published_at = now
    DceVersion.objects.filter(consultation=consultation, published_at__isnull=True).update(published_at=now)
    _transition(consultation, to=State.ONLINE, actor=None, action="published")
    search_refresh(consultation)
    _schedule(consultation)
    return True


@transaction.atomic
def consultation_close(*, consultation: Consultation) -> bool:
    """Close the deposit room once the deadline has passed by the platform's clock."""
    _lock(consultation)
    now = clock.now()
    # The practice consultation takes deposits at any time: it never closes.
    if consultation.state != State.ONLINE or consultation.is_practice or now < consultation.deadline:
        return False
    _transition(consultation, to=State.CLOSED, actor=None, action="closed")
    from consultations.notifications import closing_notify

    closing_notify(consultation=consultation)
    return True


@transaction.atomic
def consultation_mark_opened(*, consultation: Consultation, user) -> bool:
    """The first opening of the deposits (deposits/services/opening.py) moves a closed
    consultation to « plis ouverts »; later openings change nothing."""
    _lock(consultation)
    if consultation.state != State.CLOSED:
        return False
    _transition(consultation, to=State.OPENED, actor=user, action="opened")
    return True


def consultation_mark_evaluation(*, consultation: Consultation, user) -> bool:
    """The first step of the analysis (a grid, a note, an admission: awards/services)
    moves a consultation whose deposits are opened to « en analyse »; later steps change
    nothing."""
    _lock(consultation)
    if consultation.state != State.OPENED:
        return False
    _transition(consultation, to=State.EVALUATION, actor=user, action="evaluation_started")
    return True


def consultation_mark_decided(*, consultation: Consultation, user) -> bool:
    """When the last lot (or the consultation without lots) has its decision
    (awards/services/decisions.py), the consultation is « décidée »: its decision phase
    is complete, and a suite may be created from it."""
    _lock(consultation)
    if consultation.state not in (State.OPENED, State.EVALUATION):
        return False
    _transition(consultation, to=State.DECIDED, actor=user, action="decided")
    return True


TIMED_HANDLERS = {"publish": consultation_publish, "close": consultation_close}


def consultation_timed_events_run(*, consultation: Consultation) -> list[str]:
    """Run every timed event whose moment has come, in order (a consultation both
    published and past its deadline is published, then closed); returns what acted."""
    acted = []
    while True:
        due = [name for _moment, name in consultation.timed_events()]
        if not due or not TIMED_HANDLERS[due[0]](consultation=consultation):
            return acted
        acted.append(due[0])


@transaction.atomic
def consultation_cancel(*, consultation: Consultation, user, reason: str) -> Consultation:
    """« Déclarer sans suite »: kept for ever, and every identified downloader is told."""
    from consultations.notifications import downloaders_notify

    agent_require(user, AgentPermission.DECIDE, consultation)
    _lock(consultation)
    _require_state(
        consultation, CANCELLABLE_STATES, _("Cette consultation ne peut plus être déclarée sans suite.")
    )
    if not reason.strip():
        raise ConsultationError(_("Le motif de la déclaration sans suite est obligatoire."))
    consultation.cancelled_at = clock.now()
    consultation.cancellation_reason = reason
    _transition(consultation, to=State.CANCELLED, actor=user, action="cancelled", data={"reason": reason})
    downloaders_notify(consultation=consultation, user=user, kind="cancellation", details={"reason": reason})
    return consultation
