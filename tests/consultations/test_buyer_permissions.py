"""Every buyer URL: an agent of another organisation gets 404 (the consultation's existence
is not told), a company user 403, an anonymous visitor the login page; inside the
organisation, the habilitations decide (403)."""

import pytest
from django.urls import reverse

from consultations.models import Access, Consultation, Lot, State
from tests.factories import AgentFactory, ConsultationFactory, LotFactory


@pytest.fixture
def consultation(buyer):
    consultation = ConsultationFactory(
        organisation=buyer.organisation, created_by=buyer.user, reference="2026-PERM", title="Titre d'origine"
    )
    LotFactory(consultation=consultation, number=1, title="Lot d'origine")
    return consultation


def _lot(consultation):
    return consultation.lots.get()


def _file(consultation):
    return consultation.dce_versions.get(number=1).files.get(name="CCTP.pdf")


# (name, args from the consultation, method, data)
CONSULTATION_URLS = [
    ("buyer_detail", lambda c: [c.pk], "get", None),
    ("buyer_validation", lambda c: [c.pk], "get", None),
    ("buyer_validation", lambda c: [c.pk], "post", {"action": "request"}),
    ("buyer_validation", lambda c: [c.pk], "post", {"action": "approve", "comment": ""}),
    ("buyer_validation", lambda c: [c.pk], "post", {"action": "reject", "comment": "Non"}),
    ("buyer_tab", lambda c: [c.pk, "identification"], "get", None),
    ("buyer_tab", lambda c: [c.pk, "identification"], "post", {"title": "Piraté", "reference": "X"}),
    ("buyer_tab", lambda c: [c.pk, "pieces"], "get", None),
    ("buyer_tab", lambda c: [c.pk, "pieces"], "post", {"access": Access.RESTRICTED, "generate_code": "1"}),
    ("buyer_tab", lambda c: [c.pk, "lots"], "get", None),
    ("buyer_tab", lambda c: [c.pk, "lots"], "post", {"number": "9", "title": "Lot pirate"}),
    ("buyer_tab", lambda c: [c.pk, "calendrier"], "get", None),
    ("buyer_tab", lambda c: [c.pk, "modalites"], "get", None),
    ("buyer_lot_edit", lambda c: [c.pk, _lot(c).pk], "get", None),
    ("buyer_lot_edit", lambda c: [c.pk, _lot(c).pk], "post", {"number": "1", "title": "Piraté"}),
    ("buyer_lot_delete", lambda c: [c.pk, _lot(c).pk], "post", {}),
    ("buyer_dce_file_remove", lambda c: [c.pk, _file(c).pk], "post", {}),
    ("buyer_dce_file", lambda c: [c.pk, _file(c).pk], "get", None),
]
SPACE_URLS = [("buyer_dashboard", "get"), ("buyer_create", "get"), ("buyer_create", "post")]
IDS = [f"{method}-{name}-{index}" for index, (name, _args, method, _data) in enumerate(CONSULTATION_URLS)]


def _call(client, name, args, method, data):
    url = reverse(f"consultations:{name}", args=args)
    return getattr(client, method)(url, data or {})


def _unchanged(consultation):
    consultation.refresh_from_db()
    assert consultation.state == State.DRAFT
    assert consultation.title == "Titre d'origine"
    assert consultation.access == Access.PUBLIC
    assert list(Lot.objects.filter(consultation=consultation).values_list("title", flat=True)) == [
        "Lot d'origine"
    ]
    assert consultation.dce_versions.get(number=1).files.count() == 2


@pytest.mark.parametrize(("name", "args", "method", "data"), CONSULTATION_URLS, ids=IDS)
def test_an_agent_of_another_organisation_gets_404(
    client, consultation, other_organisation, name, args, method, data
):
    stranger = AgentFactory(
        organisation=other_organisation,
        can_create=True,
        can_validate=True,
        can_decide=True,
        can_administer=True,
    )
    client.force_login(stranger.user)

    response = _call(client, name, args(consultation), method, data)

    assert response.status_code == 404
    _unchanged(consultation)


@pytest.mark.parametrize(("name", "args", "method", "data"), CONSULTATION_URLS, ids=IDS)
def test_a_company_user_gets_403(client, consultation, company_user, name, args, method, data):
    client.force_login(company_user.user)

    response = _call(client, name, args(consultation), method, data)

    assert response.status_code == 403
    _unchanged(consultation)


@pytest.mark.parametrize(("name", "args", "method", "data"), CONSULTATION_URLS, ids=IDS)
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, consultation, name, args, method, data):
    response = _call(client, name, args(consultation), method, data)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    _unchanged(consultation)


@pytest.mark.parametrize(("name", "method"), SPACE_URLS)
def test_the_buyer_space_pages_refuse_companies_and_anonymous(client, company_user, name, method):
    url = reverse(f"consultations:{name}")

    anonymous = getattr(client, method)(url)
    client.force_login(company_user.user)
    company = getattr(client, method)(url)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("accounts:login"))
    assert company.status_code == 403
    assert not Consultation.objects.exists()


EDITING_URLS = [
    (name, args, method, data)
    for name, args, method, data in CONSULTATION_URLS
    if name in {"buyer_tab", "buyer_lot_edit", "buyer_lot_delete", "buyer_dce_file_remove"}
]


@pytest.mark.parametrize(("name", "args", "method", "data"), EDITING_URLS)
def test_an_agent_without_the_create_habilitation_cannot_edit(
    client, consultation, validator, name, args, method, data
):
    client.force_login(validator.user)

    response = _call(client, name, args(consultation), method, data)

    assert response.status_code == 403
    _unchanged(consultation)


def test_an_agent_without_the_create_habilitation_cannot_create(client, validator):
    client.force_login(validator.user)

    assert client.get(reverse("consultations:buyer_create")).status_code == 403
    assert client.post(reverse("consultations:buyer_create"), {"reference": "X"}).status_code == 403


def test_every_agent_of_the_organisation_may_read(client, consultation, organisation, clock):
    reader = AgentFactory(organisation=organisation)
    client.force_login(reader.user)

    for name, args in [
        ("buyer_dashboard", []),
        ("buyer_detail", [consultation.pk]),
        ("buyer_validation", [consultation.pk]),
    ]:
        assert client.get(reverse(f"consultations:{name}", args=args)).status_code == 200, name
