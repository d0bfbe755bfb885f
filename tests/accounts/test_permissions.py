import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_require
from accounts.services import agent_create, agent_update
from tests.factories import AgentFactory, ServiceFactory


@pytest.mark.django_db
def test_an_agent_of_organisation_a_cannot_act_on_organisation_b(buyer, other_organisation):
    other_agent = AgentFactory(organisation=other_organisation)
    for permission in AgentPermission:
        assert not agent_can(buyer.user, permission, other_organisation)
        assert not agent_can(buyer.user, permission, other_agent)
    with pytest.raises(PermissionDenied):
        agent_require(buyer.user, AgentPermission.ADMINISTER, other_organisation)
    with pytest.raises(PermissionDenied):
        agent_create(
            by=buyer.user,
            organisation=other_organisation,
            email="x@exemple.fr",
            first_name="X",
            last_name="Y",
            permissions=[],
            base_url="http://testserver",
        )


@pytest.mark.django_db
def test_an_agent_acts_only_with_the_permissions_it_holds(buyer, validator, organisation):
    assert agent_can(buyer.user, AgentPermission.CREATE, organisation)
    assert not agent_can(buyer.user, AgentPermission.VALIDATE, organisation)
    assert agent_can(validator.user, AgentPermission.VALIDATE, organisation)
    assert not agent_can(validator.user, AgentPermission.ADMINISTER, organisation)


@pytest.mark.django_db
def test_a_deactivated_agent_can_do_nothing(buyer, organisation):
    buyer.user.is_active = False
    buyer.user.save()
    assert not agent_can(buyer.user, AgentPermission.CREATE, organisation)


@pytest.mark.django_db
def test_an_administrator_cannot_edit_an_agent_of_another_organisation(client, buyer, other_organisation):
    other_agent = AgentFactory(organisation=other_organisation, can_create=True)
    client.force_login(buyer.user)
    response = client.post(reverse("accounts:agent_edit", args=[other_agent.pk]), {"permissions": ["open"]})
    assert response.status_code == 404
    other_agent.refresh_from_db()
    assert not other_agent.can_open


@pytest.mark.django_db
def test_an_agent_without_the_administer_permission_cannot_add_agents(client, validator):
    client.force_login(validator.user)
    assert client.get(reverse("accounts:agent_add")).status_code == 403


@pytest.mark.django_db
def test_a_company_user_cannot_reach_the_buyer_space(client, company_user):
    client.force_login(company_user.user)
    assert client.get(reverse("accounts:buyer_space")).status_code == 403
    assert client.get(reverse("accounts:agent_add")).status_code == 403


@pytest.mark.django_db
def test_an_agent_cannot_reach_the_company_space(client, buyer):
    client.force_login(buyer.user)
    assert client.get(reverse("accounts:company_space")).status_code == 403


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("accounts:buyer_space"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.django_db
def test_an_administrator_creates_an_agent_who_receives_a_link_to_choose_a_password(
    client, buyer, organisation, django_capture_on_commit_callbacks
):
    from django.core import mail

    service = ServiceFactory(organisation=organisation)
    client.force_login(buyer.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:agent_add"),
            {
                "first_name": "Lucie",
                "last_name": "Roux",
                "email": "lucie.roux@testville.fr",
                "service": service.pk,
                "permissions": ["validate", "open"],
            },
        )
    assert response.status_code == 302
    agent = organisation.agents.get(user__email="lucie.roux@testville.fr")
    assert agent.can_validate and agent.can_open and not agent.can_create
    assert not agent.user.has_usable_password()
    assert mail.outbox[0].to == ["lucie.roux@testville.fr"]
    assert "Choisissez votre mot de passe" in mail.outbox[0].body


@pytest.mark.django_db
def test_an_administrator_cannot_remove_its_own_administration_right(buyer):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        agent_update(
            by=buyer.user,
            agent=buyer,
            permissions=["create"],
            service=None,
            job_title="",
            is_active=True,
        )


@pytest.mark.django_db
def test_a_service_of_another_organisation_is_refused(buyer, other_organisation):
    from django.core.exceptions import ValidationError

    foreign_service = ServiceFactory(organisation=other_organisation)
    with pytest.raises(ValidationError):
        agent_create(
            by=buyer.user,
            organisation=buyer.organisation,
            email="a@b.fr",
            first_name="A",
            last_name="B",
            permissions=[],
            service=foreign_service,
            base_url="http://testserver",
        )


@pytest.mark.django_db
def test_a_company_manager_adds_a_colleague_but_a_simple_user_cannot(
    client, company_user, django_capture_on_commit_callbacks
):
    from tests.factories import CompanyUserFactory

    client.force_login(company_user.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("accounts:company_user_add"),
            {"first_name": "Marc", "last_name": "Le Bihan", "email": "marc@batiment-ouest.fr"},
        )
    assert company_user.company.users.filter(user__email="marc@batiment-ouest.fr").exists()

    simple = CompanyUserFactory(company=company_user.company, is_manager=False)
    client.force_login(simple.user)
    assert client.get(reverse("accounts:company_user_add")).status_code == 403
