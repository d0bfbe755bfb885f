"""Deposits (« plis »): started by a company user, filled through the tus uploads
(``deposits/services/uploads.py``), then finalised.

The deadline is judged once, at finalisation, by the platform's one clock: the database's
time (``config.clock``) read inside the transaction that records the deposit, after the
consultation's row is locked. Finalisations of one consultation therefore happen one after
the other, in the order of their times, and the last on-time deposit of a company is the
one that counts. A deposit finalised at or after the deadline is kept and marked late; it
never replaces an on-time one.
"""

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from accounts.models import CompanyUser
from accounts.permissions import company_user_of
from audit.services import event_record
from config import clock
from consultations.models import Consultation, ElectronicResponse, EnvelopeKind, State
from deposits.models import Deposit, DepositState, DepositStatus, Envelope
from deposits.selectors import deposit_files, opening_keys_for
from deposits.services.errors import DepositError

# New deposits and files arrive while the consultation is online, and after its deadline
# until the opening: the finalisation judges them late, and a late bid is kept, never
# refused. A draft may be finalised (late) at any time after that, until the consultation
# is archived or declared « sans suite ».
ACCEPTING_STATES = frozenset({State.ONLINE, State.CLOSED})
FINALISING_STATES = frozenset({State.ONLINE, State.CLOSED, State.OPENED, State.EVALUATION, State.DECIDED})


def company_user_require(user, company=None) -> CompanyUser:
    company_user = company_user_of(user)
    if company_user is None or (company is not None and company_user.company_id != company.pk):
        raise PermissionDenied
    return company_user


def accepting_require(consultation: Consultation) -> None:
    """The consultation takes new deposits and new files (its deadline is not checked here:
    after it, they are late)."""
    if consultation.state not in ACCEPTING_STATES:
        raise DepositError(
            _("Cette consultation ne reçoit pas de plis : elle n'est pas en ligne."), reason="forbidden"
        )
    if consultation.electronic_response == ElectronicResponse.FORBIDDEN:
        raise DepositError(_("Cette consultation n'accepte pas de réponse électronique."), reason="forbidden")
    if not opening_keys_for(consultation):
        raise DepositError(
            _(
                "Cette consultation n'a pas de clé de chiffrement : l'acheteur doit en ajouter une "
                "avant que les plis puissent être déposés."
            ),
            reason="forbidden",
        )


def invitation_require(consultation: Consultation, company_id: int) -> None:
    """A negotiation phase (a suite with invited candidates) takes deposits from them only."""
    invited = consultation.invited_companies.all()
    if consultation.parent_id and invited.exists() and not invited.filter(pk=company_id).exists():
        raise DepositError(
            _(
                "Cette phase de négociation est réservée aux candidats invités par l'acheteur : "
                "votre entreprise n'en fait pas partie."
            ),
            reason="forbidden",
        )


def draft_require(deposit: Deposit) -> None:
    if not deposit.is_draft:
        raise DepositError(
            _(
                "Ce pli est déjà validé : ses fichiers ne changent plus. Pour modifier votre réponse, "
                "déposez un nouveau pli ; le dernier reçu dans les délais est celui qui compte."
            ),
            reason="forbidden",
        )


def envelopes_wanted(
    consultation: Consultation, *, lots=None, variant_lots=None, variant: bool = False
) -> list[tuple[str, int | None]]:
    """The envelopes a response holds, as (kind, lot id): the candidature, an offer per lot
    answered (``lots``: all of them when not given), and a variant per lot where the company
    offers one, if the consultation allows variants. Without lots, one offer and, with
    ``variant``, one variant."""
    wanted = [(EnvelopeKind.CANDIDATURE, None)]
    all_lots = [lot.pk for lot in consultation.lots.order_by("number")]
    if not all_lots:
        wanted.append((EnvelopeKind.OFFER, None))
        if variant and consultation.variants_allowed:
            wanted.append((EnvelopeKind.VARIANT, None))
        return wanted
    chosen = set(all_lots if lots is None else (getattr(lot, "pk", lot) for lot in lots))
    variants = (
        set()
        if not consultation.variants_allowed
        else {getattr(lot, "pk", lot) for lot in variant_lots or ()}
    )
    for lot_id in all_lots:
        if lot_id in chosen:
            wanted.append((EnvelopeKind.OFFER, lot_id))
    for lot_id in all_lots:
        if lot_id in chosen and lot_id in variants:
            wanted.append((EnvelopeKind.VARIANT, lot_id))
    return wanted


def _envelopes_create(deposit: Deposit, consultation: Consultation, **choice) -> None:
    # Candidature, then one offer per lot answered (every lot until the company chooses),
    # then the variants it offers (deposits/services/responses.py changes the choice).
    Envelope.objects.bulk_create(
        Envelope(deposit=deposit, kind=kind, lot_id=lot_id)
        for kind, lot_id in envelopes_wanted(consultation, **choice)
    )


@transaction.atomic
def deposit_start(*, consultation: Consultation, user) -> Deposit:
    """The company's draft deposit to this consultation: the one in progress, or a new one."""
    company_user = company_user_require(user)
    accepting_require(consultation)
    invitation_require(consultation, company_user.company_id)
    drafts = Deposit.objects.filter(
        consultation=consultation, company_id=company_user.company_id, state=DepositState.DRAFT
    )
    deposit = drafts.first()
    if deposit is not None:
        return deposit
    try:
        with transaction.atomic():
            deposit = Deposit.objects.create(
                consultation=consultation,
                company_id=company_user.company_id,
                created_by=user,
                created_at=clock.now(),
                is_practice=consultation.is_practice,
            )
    except IntegrityError:
        # A colleague started it at the same moment: one draft per company.
        return drafts.get()
    _envelopes_create(deposit, consultation)
    return deposit


def _seal_queue(deposit_id: int) -> None:
    from deposits.tasks import deposit_seal

    deposit_seal.delay(deposit_id)


@transaction.atomic
def deposit_finalize(*, deposit: Deposit, user, conditions_accepted: bool = False) -> Deposit:
    """Record the deposit as received now, on time or late; an on-time one replaces the
    company's earlier on-time deposits, which are kept and marked superseded.

    ``conditions_accepted``: the depositor ticked the conditions of use just before
    « Valider »; their acceptance is recorded at the time of receipt."""
    company_user_require(user, deposit.company)
    # The consultation's row first: finalisations of one consultation follow one another,
    # and its state cannot change between the check and the write.
    consultation = Consultation.objects.select_for_update(no_key=True).get(pk=deposit.consultation_id)
    deposit = Deposit.objects.select_for_update(no_key=True).get(pk=deposit.pk)
    draft_require(deposit)
    if consultation.state not in FINALISING_STATES:
        raise DepositError(
            _("Cette consultation ne reçoit plus de plis : elle n'est plus en ligne."), reason="forbidden"
        )
    files = list(deposit_files(deposit))
    if not files:
        raise DepositError(_("Ajoutez au moins un fichier à votre pli avant de le valider."))
    unfinished = [f.name for f in files if not f.is_complete]
    if unfinished:
        raise DepositError(
            _(
                "L'envoi du fichier « %(name)s » n'est pas terminé : attendez la fin de l'envoi, "
                "ou retirez-le, avant de valider le pli."
            )
            % {"name": unfinished[0]},
            reason="conflict",
        )
    received_at = clock.now()
    on_time = consultation.deadline is None or received_at < consultation.deadline
    deposit.state = DepositState.FINALISED
    deposit.received_at = received_at
    deposit.status = DepositStatus.ON_TIME if on_time else DepositStatus.LATE
    deposit.finalised_by = user
    fields = ["state", "received_at", "status", "finalised_by"]
    if conditions_accepted:
        deposit.conditions_accepted_at = received_at
        fields.append("conditions_accepted_at")
    deposit.save(update_fields=fields)
    superseded = []
    if on_time:
        earlier = Deposit.objects.filter(
            consultation=consultation,
            company_id=deposit.company_id,
            state=DepositState.FINALISED,
            status=DepositStatus.ON_TIME,
        ).exclude(pk=deposit.pk)
        superseded = list(earlier.values_list("pk", flat=True))
        earlier.update(status=DepositStatus.SUPERSEDED, superseded_by=deposit)
    totals = deposit_files(deposit).aggregate(count=Count("pk"), size=Sum("size"))
    # No organisation on the event: the buyer is not to learn who deposited before the opening.
    event_record(
        action="deposit.finalised",
        actor=user,
        target=deposit,
        data={
            "consultation": consultation.pk,
            "company": deposit.company_id,
            "received_at": received_at.isoformat(),
            "status": deposit.status,
            "files": totals["count"],
            "size": totals["size"] or 0,
            "superseded": superseded,
            "practice": deposit.is_practice,
        },
    )
    # Sealed after the commit; robust: a broker down does not undo an accepted deposit (the sweep seals it).
    deposit_id = deposit.pk
    # A lambda, not functools.partial: Django names the callable when a robust one fails.
    transaction.on_commit(lambda: _seal_queue(deposit_id), robust=True)
    return deposit
