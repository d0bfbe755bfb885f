"""Suites of a consultation (« Créer une suite »): a relaunch of an unsuccessful
consultation, of some of its unsuccessful lots, or a negotiation phase with candidates
of the initial one (seed 000).

A suite is a new draft whose ``parent`` is the initial consultation, pre-filled from it
and limited to the chosen lots; the link is permanent (``Consultation.parent`` and
``Lot.origin`` are protected), so the initial can no longer be deleted. The suite then
goes through the usual tabs and validation. Its candidates are told by an « invitation à
concourir » sent through the secure messaging once it is online.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AgentPermission, Company
from accounts.permissions import agent_require
from audit.services import event_record
from awards.models import Decision, Outcome
from consultations.errors import ConsultationError
from consultations.models import (
    Access,
    Consultation,
    DceFile,
    DceVersion,
    Lot,
    RequestedDocument,
    State,
    SuiteKind,
)
from consultations.search import search_refresh
from consultations.services.access import access_code_generate
from consultations.services.dce import dce_current_version
from deposits.models import DepositState, DepositStatus
from messaging.models import Kind, Message

# A suite starts from a consultation whose decision phase is complete.
SUITE_PARENT_STATES = frozenset({State.DECIDED})
REFERENCE_MAX_LENGTH = Consultation._meta.get_field("reference").max_length

# What the suite takes from the initial consultation as it is; the calendar (deadline,
# publication date) is left empty, the access and the lots are decided below.
COPIED_FIELDS = (
    "service_id",
    "contract_type",
    "procedure_type",
    "category",
    "title",
    "object",
    "estimated_value",
    "cpv_code",
    "cpv_additional",
    "place_of_execution",
    "variants_allowed",
    "question_cutoff_days",
    "modification_cutoff_days",
    "offer_validity_days",
    "electronic_response",
    "signature_rule",
    "opening_mode",
    "encrypted",
    "accepted_extensions",
)
LOT_COPIED_FIELDS = ("number", "title", "description", "estimated_value", "cpv_code")


# --- Reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LotSituation:
    lot: Lot
    outcome: str  # an Outcome value, or "" when the lot has no decision

    @property
    def awarded(self) -> bool:
        return self.outcome == Outcome.AWARDED

    @property
    def unsuccessful(self) -> bool:
        return self.outcome == Outcome.UNSUCCESSFUL

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label if self.outcome else _("sans décision")


def lot_situations(consultation: Consultation) -> list[LotSituation]:
    """Each lot of the consultation with the outcome of its decision, in lot order."""
    outcomes = dict(
        Decision.objects.filter(consultation=consultation, lot__isnull=False).values_list("lot_id", "outcome")
    )
    return [LotSituation(lot, outcomes.get(lot.pk, "")) for lot in consultation.lots.order_by("number")]


def consultation_unsuccessful(consultation: Consultation) -> bool:
    """Entirely unsuccessful: every lot is (or, without lots, the consultation is)."""
    situations = lot_situations(consultation)
    if situations:
        return all(s.unsuccessful for s in situations)
    return Decision.objects.filter(
        consultation=consultation, lot__isnull=True, outcome=Outcome.UNSUCCESSFUL
    ).exists()


def suite_candidates(consultation: Consultation):
    """The companies that deposited on time on the consultation: who a negotiation may invite
    (nobody before the deadline: until then, who deposited is the depositors' secret)."""
    from deposits.services.opening import deposits_disclosed

    if not deposits_disclosed(consultation):
        return Company.objects.none()
    return (
        Company.objects.filter(
            deposits__consultation=consultation,
            deposits__state=DepositState.FINALISED,
            deposits__status=DepositStatus.ON_TIME,
        )
        .distinct()
        .order_by("name")
    )


def suite_chain(consultation: Consultation) -> tuple[Consultation, list[tuple[Consultation, int]]]:
    """The initial consultation at the top of the chain, and every consultation of the
    chain in order (depth first) with its depth: initial → S1 → S2…"""
    root = consultation
    seen = {root.pk}
    while root.parent_id is not None and root.parent_id not in seen:
        root = Consultation.objects.get(pk=root.parent_id)
        seen.add(root.pk)
    # One query for the whole organisation's suites, then the tree in memory.
    children: dict[int, list[Consultation]] = {}
    for suite in (
        Consultation.objects.filter(organisation_id=root.organisation_id, parent__isnull=False)
        .only("pk", "parent_id", "reference", "title", "state", "suite_kind", "organisation_id")
        .order_by("created_at", "pk")
    ):
        children.setdefault(suite.parent_id, []).append(suite)
    rows: list[tuple[Consultation, int]] = []

    def walk(node: Consultation, depth: int) -> None:
        rows.append((node, depth))
        for child in children.get(node.pk, []):
            walk(child, depth + 1)

    walk(root, 0)
    return root, rows


def suite_reference(consultation: Consultation) -> str:
    """« <référence initiale>-S1 », then S2…: the first one free in the organisation.

    The number counts along the whole chain, from the initial consultation, so a suite of
    a suite is « -S2 » rather than « -S1-S1 »."""
    root, _rows = suite_chain(consultation)
    taken = {
        reference.lower()
        for reference in Consultation.objects.filter(
            organisation_id=root.organisation_id, reference__istartswith=root.reference[:40]
        ).values_list("reference", flat=True)
    }
    number = 1
    while True:
        suffix = f"-S{number}"
        reference = root.reference[: REFERENCE_MAX_LENGTH - len(suffix)] + suffix
        if reference.lower() not in taken:
            return reference
        number += 1


# --- Creation --------------------------------------------------------------------------------


def suite_parent_require(consultation: Consultation) -> None:
    if consultation.state not in SUITE_PARENT_STATES:
        raise ConsultationError(
            _(
                "Créez une suite une fois la phase de décision terminée : la consultation %(reference)s "
                "est « %(state)s » ; chaque lot doit avoir sa décision."
            )
            % {"reference": consultation.reference, "state": consultation.get_state_display()}
        )


def _lots_chosen(consultation: Consultation, kind: str, lots) -> list[Lot]:
    """The lots of the initial consultation the suite carries, by the seed's rules."""
    situations = lot_situations(consultation)
    if not situations:
        if lots:
            raise ConsultationError(_("Cette consultation n'a pas de lots : ne sélectionnez aucun lot."))
        if kind == SuiteKind.PARTIALLY_UNSUCCESSFUL:
            raise ConsultationError(
                _(
                    "Une consultation sans lots ne peut pas être partiellement infructueuse : choisissez "
                    "« entièrement infructueuse » ou « phase de négociation »."
                )
            )
        return []
    by_pk = {s.lot.pk: s for s in situations}
    if lots is None:
        chosen = None
    else:
        chosen = []
        for lot in lots:
            pk = getattr(lot, "pk", lot)
            if pk not in by_pk:
                raise ConsultationError(_("Un lot choisi n'appartient pas à la consultation initiale."))
            chosen.append(by_pk[pk])
        if not chosen:
            raise ConsultationError(_("Sélectionnez au moins un lot à relancer."))
    for situation in chosen or ():
        if situation.awarded:
            raise ConsultationError(
                _("Le lot %(number)s « %(title)s » a été attribué : il ne peut pas être relancé.")
                % {"number": situation.lot.number, "title": situation.lot.title}
            )
    if kind == SuiteKind.UNSUCCESSFUL:
        if not all(s.unsuccessful for s in situations):
            raise ConsultationError(
                _(
                    "La consultation n'est pas entièrement infructueuse : des lots ont été attribués ou "
                    "déclarés sans suite. Choisissez « partiellement infructueuse » et les lots à relancer."
                )
            )
        if chosen is not None and len(chosen) != len(situations):
            raise ConsultationError(
                _(
                    "Une consultation entièrement infructueuse est relancée avec tous ses lots : choisissez "
                    "« partiellement infructueuse » pour n'en relancer que certains."
                )
            )
        return [s.lot for s in situations]
    if kind == SuiteKind.PARTIALLY_UNSUCCESSFUL:
        if chosen is None:
            chosen = [s for s in situations if s.unsuccessful]
            if not chosen:
                raise ConsultationError(_("Aucun lot de cette consultation n'est infructueux."))
        for situation in chosen:
            if not situation.unsuccessful:
                raise ConsultationError(
                    _(
                        "Le lot %(number)s « %(title)s » n'est pas infructueux : seuls les lots infructueux "
                        "sont relancés."
                    )
                    % {"number": situation.lot.number, "title": situation.lot.title}
                )
        return [s.lot for s in chosen]
    # Negotiation: every lot that was not awarded, or the agent's selection of them.
    if chosen is None:
        chosen = [s for s in situations if not s.awarded]
        if not chosen:
            raise ConsultationError(_("Tous les lots ont été attribués : aucun ne peut être négocié."))
    return [s.lot for s in chosen]


def _kind_check(consultation: Consultation, kind: str) -> None:
    if kind not in SuiteKind.values:
        raise ConsultationError(_("Choisissez la situation de la suite."))
    if kind == SuiteKind.UNSUCCESSFUL and not consultation_unsuccessful(consultation):
        raise ConsultationError(
            _(
                "La consultation n'est pas entièrement infructueuse : des lots ont été attribués ou "
                "déclarés sans suite. Choisissez « partiellement infructueuse » et les lots à relancer."
            )
        )


def _companies_chosen(consultation: Consultation, kind: str, companies) -> list[Company]:
    companies = list(companies or ())
    if kind != SuiteKind.NEGOTIATION:
        if companies:
            raise ConsultationError(_("Les candidats ne se choisissent que pour une phase de négociation."))
        return []
    if not companies:
        raise ConsultationError(_("Sélectionnez au moins un candidat à inviter à la négociation."))
    allowed = set(suite_candidates(consultation).values_list("pk", flat=True))
    for company in companies:
        if getattr(company, "pk", company) not in allowed:
            raise ConsultationError(
                _(
                    "Seules les entreprises qui ont déposé un pli dans les délais sur la consultation "
                    "initiale peuvent être invitées à la négociation."
                )
            )
    return list(Company.objects.filter(pk__in=[getattr(c, "pk", c) for c in companies]).order_by("name"))


def _access(consultation: Consultation, kind: str) -> tuple[str, str]:
    # A negotiation is open to the invited candidates only; the initial consultation's code
    # is known to all its candidates, so a restricted suite always gets a new one.
    if kind == SuiteKind.NEGOTIATION or consultation.access == Access.RESTRICTED:
        return Access.RESTRICTED, access_code_generate()
    return Access.PUBLIC, ""


def _dce_copy(*, initial: Consultation, suite: Consultation, user) -> int:
    """Version 1 of the suite holds the files of the initial's last published version;
    the blobs are shared, as between DCE versions (a blob is never removed)."""
    version = DceVersion.objects.create(consultation=suite, number=1, created_by=user)
    source = dce_current_version(initial)
    if source is None:
        return 0
    files = [
        DceFile(
            version=version, name=f.name, blob=f.blob.name, size=f.size, sha256=f.sha256, is_rules=f.is_rules
        )
        for f in source.files.all()
    ]
    DceFile.objects.bulk_create(files)
    return len(files)


# A second « Créer une suite » this soon after the same one, by the same agent, is the same
# click twice (a double click, a resent form): it returns the suite already made.
DOUBLE_SUBMIT_WINDOW = timedelta(seconds=30)


def _just_created(initial, user, kind, chosen_lots, invited) -> Consultation | None:
    """The draft suite ``user`` just made of ``initial`` with the same choices, if any (the
    initial's row is locked: two requests see each other's suite)."""
    candidates = Consultation.objects.filter(
        parent=initial,
        created_by=user,
        suite_kind=kind,
        state=State.DRAFT,
        created_at__gte=timezone.now() - DOUBLE_SUBMIT_WINDOW,
    ).order_by("-created_at")
    lots = sorted(lot.pk for lot in chosen_lots)
    companies = sorted(company.pk for company in invited)
    for candidate in candidates:
        same_lots = sorted(candidate.lots.values_list("origin_id", flat=True)) == lots
        same_companies = sorted(candidate.invited_companies.values_list("pk", flat=True)) == companies
        if same_lots and same_companies:
            return candidate
    return None


@transaction.atomic
def suite_create(*, user, consultation: Consultation, kind: str, lots=None, companies=()) -> Consultation:
    """Create the suite of ``consultation``, a draft pre-filled from it.

    ``lots``: None for « Tous les lots », else the selected lots of the initial
    consultation; ``companies``: the candidates invited to a negotiation.
    """
    # Creating a suite is creating a consultation: the agent needs that permission.
    agent_require(user, AgentPermission.CREATE, consultation)
    initial = Consultation.objects.select_for_update(no_key=True).get(pk=consultation.pk)
    suite_parent_require(initial)
    _kind_check(initial, kind)
    chosen_lots = _lots_chosen(initial, kind, lots)
    invited = _companies_chosen(initial, kind, companies)
    twin = _just_created(initial, user, kind, chosen_lots, invited)
    if twin is not None:
        return twin
    access, access_code = _access(initial, kind)
    suite = Consultation(
        organisation_id=initial.organisation_id,
        created_by=user,
        parent=initial,
        suite_kind=kind,
        state=State.DRAFT,
        # The agent lands on the identification tab with the initial's types: they lock
        # when that tab is saved (seed 000, step 3), as for a new consultation.
        identification_locked=False,
        reference=suite_reference(initial),
        access=access,
        access_code=access_code,
        **{name: getattr(initial, name) for name in COPIED_FIELDS},
    )
    suite.full_clean()
    suite.save()
    if invited:
        suite.invited_companies.set(invited)
    Lot.objects.bulk_create(
        Lot(consultation=suite, origin=lot, **{name: getattr(lot, name) for name in LOT_COPIED_FIELDS})
        for lot in chosen_lots
    )
    RequestedDocument.objects.bulk_create(
        RequestedDocument(consultation=suite, envelope=d.envelope, label=d.label, position=d.position)
        for d in initial.requested_documents.all()
    )
    files = _dce_copy(initial=initial, suite=suite, user=user)
    search_refresh(suite)
    lot_numbers = [lot.number for lot in chosen_lots]
    event_record(
        action="suite.created",
        actor=user,
        target=suite,
        organisation=suite.organisation_id,
        data={
            "parent": initial.pk,
            "parent_reference": initial.reference,
            "kind": kind,
            "lots": lot_numbers,
            "companies": [c.pk for c in invited],
            "dce_files": files,
        },
    )
    event_record(
        action="consultation.suite_created",
        actor=user,
        target=initial,
        organisation=initial.organisation_id,
        data={"suite": suite.pk, "suite_reference": suite.reference, "kind": kind, "lots": lot_numbers},
    )
    return suite


# --- Invitation à concourir ------------------------------------------------------------------


def suite_public_url(suite: Consultation) -> str:
    return settings.PLATFORM_BASE_URL + reverse("consultations:detail", args=[suite.pk])


def suite_invitation_recipients(suite: Consultation):
    """Who the invitation goes to by default: the invited candidates of a negotiation, else
    the companies that deposited on time on the initial consultation."""
    if suite.suite_kind == SuiteKind.NEGOTIATION:
        return suite.invited_companies.order_by("name")
    return suite_candidates(suite.parent) if suite.parent_id else Company.objects.none()


def suite_invitations_sent(suite: Consultation):
    return Message.objects.filter(thread__consultation=suite, kind=Kind.INVITATION)


def invitation_body(suite: Consultation, body: str) -> str:
    """The agent's text, with the link to the suite's page and, when restricted, its access
    code added when the text does not already give them."""
    body = (body or "").strip()
    if not body:
        return body
    additions = []
    url = suite_public_url(suite)
    if url not in body:
        additions.append(_("Page de la consultation : %(url)s") % {"url": url})
    if suite.is_restricted and suite.access_code not in body:
        additions.append(_("Code d'accès : %(code)s") % {"code": suite.access_code})
    return "\n\n".join([body, "\n".join(additions)]) if additions else body


@transaction.atomic
def suite_invite(*, user, suite: Consultation, companies, body: str, subject: str = "") -> list[Message]:
    """Send the « invitation à concourir » to the chosen candidates, through the secure
    messaging, once the suite is online; the message gives the link and the access code."""
    from messaging.services.sending import message_send
    from messaging.templating import template_for

    agent_require(user, AgentPermission.CREATE, suite)
    suite = Consultation.objects.select_related("organisation").get(pk=suite.pk)
    if suite.parent_id is None:
        raise ConsultationError(
            _("Cette consultation n'est pas une suite : l'invitation à concourir ne s'applique pas.")
        )
    if suite.state != State.ONLINE:
        raise ConsultationError(
            _("L'invitation à concourir s'envoie une fois la suite en ligne ; elle est « %(state)s ».")
            % {"state": suite.get_state_display()}
        )
    companies = list(companies)
    if suite.suite_kind == SuiteKind.NEGOTIATION:
        invited = set(suite.invited_companies.values_list("pk", flat=True))
        if any(company.pk not in invited for company in companies):
            raise ConsultationError(
                _("Seuls les candidats retenus pour la négociation peuvent être invités à y concourir.")
            )
    subject = (subject or "").strip() or template_for(Kind.INVITATION, suite)[0]
    messages = message_send(
        user=user,
        consultation=suite,
        companies=companies,
        kind=Kind.INVITATION,
        subject=subject,
        body=invitation_body(suite, body),
    )
    event_record(
        action="suite.invitation_sent",
        actor=user,
        target=suite.parent,
        organisation=suite.organisation_id,
        data={"suite": suite.pk, "companies": [c.pk for c in companies]},
    )
    return messages
