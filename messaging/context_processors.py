from accounts.permissions import company_user_of
from messaging.selectors import company_unread_count


def messaging(request):
    """How many of the buyers' messages nobody of the company has opened yet, for the menu."""
    user = getattr(request, "user", None)
    if company_user_of(user) is None:
        return {}
    return {"messaging_unread": company_unread_count(user)}
