"""Shared helpers of the award tests: a consultation whose deposits are opened, and
finalised deposits with their envelopes.

    from tests.awards.conftest import deposit_received, consultation_opened_make

- ``consultation_opened`` (fixture): a consultation of the buyer's organisation, past its
  deadline (the clock is one day after it), in state « Plis ouverts », without lots;
  ``consultation_with_lots`` (fixture): the same with two lots (``consultation.lots``).
- ``deposit_received(consultation, company_user, *, lots=(), status=ON_TIME, ...)``: a
  finalised deposit with a candidature envelope and one offer envelope per lot (one offer
  envelope without lot when ``lots`` is empty); on-time envelopes are opened by default
  (an ``Opening`` of the candidatures, one of the offers), so the deposit is analysable.
"""

from datetime import timedelta

import pytest

from consultations.models import Consultation, EnvelopeKind, State
from deposits.models import (
    ConsortiumMember,
    ConsortiumRole,
    Deposit,
    DepositState,
    DepositStatus,
    Envelope,
    Opening,
    ResponseKind,
)
from tests.factories import LotFactory, consultation_online


def consultation_opened_make(buyer, clock=None, *, lots: int = 0, state: str = State.OPENED) -> Consultation:
    """A consultation of ``buyer``'s organisation whose deadline has passed, in ``state``;
    with ``lots`` lots numbered from 1. Moves ``clock`` (if given) one day past the deadline."""
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    for number in range(1, lots + 1):
        LotFactory(consultation=consultation, number=number, title=f"Lot n° {number}")
    Consultation.objects.filter(pk=consultation.pk).update(state=state)
    consultation.refresh_from_db()
    if clock is not None:
        clock.set(consultation.deadline + timedelta(days=1))
    return consultation


@pytest.fixture
def consultation_opened(buyer, clock):
    return consultation_opened_make(buyer, clock)


@pytest.fixture
def consultation_with_lots(buyer, clock):
    return consultation_opened_make(buyer, clock, lots=2)


def opening_of(consultation: Consultation, scope: str) -> Opening:
    """The consultation's opening session of ``scope`` (made once, by its creator, with its key)."""
    opening = Opening.objects.filter(consultation=consultation, scope=scope).first()
    if opening is None:
        opening = Opening.objects.create(
            consultation=consultation,
            scope=scope,
            opened_by=consultation.created_by,
            opened_at=consultation.deadline + timedelta(hours=2),
            key=consultation.opening_keys.first(),
        )
    return opening


def deposit_received(
    consultation: Consultation,
    company_user,
    *,
    lots=(),
    status: str = DepositStatus.ON_TIME,
    opened: bool = True,
    offers_opened: bool | None = None,
    variant_lots=(),
    members=(),
) -> Deposit:
    """A finalised deposit of ``company_user``'s company.

    ``lots``: the lots (objects) it answers, one offer envelope each; none: one offer envelope
    without lot. ``variant_lots``: lots (or ``[None]``) with a variant envelope too.
    ``opened``: the candidature envelope is opened (on-time deposits only);
    ``offers_opened`` (default: ``opened``): the offer and variant envelopes are opened.
    ``members``: a consortium, ``[(siret, name), …]`` after the company (the representative).
    """
    received_at = consultation.deadline + (
        timedelta(hours=1) if status == DepositStatus.LATE else -timedelta(hours=1)
    )
    deposit = Deposit.objects.create(
        consultation=consultation,
        company=company_user.company,
        created_by=company_user.user,
        created_at=received_at - timedelta(days=1),
        received_at=received_at,
        finalised_by=company_user.user,
        state=DepositState.FINALISED,
        status=status,
        response_kind=ResponseKind.CONSORTIUM if members else ResponseKind.SINGLE,
    )
    if members:
        company = company_user.company
        ConsortiumMember.objects.create(
            deposit=deposit, siret=company.siret, name=company.name, role=ConsortiumRole.REPRESENTATIVE
        )
        for position, (siret, name) in enumerate(members, start=1):
            ConsortiumMember.objects.create(
                deposit=deposit, siret=siret, name=name, role=ConsortiumRole.MEMBER, position=position
            )
    on_time = status == DepositStatus.ON_TIME
    if offers_opened is None:
        offers_opened = opened
    candidatures = opening_of(consultation, Opening.Scope.CANDIDATURES) if opened and on_time else None
    offers = opening_of(consultation, Opening.Scope.OFFERS) if offers_opened and on_time else None
    Envelope.objects.create(deposit=deposit, kind=EnvelopeKind.CANDIDATURE, opening=candidatures)
    for lot in lots or [None]:
        Envelope.objects.create(deposit=deposit, kind=EnvelopeKind.OFFER, lot=lot, opening=offers)
    for lot in variant_lots:
        Envelope.objects.create(deposit=deposit, kind=EnvelopeKind.VARIANT, lot=lot, opening=offers)
    return deposit
