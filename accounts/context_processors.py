from django.conf import settings

from accounts.permissions import agent_of, company_user_of


def platform(request):
    user = getattr(request, "user", None)
    return {
        "platform_name": settings.PLATFORM_NAME,
        "current_agent": agent_of(user) if user is not None else None,
        "current_company_user": company_user_of(user) if user is not None else None,
    }
