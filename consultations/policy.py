"""What each actor may see of a consultation, at each state: the one place that decides."""

from accounts.permissions import agent_belongs, company_user_of
from consultations.models import Access, Consultation, State

# Once online, a consultation stays visible to the public for ever (with its outcome).
PUBLIC_STATES = frozenset(
    {State.ONLINE, State.CLOSED, State.OPENED, State.EVALUATION, State.DECIDED, State.ARCHIVED}
)
# A draft can be edited tab by tab; nothing else can, except through a rectificatif.
EDITABLE_STATES = frozenset({State.DRAFT})
# « Déclarer sans suite » is possible until the decision.
CANCELLABLE_STATES = frozenset(
    {
        State.DRAFT,
        State.PENDING_VALIDATION,
        State.SCHEDULED,
        State.ONLINE,
        State.CLOSED,
        State.OPENED,
        State.EVALUATION,
    }
)
SESSION_ACCESS_KEY = "consultation_access"


def is_public(consultation: Consultation) -> bool:
    if consultation.state == State.CANCELLED:
        return consultation.published_at is not None
    return consultation.state in PUBLIC_STATES


def is_online(consultation: Consultation) -> bool:
    return consultation.state == State.ONLINE


def buyer_can_view(user, consultation: Consultation) -> bool:
    return agent_belongs(user, consultation)


def dce_unlocked(request, consultation: Consultation) -> bool:
    """Whether this visitor may see the DCE: public access, the buyer's own agents,
    or a restricted consultation whose access code this session has given."""
    if not is_public(consultation):
        return False
    if consultation.access == Access.PUBLIC or buyer_can_view(request.user, consultation):
        return True
    return consultation.pk in request.session.get(SESSION_ACCESS_KEY, [])


def dce_unlock(request, consultation: Consultation) -> None:
    unlocked = request.session.get(SESSION_ACCESS_KEY, [])
    if consultation.pk not in unlocked:
        request.session[SESSION_ACCESS_KEY] = [*unlocked, consultation.pk]


def questions_open_to(user, consultation: Consultation) -> bool:
    """A company user may ask questions on an online consultation (the date is checked by the service)."""
    return company_user_of(user) is not None and is_online(consultation)
