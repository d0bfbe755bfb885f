from accounts.models import Agent, CompanyUser


def organisation_agents(*, organisation):
    return (
        Agent.objects.filter(organisation=organisation)
        .select_related("user", "service")
        .order_by("user__last_name", "user__first_name")
    )


def company_users(*, company):
    return (
        CompanyUser.objects.filter(company=company)
        .select_related("user")
        .order_by("user__last_name", "user__first_name")
    )
