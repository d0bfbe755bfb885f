"""« Rectificatifs »: changing an online consultation, with a reason, and telling the companies.

The agent prepares the next DCE version with ``consultations.services.dce`` (the
working version), then publishes it together with the changed deadline, title
or object in one amendment. After the modification cut-off (« jours ouvrés »
before the deadline) the agent must confirm, or push the deadline far enough.
"""

from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.services import event_record
from config import clock
from consultations.calendar import PARIS, business_days_before, is_business_day
from consultations.errors import ConsultationError
from consultations.models import Amendment, Consultation, DceFile, DceVersion, State
from consultations.registers import moment_sentence
from consultations.search import search_refresh
from consultations.services.dce import dce_current_version

# What a rectificatif may change besides the DCE, with the label shown to people.
AMENDABLE_FIELDS = {
    "deadline": gettext_lazy("Date limite de remise des plis"),
    "title": gettext_lazy("Intitulé"),
    "object": gettext_lazy("Objet"),
}


class AmendmentAfterCutoff(ConsultationError):
    """The modification cut-off has passed: the agent must confirm or push the deadline."""

    def __init__(self, message: str, *, cutoff: datetime, suggested_deadline: datetime | None):
        super().__init__(message)
        self.cutoff = cutoff
        self.suggested_deadline = suggested_deadline


def modification_cutoff(consultation: Consultation, deadline: datetime) -> datetime:
    """The DCE modification cut-off that ``deadline`` would give this consultation."""
    return business_days_before(
        deadline, consultation.modification_cutoff_days, consultation.organisation.department_code
    )


def deadline_restoring_cutoff(consultation: Consultation, *, now: datetime) -> datetime | None:
    """The earliest deadline whose modification cut-off is still ahead of ``now``.

    It falls on a business day and on a whole minute (what an agent types), so it
    reads « reporter d'une heure » rather than « à 13:00:01 un samedi ».
    """
    department = consultation.organisation.department_code
    local_now = now.astimezone(PARIS)
    today = local_now.date()
    next_minute = (local_now.replace(second=0, microsecond=0) + timedelta(minutes=1)).time()
    day = today
    # The cut-off is a few weeks of business days at most; a year bounds the search.
    for _offset in range(366):
        day += timedelta(days=1)
        if not is_business_day(day, department):
            continue
        noon = datetime.combine(day, time(12), tzinfo=PARIS)
        cutoff_day = business_days_before(noon, consultation.modification_cutoff_days, department).date()
        if cutoff_day < today:
            continue
        if cutoff_day == today and next_minute == time(0):
            continue  # now is 23:59: no time left on that day
        at = next_minute if cutoff_day == today else time(0)
        candidate = datetime.combine(day, at, tzinfo=PARIS)
        if modification_cutoff(consultation, candidate) > now:
            return candidate
    return None


def _file_text(dce_file: DceFile) -> str:
    text = filesizeformat(dce_file.size)
    if dce_file.is_rules:
        text = _("%(size)s, règlement de consultation") % {"size": text}
    return text


def dce_pending(consultation: Consultation) -> tuple[DceVersion | None, dict[str, list[str]]]:
    """The working DCE version and what it changes from the published one, as shown to people.

    An empty dict means the working version (if any) is the published one unchanged.
    """
    working = consultation.dce_versions.filter(published_at__isnull=True).order_by("-number").first()
    if working is None:
        return None, {}
    current = dce_current_version(consultation)
    before = {f.name: f for f in current.files.all()} if current else {}
    after = {f.name: f for f in working.files.all()}
    files = {}
    for name in sorted(before.keys() | after.keys(), key=str.lower):
        old, new = before.get(name), after.get(name)
        label = _("Fichier « %(name)s »") % {"name": name}
        if old is None:
            files[label] = ["—", _("ajouté (%(file)s)") % {"file": _file_text(new)}]
        elif new is None:
            files[label] = [_file_text(old), _("retiré")]
        elif old.sha256 != new.sha256 or old.is_rules != new.is_rules:
            files[label] = [_file_text(old), _("remplacé (%(file)s)") % {"file": _file_text(new)}]
    if not files:
        return working, {}
    old_version = _("version %(number)d") % {"number": current.number} if current else "—"
    return working, {
        _("Version du DCE"): [old_version, _("version %(number)d") % {"number": working.number}],
        **files,
    }


def _value_text(name: str, value) -> str:
    if name == "deadline":
        return moment_sentence(value)
    return str(value)


def _clean_changes(consultation: Consultation, changes: dict, *, now: datetime) -> dict:
    unknown = set(changes) - set(AMENDABLE_FIELDS)
    if unknown:
        raise ValueError(f"A rectificatif cannot change {sorted(unknown)}")
    cleaned, errors = {}, {}
    for name, value in changes.items():
        if value is None:
            continue
        if isinstance(value, str):
            value = value.strip()
            if not value:
                errors[name] = _("Ce champ ne peut pas être vide.")
                continue
        if value != getattr(consultation, name):
            cleaned[name] = value
    if "title" in cleaned and len(cleaned["title"]) > 255:
        errors["title"] = _("L'intitulé est limité à 255 caractères.")
    if "deadline" in cleaned and cleaned["deadline"] <= now:
        errors["deadline"] = _(
            "La nouvelle date limite de remise des plis doit être dans le futur (il est maintenant %(now)s)."
        ) % {"now": moment_sentence(now)}
    elif "deadline" in cleaned and cleaned["deadline"] < consultation.deadline:
        # Companies plan their bids on the deadline they downloaded: a rectificatif may
        # give them more time, never less.
        errors["deadline"] = _(
            "Un rectificatif ne peut pas avancer la date limite de remise des plis "
            "(actuellement %(current)s) : il peut seulement la reporter."
        ) % {"current": moment_sentence(consultation.deadline)}
    if "deadline" in cleaned:
        cleaned["deadline"] = cleaned["deadline"].replace(microsecond=0)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def amendment_publish(
    *, consultation: Consultation, user, reason: str, changes: dict, confirm_after_cutoff: bool = False
) -> Amendment:
    """Publish a rectificatif: the working DCE version if it changed, the changed fields, one
    ``Amendment`` in the history, and a notice to every identified downloader."""
    from consultations.notifications import downloaders_notify
    from consultations.tasks import consultation_timed_events_run

    agent_require(user, AgentPermission.CREATE, consultation)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Indiquez le motif du rectificatif : il est communiqué aux entreprises.")}
        )
    # Lock the row: a closing, a question or another rectificatif waits for this one.
    locked = Consultation.objects.select_for_update().select_related("organisation").get(pk=consultation.pk)
    consultation.__dict__.update(
        {f.attname: getattr(locked, f.attname) for f in Consultation._meta.concrete_fields}
    )
    if consultation.state != State.ONLINE:
        raise ConsultationError(_("Seule une consultation en ligne peut recevoir un rectificatif."))
    now = clock.now()
    if consultation.deadline <= now:
        raise ConsultationError(
            _("La date limite de remise des plis est passée : la consultation ne peut plus être modifiée.")
        )
    fields = _clean_changes(consultation, changes, now=now)
    working, dce_changes = dce_pending(consultation)
    if not fields and not dce_changes:
        raise ConsultationError(
            _("Aucune modification à publier : changez le DCE, la date limite, l'intitulé ou l'objet.")
        )
    if dce_changes and not working.files.filter(is_rules=True).exists():
        raise ConsultationError(_("Le DCE modifié doit garder un règlement de consultation."))

    deadline = fields.get("deadline", consultation.deadline)
    cutoff = modification_cutoff(consultation, deadline)
    after_cutoff = now >= cutoff
    if after_cutoff and not confirm_after_cutoff:
        suggested = deadline_restoring_cutoff(consultation, now=now)
        raise AmendmentAfterCutoff(
            _(
                "La date limite de modification du DCE (%(cutoff)s, %(days)d jours ouvrés avant la date "
                "limite de remise des plis) est dépassée. Confirmez la publication du rectificatif, ou "
                "reportez la date limite de remise des plis au %(suggested)s au moins."
            )
            % {
                "cutoff": moment_sentence(cutoff),
                "days": consultation.modification_cutoff_days,
                "suggested": moment_sentence(suggested),
            },
            cutoff=cutoff,
            suggested_deadline=suggested,
        )

    shown = {}
    for name, value in fields.items():
        shown[str(AMENDABLE_FIELDS[name])] = [
            _value_text(name, getattr(consultation, name)),
            _value_text(name, value),
        ]
        setattr(consultation, name, value)
    if fields:
        consultation.save(update_fields=[*fields, "updated_at"])
    published_version = None
    if dce_changes:
        working.published_at = now
        working.save(update_fields=["published_at"])
        published_version = working
        shown.update(dce_changes)
    amendment = Amendment.objects.create(
        consultation=consultation,
        created_at=now,
        created_by=user,
        reason=reason,
        dce_version=published_version,
        changes=shown,
        after_cutoff=after_cutoff,
    )
    search_refresh(consultation)
    event_record(
        action="amendment.published",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={
            "amendment": amendment.pk,
            "fields": sorted(fields),
            "dce_version": published_version.number if published_version else None,
            "after_cutoff": after_cutoff,
            "deadline": consultation.deadline.isoformat(),
        },
    )
    if "deadline" in fields:
        # The closing task queued at publication fires early and changes nothing; this one closes.
        transaction.on_commit(
            lambda: consultation_timed_events_run.apply_async(
                args=[consultation.pk], eta=consultation.deadline
            )
        )
    downloaders_notify(
        consultation=consultation,
        user=user,
        kind="amendment",
        details={
            "amendment": amendment,
            "reason": reason,
            "changes": [(label, old, new) for label, (old, new) in shown.items()],
        },
    )
    return amendment


@transaction.atomic
def amendment_dce_discard(*, consultation: Consultation, user) -> bool:
    """Drop the DCE version being prepared; the published versions stay as they are."""
    agent_require(user, AgentPermission.CREATE, consultation)
    if consultation.state != State.ONLINE:
        raise ConsultationError(_("Seule une consultation en ligne peut recevoir un rectificatif."))
    working = consultation.dce_versions.filter(published_at__isnull=True)
    numbers = sorted(working.values_list("number", flat=True))
    if not numbers:
        return False
    # The blobs stay: published versions share them.
    working.delete()
    event_record(
        action="dce.working_version_discarded",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"versions": numbers},
    )
    return True
