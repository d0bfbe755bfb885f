"""What a company says about its response: alone or as a consortium (members by SIRET,
exactly one mandataire), standard or DUME candidature, the lots answered and the variants
offered (which decide the envelopes), then « Valider » with the conditions of use."""

import html

import pytest
from django.urls import reverse

from audit.models import Event
from consultations.models import EnvelopeKind
from deposits.models import CandidatureForm, ConsortiumRole, DepositStatus, ResponseKind
from deposits.services.deposits import deposit_start
from deposits.services.errors import DepositError
from deposits.services.responses import Member, deposit_response_save, deposit_validate
from tests.deposits.test_tus import pdf_bytes, upload
from tests.factories import LotFactory, consultation_online, siret_from

MANDATAIRE = siret_from(51000001)
COTRAITANT = siret_from(51000002)


def text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def envelopes_of(deposit) -> list[tuple[str, int | None]]:
    return sorted(
        (e.kind, e.lot.number if e.lot_id else None) for e in deposit.envelopes.select_related("lot")
    )


def consortium(deposit, user, members, **extra):
    return deposit_response_save(
        deposit=deposit,
        user=user,
        response_kind=ResponseKind.CONSORTIUM,
        consortium_kind=extra.pop("consortium_kind", "several"),
        members=members,
        **extra,
    )


@pytest.fixture
def with_lots(buyer, clock):
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    LotFactory(consultation=consultation, number=1, title="Maçonnerie")
    LotFactory(consultation=consultation, number=2, title="Charpente")
    return consultation


# --- Consortium ------------------------------------------------------------------------------


def test_a_consortium_is_recorded_with_its_mandataire_and_cotraitants(deposit, company_user):
    # WHEN the company answers as a joint-and-several consortium it represents
    saved = consortium(
        deposit,
        company_user.user,
        [
            Member(siret=MANDATAIRE, name="Bâtiment Ouest", is_representative=True),
            Member(siret=COTRAITANT, name="Charpentes du Léon"),
        ],
    )
    # THEN the members are kept in order, with their roles
    assert saved.response_kind == ResponseKind.CONSORTIUM and saved.consortium_kind == "several"
    members = [(m.siret, m.name, m.role) for m in saved.consortium_members.all()]
    assert members == [
        (MANDATAIRE, "Bâtiment Ouest", ConsortiumRole.REPRESENTATIVE),
        (COTRAITANT, "Charpentes du Léon", ConsortiumRole.MEMBER),
    ]
    event = Event.objects.get(action="deposit.response_saved")
    assert event.data["representative"] == MANDATAIRE and event.data["members"] == [MANDATAIRE, COTRAITANT]


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (
            [Member(MANDATAIRE, "A", True), Member("12345678901234", "B")],
            "Membre n° 2 (SIRET 12345678901234) : Ce numéro SIRET n'existe pas",
        ),
        ([Member(MANDATAIRE, "A", True), Member("1234", "B")], "Le numéro SIRET comporte 14 chiffres"),
        ([Member(MANDATAIRE, "A"), Member(COTRAITANT, "B")], "Désignez le mandataire du groupement"),
        (
            [Member(MANDATAIRE, "A", True), Member(COTRAITANT, "B", True)],
            "Un groupement n'a qu'un mandataire : 2 membres",
        ),
        ([Member(MANDATAIRE, "A", True)], "Un groupement réunit au moins deux entreprises"),
        ([Member(MANDATAIRE, "A", True), Member(MANDATAIRE, "B")], "figure deux fois dans le groupement"),
        ([Member(MANDATAIRE, "A", True), Member(COTRAITANT, "")], "Membre n° 2 : indiquez sa raison sociale"),
    ],
)
def test_a_consortium_with_a_mistake_is_refused_with_a_precise_message(
    deposit, company_user, members, message
):
    with pytest.raises(DepositError) as refused:
        consortium(deposit, company_user.user, members)
    assert message in refused.value.message
    deposit.refresh_from_db()
    assert deposit.response_kind == ResponseKind.SINGLE and not deposit.consortium_members.exists()


def test_a_consortium_needs_its_form(deposit, company_user):
    with pytest.raises(DepositError, match="conjoint ou solidaire"):
        consortium(
            deposit,
            company_user.user,
            [Member(MANDATAIRE, "A", True), Member(COTRAITANT, "B")],
            consortium_kind="",
        )


def test_answering_alone_again_forgets_the_consortium(deposit, company_user):
    consortium(deposit, company_user.user, [Member(MANDATAIRE, "A", True), Member(COTRAITANT, "B")])
    saved = deposit_response_save(deposit=deposit, user=company_user.user, response_kind=ResponseKind.SINGLE)
    assert saved.consortium_kind == "" and not saved.consortium_members.exists()


def test_the_consortium_form_on_the_page_starts_with_the_company_as_mandataire_and_saves(
    client, company_user, consultation, deposit
):
    client.force_login(company_user.user)
    page = text(client.get(reverse("deposits:company_deposit", args=[consultation.pk])))
    assert f'value="{company_user.company.siret}"' in page
    data = {
        "response_kind": "consortium",
        "consortium_kind": "joint",
        "candidature_form": "standard",
        "membres-TOTAL_FORMS": "3",
        "membres-INITIAL_FORMS": "1",
        "membres-MIN_NUM_FORMS": "0",
        "membres-MAX_NUM_FORMS": "30",
        "membres-0-siret": MANDATAIRE,
        "membres-0-name": "Bâtiment Ouest",
        "membres-0-is_representative": "on",
        "membres-1-siret": "12345678901234",
        "membres-1-name": "Charpentes du Léon",
        "membres-2-siret": "",
        "membres-2-name": "",
    }
    url = reverse("deposits:company_response", args=[deposit.pk])
    # A wrong SIRET: the page says which member, nothing is saved
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "Membre n° 2 (SIRET 12345678901234)" in text(refused)
    assert not deposit.consortium_members.exists()
    # Corrected: saved
    data["membres-1-siret"] = COTRAITANT
    response = client.post(url, data, follow=True)
    assert "Votre réponse est enregistrée" in text(response)
    assert deposit.consortium_members.count() == 2


# --- Lots, variants and envelopes --------------------------------------------------------


def test_the_envelopes_follow_the_lots_answered(with_lots, company_user):
    deposit = deposit_start(consultation=with_lots, user=company_user.user)
    lot1, lot2 = with_lots.lots.order_by("number")
    deposit_response_save(
        deposit=deposit, user=company_user.user, response_kind=ResponseKind.SINGLE, lot_ids=[lot2.pk]
    )
    assert envelopes_of(deposit) == [("candidature", None), ("offer", 2)]
    with pytest.raises(DepositError, match="au moins un lot"):
        deposit_response_save(
            deposit=deposit, user=company_user.user, response_kind=ResponseKind.SINGLE, lot_ids=[]
        )


def test_variants_are_refused_when_the_consultation_does_not_allow_them(with_lots, company_user):
    deposit = deposit_start(consultation=with_lots, user=company_user.user)
    lot1 = with_lots.lots.get(number=1)
    with pytest.raises(DepositError, match="n'autorise pas les variantes"):
        deposit_response_save(
            deposit=deposit,
            user=company_user.user,
            response_kind=ResponseKind.SINGLE,
            lot_ids=[lot1.pk],
            variant_lot_ids=[lot1.pk],
        )
    assert not deposit.envelopes.filter(kind=EnvelopeKind.VARIANT).exists()


def test_a_variant_envelope_per_lot_when_variants_are_allowed(with_lots, company_user, client):
    with_lots.variants_allowed = True
    with_lots.save()
    deposit = deposit_start(consultation=with_lots, user=company_user.user)
    lot1, lot2 = with_lots.lots.order_by("number")
    deposit_response_save(
        deposit=deposit,
        user=company_user.user,
        response_kind=ResponseKind.SINGLE,
        lot_ids=[lot1.pk, lot2.pk],
        variant_lot_ids=[lot2.pk],
    )
    assert envelopes_of(deposit) == [("candidature", None), ("offer", 1), ("offer", 2), ("variant", 2)]
    # The page offers the variant choice, and shows the variant envelope
    client.force_login(company_user.user)
    page = text(client.get(reverse("deposits:company_deposit", args=[with_lots.pk])))
    assert "Lots pour lesquels vous proposez aussi une variante" in page
    assert "Enveloppe de variante — lot 2 : Charpente" in page


def test_without_lots_the_variant_is_a_single_envelope_and_the_page_hides_it_when_not_allowed(
    consultation, deposit, company_user, client
):
    client.force_login(company_user.user)
    assert "Je propose aussi une variante" not in text(
        client.get(reverse("deposits:company_deposit", args=[consultation.pk]))
    )
    consultation.variants_allowed = True
    consultation.save()
    deposit_response_save(
        deposit=deposit, user=company_user.user, response_kind=ResponseKind.SINGLE, variant=True
    )
    assert envelopes_of(deposit) == [("candidature", None), ("offer", None), ("variant", None)]


def test_a_lot_whose_envelope_holds_files_is_not_dropped_silently(with_lots, company_user):
    deposit = deposit_start(consultation=with_lots, user=company_user.user)
    lot1, lot2 = with_lots.lots.order_by("number")
    upload(
        deposit,
        company_user.user,
        "offre-lot2.pdf",
        pdf_bytes(2000),
        envelope=deposit.envelopes.get(lot=lot2),
    )
    with pytest.raises(DepositError, match="L'enveloppe d'offre du lot 2 contient des fichiers"):
        deposit_response_save(
            deposit=deposit, user=company_user.user, response_kind=ResponseKind.SINGLE, lot_ids=[lot1.pk]
        )
    assert envelopes_of(deposit) == [("candidature", None), ("offer", 1), ("offer", 2)]


# --- « Valider » ---------------------------------------------------------------------------


def test_validating_needs_the_conditions_of_use(deposit, company_user):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(2000))
    with pytest.raises(DepositError, match="conditions d'utilisation"):
        deposit_validate(deposit=deposit, user=company_user.user, conditions_accepted=False)
    deposit.refresh_from_db()
    assert deposit.is_draft


def test_an_empty_offer_of_a_chosen_lot_stops_the_validation(with_lots, company_user, clock):
    deposit = deposit_start(consultation=with_lots, user=company_user.user)
    lot1 = with_lots.lots.get(number=1)
    upload(
        deposit,
        company_user.user,
        "offre-lot1.pdf",
        pdf_bytes(2000),
        envelope=deposit.envelopes.get(lot=lot1),
    )
    with pytest.raises(DepositError, match="L'enveloppe d'offre du lot 2 est vide"):
        deposit_validate(deposit=deposit, user=company_user.user, conditions_accepted=True)
    # Answering lot 1 only, it goes through
    deposit_response_save(
        deposit=deposit, user=company_user.user, response_kind=ResponseKind.SINGLE, lot_ids=[lot1.pk]
    )
    validated = deposit_validate(deposit=deposit, user=company_user.user, conditions_accepted=True)
    assert validated.status == DepositStatus.ON_TIME and validated.conditions_accepted_at == clock()


def test_a_dume_candidature_needs_the_dume_file(deposit, company_user):
    deposit_response_save(
        deposit=deposit,
        user=company_user.user,
        response_kind=ResponseKind.SINGLE,
        candidature_form=CandidatureForm.DUME,
    )
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(2000))
    with pytest.raises(DepositError, match="déposez le fichier du DUME"):
        deposit_validate(deposit=deposit, user=company_user.user, conditions_accepted=True)
    from deposits.services.uploads import deposit_file_create, deposit_file_receive

    content = pdf_bytes(1500)
    created = deposit_file_create(
        deposit=deposit,
        envelope=deposit.envelopes.get(kind=EnvelopeKind.CANDIDATURE),
        user=company_user.user,
        name="dume.pdf",
        size=len(content),
        document_label="DUME",
    )
    import io

    deposit_file_receive(
        deposit_file=created,
        user=company_user.user,
        offset=0,
        read=io.BytesIO(content).read,
        content_length=len(content),
    )
    assert deposit_validate(deposit=deposit, user=company_user.user, conditions_accepted=True).received_at


def test_another_company_cannot_describe_or_validate_the_response(deposit, other_company_user):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        deposit_response_save(
            deposit=deposit, user=other_company_user.user, response_kind=ResponseKind.SINGLE
        )
    with pytest.raises(PermissionDenied):
        deposit_validate(deposit=deposit, user=other_company_user.user, conditions_accepted=True)
