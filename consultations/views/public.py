"""The public side: the notices (« Annonces »), a consultation's page and its access code."""

import contextlib
import secrets
from datetime import UTC, datetime, timedelta

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.client_ip import attempt_reserve, client_ip, throttled_source
from accounts.permissions import agent_belongs, company_user_of
from awards.models import Decision, Outcome
from config import clock
from consultations import policy
from consultations.models import Consultation, DceVersion, Lot, State
from consultations.notices import PAGE_SIZE, NoticeFilterForm, NoticeResults, notices_search

ACCESS_ATTEMPTS = 5
ACCESS_WINDOW = timedelta(minutes=15)


def notices(request):
    form = NoticeFilterForm(request.GET)
    filters, ignored = form.filters()
    results = NoticeResults(
        notices_search(filters), prefetch=[Prefetch("lots", queryset=Lot.objects.order_by("number"))]
    )
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "consultations/notices.html",
        {
            "form": form,
            "filters": filters,
            "ignored": ignored,
            "page": page,
            "now": clock.now(),
            "filtered": any(request.GET.get(form.add_prefix(name)) for name in form.fields),
        },
    )


def time_left(deadline: datetime | None, now: datetime) -> str:
    """« il reste 3 jours 4 heures », down to the minute; « Date limite dépassée » after."""
    if deadline is None:
        return ""
    if now >= deadline:
        return _("Date limite dépassée")
    # In UTC: across the change to summer time, a day of the calendar is not 24 hours.
    delta = deadline.astimezone(UTC) - now.astimezone(UTC)
    days, hours, minutes = delta.days, delta.seconds // 3600, delta.seconds % 3600 // 60
    parts = []
    if days:
        parts.append(ngettext("%(count)d jour", "%(count)d jours", days) % {"count": days})
        if hours:
            parts.append(ngettext("%(count)d heure", "%(count)d heures", hours) % {"count": hours})
    else:
        if hours:
            parts.append(ngettext("%(count)d heure", "%(count)d heures", hours) % {"count": hours})
        if minutes:
            parts.append(ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes})
    if not parts:
        return _("il reste moins d'une minute")
    return _("il reste %(duration)s") % {"duration": " ".join(parts)}


class AccessCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code d'accès"),
        max_length=64,
        strip=True,
        help_text=gettext_lazy("Le code communiqué par l'acheteur aux candidats invités."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def public_consultation(pk: int) -> Consultation:
    consultation = get_object_or_404(Consultation.objects.select_related("organisation"), pk=pk)
    if not policy.is_public(consultation):
        raise Http404
    return consultation


def detail_context(request, consultation: Consultation, *, access_form: AccessCodeForm | None = None) -> dict:
    """Everything the page of a consultation shows to this visitor."""
    now = clock.now()
    versions = list(
        DceVersion.objects.filter(consultation=consultation, published_at__isnull=False)
        .prefetch_related("files")
        .order_by("-number")
    )
    current = versions[0] if versions else None
    cancelled = consultation.state == State.CANCELLED
    unlocked = policy.dce_unlocked(request, consultation)
    current_files = list(current.files.all()) if current else []
    return {
        "consultation": consultation,
        "lots": list(consultation.lots.order_by("number")),
        "award_notices": list(
            Decision.objects.filter(
                consultation=consultation, outcome=Outcome.AWARDED, essential_data__published_at__isnull=False
            )
            .select_related("lot", "deposit__company")
            .order_by("lot__number")
        ),
        "requested_documents": list(consultation.requested_documents.all()),
        "amendments": list(consultation.amendments.select_related("dce_version").order_by("created_at")),
        "versions": versions,
        "current_version": current,
        "current_files": current_files,
        "total_size": sum(f.size for f in current_files),
        "cancelled": cancelled,
        "unlocked": unlocked,
        "can_download": unlocked and not cancelled and current is not None,
        "show_access_form": consultation.is_restricted and not unlocked and not cancelled,
        "access_form": access_form or AccessCodeForm(),
        "now": now,
        "time_left": time_left(consultation.deadline, now),
        "deadline_passed": consultation.deadline is not None and now >= consultation.deadline,
        "question_deadline": consultation.question_deadline(),
        "is_buyer_agent": agent_belongs(request.user, consultation),
        "company_user": company_user_of(request.user),
    }


def detail(request, pk):
    consultation = public_consultation(pk)
    return render(request, "consultations/public/detail.html", detail_context(request, consultation))


# --- Access code of a restricted consultation ------------------------------------------------


def access_attempt_keys(consultation_pk: int, address: str | None) -> tuple[str, str]:
    base = f"consultations:access:{consultation_pk}:{throttled_source(address)}"
    return f"{base}:count", f"{base}:since"


def access_attempt_reserve(consultation: Consultation, request) -> bool:
    """Count one more attempt from this address; False once the wrong codes used the window.

    The counter goes up before the code is compared (an atomic increment, in Redis in
    production), so parallel requests cannot try more codes than the limit. The
    window is read on the platform's clock.
    """
    count_key, since_key = access_attempt_keys(consultation.pk, client_ip(request))
    return attempt_reserve(count_key, since_key, limit=ACCESS_ATTEMPTS, window=ACCESS_WINDOW)


def access_attempt_release(consultation: Consultation, request) -> None:
    """A right code does not count against the address."""
    count_key, _since_key = access_attempt_keys(consultation.pk, client_ip(request))
    with contextlib.suppress(ValueError):
        cache.decr(count_key)


@require_POST
def access(request, pk):
    consultation = public_consultation(pk)
    if not consultation.is_restricted or policy.dce_unlocked(request, consultation):
        return redirect("consultations:detail", pk=consultation.pk)
    form = AccessCodeForm(request.POST)
    status = 200
    if form.is_valid():
        if not access_attempt_reserve(consultation, request):
            status = 429
            form.add_error(
                "code",
                _(
                    "Trop de codes erronés ont été saisis pour cette consultation depuis votre connexion : "
                    "réessayez dans 15 minutes, ou demandez le code à l'acheteur."
                ),
            )
        elif secrets.compare_digest(form.cleaned_data["code"].encode(), consultation.access_code.encode()):
            access_attempt_release(consultation, request)
            policy.dce_unlock(request, consultation)
            messages.success(request, _("Code d'accès accepté : le dossier de consultation est accessible."))
            return redirect("consultations:detail", pk=consultation.pk)
        else:
            form.add_error(
                "code",
                _("Ce code d'accès n'est pas celui de cette consultation. Vérifiez-le auprès de l'acheteur."),
            )
    context = detail_context(request, consultation, access_form=form)
    return render(request, "consultations/public/detail.html", context, status=status)
