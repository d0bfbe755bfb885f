"""Writes about accounts: registration, confirmation, agents, colleagues, profile."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import notifications
from accounts.models import (
    Agent,
    AgentPermission,
    Company,
    CompanyUser,
    Organisation,
    Service,
    User,
)
from accounts.permissions import agent_require, company_can_manage
from audit.services import event_record


def _stale_registrations_remove(*, siret: str, email: str) -> None:
    """Registrations never confirmed within the link's lifetime give back their SIRET
    and address: nobody can hold a competitor's SIRET by registering it unconfirmed."""
    cutoff = timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    stale = User.objects.filter(
        Q(email__iexact=email) | Q(company_user__company__siret=siret),
        is_active=False,
        email_confirmed_at__isnull=True,
        date_joined__lt=cutoff,
    )
    for user in stale:
        company_user = user.company_user_or_none
        user.delete()
        if company_user is not None and not company_user.company.users.exists():
            company_user.company.delete()


def _check_email_free(email: str) -> str:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {"email": _("Un compte existe déjà avec cette adresse. Utilisez « Mot de passe oublié ».")}
        )
    return email


@transaction.atomic
def company_register(
    *,
    siret: str,
    name: str,
    legal_form: str,
    street: str,
    postal_code: str,
    city: str,
    email: str,
    first_name: str,
    last_name: str,
    password: str,
    base_url: str,
    request=None,
) -> CompanyUser:
    """Create a company and its first user, who stays inactive until the address is confirmed."""
    _stale_registrations_remove(siret=siret, email=email)
    if Company.objects.filter(siret=siret).exists():
        raise ValidationError(
            {
                "siret": _(
                    "Cette entreprise est déjà inscrite. Demandez au gestionnaire de son compte "
                    "de vous ajouter comme collègue."
                )
            }
        )
    email = _check_email_free(email)
    user = User(email=email, first_name=first_name, last_name=last_name, is_active=False)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    company = Company(
        siret=siret,
        name=name,
        legal_form=legal_form,
        street=street,
        postal_code=postal_code,
        city=city,
    )
    company.full_clean()
    company.save()
    company_user = CompanyUser.objects.create(user=user, company=company, is_manager=True)
    event_record(
        action="accounts.company_registered",
        actor=None,
        target=company,
        request=request,
        data={"email": email},
    )
    notifications.confirmation_email_queue(user=user, base_url=base_url)
    return company_user


@transaction.atomic
def user_confirm_email(*, user: User, request=None) -> User:
    user.is_active = True
    user.email_confirmed_at = timezone.now()
    user.save(update_fields=["is_active", "email_confirmed_at"])
    event_record(action="accounts.email_confirmed", actor=user, target=user, request=request)
    return user


def _service_check(*, service: Service | None, organisation_id: int) -> None:
    if service is not None and service.organisation_id != organisation_id:
        raise ValidationError({"service": _("Ce service n'appartient pas à votre organisme.")})


def _permission_fields(permissions) -> dict[str, bool]:
    chosen = {AgentPermission(p) for p in permissions}
    return {f"can_{p.value}": p in chosen for p in AgentPermission}


@transaction.atomic
def agent_create(
    *,
    by: User,
    organisation: Organisation,
    email: str,
    first_name: str,
    last_name: str,
    permissions,
    service: Service | None = None,
    job_title: str = "",
    base_url: str,
    request=None,
) -> Agent:
    """An organisation's administrator adds an agent, who receives a link to choose a password."""
    agent_require(by, AgentPermission.ADMINISTER, organisation)
    _service_check(service=service, organisation_id=organisation.pk)
    email = _check_email_free(email)
    user = User.objects.create_user(email=email, first_name=first_name, last_name=last_name)
    agent = Agent.objects.create(
        user=user,
        organisation=organisation,
        service=service,
        job_title=job_title,
        **_permission_fields(permissions),
    )
    event_record(
        action="accounts.agent_created",
        actor=by,
        target=agent,
        organisation=organisation,
        request=request,
        data={"permissions": sorted(p.value for p in agent.permissions)},
    )
    notifications.invitation_email_queue(
        user=user, invited_by=by, base_url=base_url, organisation_name=organisation.name
    )
    return agent


@transaction.atomic
def agent_update(
    *,
    by: User,
    agent: Agent,
    permissions,
    service: Service | None,
    job_title: str,
    is_active: bool,
    request=None,
) -> Agent:
    agent_require(by, AgentPermission.ADMINISTER, agent)
    _service_check(service=service, organisation_id=agent.organisation_id)
    fields = _permission_fields(permissions)
    if agent.user_id == by.pk and (not fields["can_administer"] or not is_active):
        raise ValidationError(_("Vous ne pouvez pas retirer vos propres droits d'administration."))
    before = sorted(p.value for p in agent.permissions)
    for name, value in fields.items():
        setattr(agent, name, value)
    agent.service = service
    agent.job_title = job_title
    agent.save()
    if agent.user.is_active != is_active:
        agent.user.is_active = is_active
        agent.user.save(update_fields=["is_active"])
    event_record(
        action="accounts.agent_updated",
        actor=by,
        target=agent,
        organisation=agent.organisation,
        request=request,
        data={
            "before": before,
            "after": sorted(p.value for p in agent.permissions),
            "active": is_active,
        },
    )
    return agent


@transaction.atomic
def company_user_invite(
    *,
    by: User,
    company: Company,
    email: str,
    first_name: str,
    last_name: str,
    base_url: str,
    request=None,
) -> CompanyUser:
    if not company_can_manage(by, company):
        raise PermissionDenied
    email = _check_email_free(email)
    user = User.objects.create_user(email=email, first_name=first_name, last_name=last_name)
    company_user = CompanyUser.objects.create(user=user, company=company)
    event_record(
        action="accounts.company_user_invited",
        actor=by,
        target=company,
        request=request,
        data={"email": email},
    )
    notifications.invitation_email_queue(
        user=user, invited_by=by, base_url=base_url, organisation_name=company.name
    )
    return company_user


@transaction.atomic
def user_update_profile(*, user: User, first_name: str, last_name: str, phone: str, request=None) -> User:
    user.first_name, user.last_name, user.phone = first_name, last_name, phone
    user.save(update_fields=["first_name", "last_name", "phone"])
    event_record(action="accounts.profile_updated", actor=user, target=user, request=request)
    return user
