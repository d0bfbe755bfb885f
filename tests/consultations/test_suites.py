"""Suites (seed 000): relaunch of an unsuccessful consultation, of some of its lots, or a
negotiation phase; the draft pre-filled from the initial; the invitation à concourir."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from audit.models import Event
from awards.models import Decision, Outcome
from consultations.errors import ConsultationError
from consultations.models import (
    Access,
    Consultation,
    ContractType,
    ElectronicResponse,
    EnvelopeKind,
    OpeningMode,
    ProcedureType,
    RequestedDocument,
    SignatureRule,
    State,
    SuiteKind,
)
from consultations.services.lifecycle import consultation_update
from consultations.services.suites import suite_chain, suite_create, suite_invite
from deposits.models import Deposit, DepositState, DepositStatus, Envelope
from deposits.services.deposits import deposit_start
from deposits.services.errors import DepositError
from messaging.models import Kind, Message
from tests.factories import AgentFactory, LotFactory, consultation_online, opening_key_make

# --- Helpers shared by the suites' test modules ---------------------------------------------


def deposit_received(consultation, company_user, *, status=DepositStatus.ON_TIME, lot=None):
    """A finalised deposit (on time unless told), with an offer envelope and no files."""
    deposit = Deposit.objects.create(
        consultation=consultation,
        company=company_user.company,
        created_by=company_user.user,
        created_at=consultation.deadline - timedelta(days=1),
        received_at=consultation.deadline - timedelta(hours=1),
        state=DepositState.FINALISED,
        status=status,
    )
    Envelope.objects.create(deposit=deposit, kind=EnvelopeKind.OFFER, lot=lot)
    return deposit


def decide(consultation, lot, outcome, user, clock, *, deposit=None):
    """The decision on a lot (or on the consultation without lots), written directly."""
    if outcome == Outcome.AWARDED:
        return Decision.objects.create(
            consultation=consultation,
            lot=lot,
            outcome=outcome,
            deposit=deposit,
            amount=D("100000"),
            duration_months=12,
            decided_at=clock(),
            decided_by=user,
        )
    return Decision.objects.create(
        consultation=consultation,
        lot=lot,
        outcome=outcome,
        reason="Aucune offre acceptable.",
        decided_at=clock(),
        decided_by=user,
    )


def decided_consultation(buyer, clock, outcomes, *, winner=None, **fields):
    """A consultation past its decision phase: one lot per outcome (none: without lots,
    decided « infructueux »), state DECIDED."""
    consultation = consultation_online(
        organisation=buyer.organisation, created_by=buyer.user, reference="2026-INIT", **fields
    )
    lots = [
        LotFactory(consultation=consultation, number=number, title=f"Lot {number} — partie {number}")
        for number in range(1, len(outcomes) + 1)
    ]
    winner_deposit = deposit_received(consultation, winner) if winner else None
    for lot, outcome in zip(lots, outcomes, strict=True):
        decide(consultation, lot, outcome, buyer.user, clock, deposit=winner_deposit)
    if not outcomes:
        decide(consultation, None, Outcome.UNSUCCESSFUL, buyer.user, clock)
    consultation.state = State.DECIDED
    consultation.save()
    # The decision comes after the deadline: who deposited is now known to the buyer.
    clock.set(consultation.deadline + timedelta(days=10))
    return consultation


def go_online(suite, clock):
    """The suite validated and online, without the workflow: a deadline, an opening key."""
    suite.deadline = clock() + timedelta(days=20)
    suite.state = State.ONLINE
    suite.published_at = clock()
    suite.save()
    suite.dce_versions.update(published_at=clock())
    opening_key_make(suite)
    return suite


# --- Creation ----------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db


def test_unsuccessful_consultation_relaunches_every_lot_as_it_was(buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL, Outcome.UNSUCCESSFUL])
    initial.lots.filter(number=2).update(description="Charpente", estimated_value=D("42000.50"))

    suite = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)

    lots = list(suite.lots.order_by("number"))
    assert [(lot.number, lot.title) for lot in lots] == [(1, "Lot 1 — partie 1"), (2, "Lot 2 — partie 2")]
    assert [lot.origin for lot in lots] == list(initial.lots.order_by("number"))
    assert (lots[1].description, lots[1].estimated_value) == ("Charpente", D("42000.50"))
    assert suite.parent == initial and suite.suite_kind == SuiteKind.UNSUCCESSFUL


def test_suite_is_a_draft_prefilled_from_the_initial(buyer, clock):
    initial = decided_consultation(
        buyer,
        clock,
        [Outcome.UNSUCCESSFUL],
        contract_type=ContractType.FRAMEWORK,
        procedure_type=ProcedureType.OPEN_TENDER,
        place_of_execution="Strasbourg (67)",
        variants_allowed=True,
        cpv_additional=["45262000-1"],
        electronic_response=ElectronicResponse.ALLOWED,
        signature_rule=SignatureRule.REQUIRED,
        opening_mode=OpeningMode.BY_RESPONSE,
        accepted_extensions=["pdf", "xlsx"],
    )
    RequestedDocument.objects.create(
        consultation=initial, envelope=EnvelopeKind.CANDIDATURE, label="DC1", position=1
    )
    initial_files = {f.name: f.blob.name for f in initial.dce_versions.get(number=1).files.all()}

    suite = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)

    suite.refresh_from_db()
    assert suite.state == State.DRAFT
    assert suite.reference == "2026-INIT-S1"
    for name in ("contract_type", "procedure_type", "category", "title", "object", "estimated_value",
                 "cpv_code", "cpv_additional", "place_of_execution", "variants_allowed",
                 "electronic_response", "signature_rule", "opening_mode", "encrypted",
                 "accepted_extensions", "offer_validity_days"):  # fmt: skip
        assert getattr(suite, name) == getattr(initial, name), name
    # The calendar is to be set; the access stays public for a relaunch of a public consultation.
    assert suite.deadline is None and suite.published_at is None and suite.publication_date is None
    assert suite.access == Access.PUBLIC
    assert sorted(suite.requested_documents.values_list("envelope", "label")) == sorted(
        initial.requested_documents.values_list("envelope", "label")
    )
    # The DCE: the last published files, in version 1 of the suite, not yet published.
    version = suite.dce_versions.get()
    assert (version.number, version.published_at) == (1, None)
    assert {f.name: f.blob.name for f in version.files.all()} == initial_files
    assert version.files.get(name="RC.pdf").is_rules
    # The types lock when the agent saves the identification tab, as for a new consultation.
    assert not suite.identification_locked
    consultation_update(consultation=suite, user=buyer.user, contract_type=ContractType.CONTRACT,
                        procedure_type=ProcedureType.NEGOTIATED)  # fmt: skip
    suite.refresh_from_db()
    assert suite.identification_locked
    with pytest.raises(ConsultationError, match="ne peuvent plus être modifiés"):
        consultation_update(consultation=suite, user=buyer.user, procedure_type=ProcedureType.OPEN_TENDER)


def test_suite_creation_is_audited_on_both_consultations(buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])

    suite = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)

    on_suite = Event.objects.get(action="suite.created", target_id=str(suite.pk))
    assert on_suite.data["parent"] == initial.pk and on_suite.data["lots"] == [1]
    on_initial = Event.objects.get(action="consultation.suite_created", target_id=str(initial.pk))
    assert on_initial.data["suite_reference"] == "2026-INIT-S1"


def test_partially_unsuccessful_with_all_lots_relaunches_only_the_unsuccessful_ones(
    buyer, clock, company_user
):
    initial = decided_consultation(
        buyer, clock, [Outcome.AWARDED, Outcome.UNSUCCESSFUL, Outcome.UNSUCCESSFUL], winner=company_user
    )

    suite = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.PARTIALLY_UNSUCCESSFUL)

    assert list(suite.lots.values_list("number", "origin__number")) == [(2, 2), (3, 3)]


def test_partially_unsuccessful_with_a_selection_relaunches_the_chosen_lots(buyer, clock, company_user):
    initial = decided_consultation(
        buyer, clock, [Outcome.AWARDED, Outcome.UNSUCCESSFUL, Outcome.UNSUCCESSFUL], winner=company_user
    )
    lot_3 = initial.lots.get(number=3)

    suite = suite_create(
        user=buyer.user, consultation=initial, kind=SuiteKind.PARTIALLY_UNSUCCESSFUL, lots=[lot_3]
    )

    assert [lot.origin for lot in suite.lots.all()] == [lot_3]


def test_a_selection_without_any_lot_is_refused(buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL, Outcome.UNSUCCESSFUL])

    with pytest.raises(ConsultationError, match="Sélectionnez au moins un lot à relancer."):
        suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.PARTIALLY_UNSUCCESSFUL, lots=[])
    assert not initial.suites.exists()


def test_an_awarded_lot_cannot_be_relaunched(buyer, clock, company_user):
    initial = decided_consultation(buyer, clock, [Outcome.AWARDED, Outcome.UNSUCCESSFUL], winner=company_user)

    with pytest.raises(ConsultationError, match="Le lot 1 « Lot 1 — partie 1 » a été attribué"):
        suite_create(
            user=buyer.user,
            consultation=initial,
            kind=SuiteKind.PARTIALLY_UNSUCCESSFUL,
            lots=list(initial.lots.all()),
        )
    with pytest.raises(ConsultationError, match="n'est pas entièrement infructueuse"):
        suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)
    assert not Consultation.objects.filter(parent=initial).exists()


@pytest.mark.parametrize("state", [State.ONLINE, State.CLOSED, State.OPENED, State.EVALUATION])
def test_a_suite_is_refused_before_the_decision_phase_is_complete(buyer, clock, state):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    initial.state = state
    initial.save()

    with pytest.raises(ConsultationError, match="Créez une suite une fois la phase de décision terminée"):
        suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)


def test_a_consultation_without_lots_is_relaunched_whole(buyer, clock):
    initial = decided_consultation(buyer, clock, [])

    suite = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)

    assert suite.parent == initial and not suite.lots.exists()
    with pytest.raises(ConsultationError, match="sans lots ne peut pas être partiellement infructueuse"):
        suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.PARTIALLY_UNSUCCESSFUL)


def test_an_agent_without_the_create_permission_cannot_create_a_suite(buyer, clock, organisation):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    decider = AgentFactory(organisation=organisation, can_decide=True)

    with pytest.raises(PermissionDenied):
        suite_create(user=decider.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)


def test_successive_suites_and_a_suite_of_a_suite_form_a_chain(buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    first = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)
    Decision.objects.create(
        consultation=first, lot=first.lots.get(), outcome=Outcome.UNSUCCESSFUL, reason="Toujours rien.",
        decided_at=clock(), decided_by=buyer.user,
    )  # fmt: skip
    first.state = State.DECIDED
    first.save()

    second = suite_create(user=buyer.user, consultation=first, kind=SuiteKind.UNSUCCESSFUL)

    assert second.reference == "2026-INIT-S2"
    assert second.lots.get().origin == first.lots.get()
    root, rows = suite_chain(second)
    assert root == initial
    assert [(c.reference, depth) for c, depth in rows] == [
        ("2026-INIT", 0),
        ("2026-INIT-S1", 1),
        ("2026-INIT-S2", 2),
    ]


# --- Negotiation -------------------------------------------------------------------------------


def test_a_negotiation_is_restricted_to_the_invited_candidates_with_a_new_code(
    buyer, clock, company_user, other_company_user
):
    initial = decided_consultation(
        buyer, clock, [Outcome.UNSUCCESSFUL], procedure_type=ProcedureType.NEGOTIATED
    )
    deposit_received(initial, company_user)
    deposit_received(initial, other_company_user)

    suite = suite_create(
        user=buyer.user, consultation=initial, kind=SuiteKind.NEGOTIATION, companies=[company_user.company]
    )

    assert list(suite.invited_companies.all()) == [company_user.company]
    assert suite.access == Access.RESTRICTED and len(suite.access_code) == 8
    assert suite.procedure_type == ProcedureType.NEGOTIATED


def test_a_negotiation_invites_only_companies_that_deposited_on_time(
    buyer, clock, company_user, other_company_user
):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    deposit_received(initial, company_user)
    deposit_received(initial, other_company_user, status=DepositStatus.LATE)

    with pytest.raises(ConsultationError, match="déposé un pli dans les délais"):
        suite_create(
            user=buyer.user,
            consultation=initial,
            kind=SuiteKind.NEGOTIATION,
            companies=[other_company_user.company],
        )
    with pytest.raises(ConsultationError, match="au moins un candidat"):
        suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.NEGOTIATION, companies=[])


def test_a_company_that_was_not_invited_cannot_deposit_to_the_negotiation(
    buyer, clock, company_user, other_company_user
):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    deposit_received(initial, company_user)
    deposit_received(initial, other_company_user)
    suite = suite_create(
        user=buyer.user, consultation=initial, kind=SuiteKind.NEGOTIATION, companies=[company_user.company]
    )
    go_online(suite, clock)

    with pytest.raises(DepositError, match="réservée aux candidats invités"):
        deposit_start(consultation=suite, user=other_company_user.user)
    deposit = deposit_start(consultation=suite, user=company_user.user)

    assert list(Deposit.objects.filter(consultation=suite)) == [deposit]


# --- Invitation à concourir --------------------------------------------------------------------


def test_the_invitation_reaches_the_selected_candidates_with_the_code_and_the_link(
    buyer, clock, company_user, other_company_user, client, django_capture_on_commit_callbacks, mailoutbox
):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    deposit_received(initial, company_user)
    deposit_received(initial, other_company_user)
    suite = suite_create(
        user=buyer.user, consultation=initial, kind=SuiteKind.NEGOTIATION, companies=[company_user.company]
    )
    go_online(suite, clock)

    with django_capture_on_commit_callbacks(execute=True):
        suite_invite(
            user=buyer.user, suite=suite, companies=[company_user.company], body="Madame, Monsieur, ..."
        )

    message = Message.objects.get(thread__consultation=suite)
    assert message.kind == Kind.INVITATION and message.thread.company == company_user.company
    assert suite.access_code in message.body
    page = reverse("consultations:detail", args=[suite.pk])
    assert page in message.body
    assert [m.to for m in mailoutbox] == [[company_user.user.email]]
    # The candidate gives the code on the suite's page and reaches its documents.
    client.force_login(company_user.user)
    response = client.post(reverse("consultations:access", args=[suite.pk]), {"code": suite.access_code})
    assert response.status_code == 302
    assert suite.pk in client.session["consultation_access"]


def test_the_invitation_waits_for_the_suite_to_be_online_and_for_invited_candidates(
    buyer, clock, company_user, other_company_user
):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    deposit_received(initial, company_user)
    deposit_received(initial, other_company_user)
    suite = suite_create(
        user=buyer.user, consultation=initial, kind=SuiteKind.NEGOTIATION, companies=[company_user.company]
    )

    with pytest.raises(ConsultationError, match="une fois la suite en ligne"):
        suite_invite(user=buyer.user, suite=suite, companies=[company_user.company], body="Bonjour")
    go_online(suite, clock)
    with pytest.raises(ConsultationError, match="Seuls les candidats retenus"):
        suite_invite(user=buyer.user, suite=suite, companies=[other_company_user.company], body="Bonjour")
    assert not Message.objects.filter(thread__consultation=suite).exists()


def test_a_relaunch_invites_the_depositors_of_the_initial_consultation(buyer, clock, company_user):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL], access=Access.RESTRICTED,
                                   access_code="zLQJZV3H")  # fmt: skip
    deposit_received(initial, company_user)
    suite = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)
    go_online(suite, clock)

    suite_invite(user=buyer.user, suite=suite, companies=[company_user.company], body="Bonjour")

    message = Message.objects.get(thread__consultation=suite)
    # A restricted initial gives a restricted suite with a code of its own.
    assert suite.access_code != "zLQJZV3H" and suite.access_code in message.body


def test_the_suites_contacts_are_its_invited_candidates_or_the_initials_depositors(
    buyer, clock, company_user, other_company_user
):
    from messaging.services.sending import contact_companies

    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL])
    deposit_received(initial, company_user)
    deposit_received(initial, other_company_user)

    negotiation = suite_create(
        user=buyer.user, consultation=initial, kind=SuiteKind.NEGOTIATION, companies=[company_user.company]
    )
    relaunch = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)

    assert list(contact_companies(negotiation)) == [company_user.company]
    assert set(contact_companies(relaunch)) == {company_user.company, other_company_user.company}


def test_a_double_click_on_create_a_suite_makes_one_draft(buyer, clock):
    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL, Outcome.UNSUCCESSFUL])

    first = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)
    second = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)

    assert second.pk == first.pk
    assert list(initial.suites.values_list("reference", flat=True)) == [first.reference]


def test_a_suite_asked_again_later_is_a_new_draft(buyer, clock):
    from django.utils import timezone

    initial = decided_consultation(buyer, clock, [Outcome.UNSUCCESSFUL, Outcome.UNSUCCESSFUL])
    first = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)
    # created_at is the database's own record of creation: the first draft is a minute old
    Consultation.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=1))

    second = suite_create(user=buyer.user, consultation=initial, kind=SuiteKind.UNSUCCESSFUL)

    assert second.pk != first.pk and second.reference.endswith("-S2")
