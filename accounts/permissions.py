"""Who may do what, decided object by object.

Every view and service asks here; nothing else compares organisations or
companies. An agent acts only inside its own organisation, and only with the
« habilitations » it holds; a company user acts only for its own company.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from accounts.models import Agent, AgentPermission, Company, CompanyUser, Organisation


def agent_of(user) -> Agent | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return user.agent_or_none


def company_user_of(user) -> CompanyUser | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return user.company_user_or_none


def _organisation_id(obj) -> int | None:
    if isinstance(obj, Organisation):
        return obj.pk
    return getattr(obj, "organisation_id", None)


def agent_can(user, permission: AgentPermission | str, obj) -> bool:
    """Whether ``user`` may use ``permission`` on ``obj`` (an organisation or anything of one)."""
    agent = agent_of(user)
    if agent is None:
        return False
    organisation_id = _organisation_id(obj)
    return (
        organisation_id is not None
        and organisation_id == agent.organisation_id
        and agent.has_permission(permission)
    )


def agent_require(user, permission: AgentPermission | str, obj) -> Agent:
    if not agent_can(user, permission, obj):
        raise PermissionDenied
    return user.agent


def agent_belongs(user, obj) -> bool:
    """Whether ``user`` is an agent of the organisation ``obj`` belongs to (any permission)."""
    agent = agent_of(user)
    return agent is not None and agent.organisation_id == _organisation_id(obj)


def company_can_act_for(user, company: Company) -> bool:
    company_user = company_user_of(user)
    return company_user is not None and company_user.company_id == company.pk


def company_can_manage(user, company: Company) -> bool:
    company_user = company_user_of(user)
    return company_user is not None and company_user.company_id == company.pk and company_user.is_manager


def _space_required(test):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if test(request.user) is None:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


agent_required = _space_required(agent_of)
company_user_required = _space_required(company_user_of)
