"""The notices (« Annonces »): which public consultations match a search, and in which order.

One selector serves the web page, the API and the benchmark. The filters arrive as
GET parameters (French names, so a search can be bookmarked and shared) through
``NoticeFilterForm``; a bad value is ignored, and said so, rather than refused.

Full text: on PostgreSQL the French ``search_vector`` (unaccented French stems, GIN
index, migration 0002); on SQLite every folded word of the query must appear in
``search_text``, with a small tolerance for French plurals. Both find the same
consultations for ordinary words, with or without accents.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, TextChoices, Value, When
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from consultations.calendar import PARIS, validate_plausible_date
from consultations.models import Category, Consultation, Lot, ProcedureType, State
from consultations.policy import PUBLIC_STATES
from consultations.search import SEARCH_CONFIG, fold

PAGE_SIZE = 20

# Words too common to narrow a search (PostgreSQL's French configuration drops them too).
STOP_WORDS = frozenset(
    {
        "a", "au", "aux", "avec", "c", "ce", "ces", "d", "dans", "de", "des", "du", "en", "et", "l", "la",
        "le", "les", "leur", "par", "pour", "sa", "ses", "son", "sur", "un", "une",
    }
)  # fmt: skip


class NoticeSort(TextChoices):
    DEADLINE = "date_limite", _("Date limite la plus proche")
    RELEVANCE = "pertinence", _("Pertinence")


@dataclass(frozen=True)
class NoticeFilters:
    q: str = ""
    category: str = ""
    procedure: str = ""
    buyer_id: int | None = None
    cpv: str = ""
    place: str = ""
    deadline_before: date | None = None
    include_closed: bool = False
    sort: str = NoticeSort.DEADLINE


def public_q() -> Q:
    """What ``policy.is_public`` lets anyone see, as a database condition."""
    return Q(state__in=PUBLIC_STATES) | Q(state=State.CANCELLED, published_at__isnull=False)


def search_words(text: str) -> list[str]:
    """The folded words of a query that must all be found (SQLite fallback).

    « Toitures » finds « toiture », « locaux » finds « locaux »: a trailing « s » or
    « x » of a word longer than three letters is dropped, as French plurals go.
    """
    words = []
    for word in re.findall(r"\w+", fold(text)):
        if word in STOP_WORDS:
            continue
        if len(word) > 3 and word[-1] in "sx" and not word[-2].isdigit():
            word = word[:-1]
        if word not in words:
            words.append(word)
    return words


def _looks_like_reference(text: str) -> bool:
    """References carry a number (« 2026-TX-001 », « MAPA 2026/15 »); keywords seldom do."""
    return bool(re.search(r"\d", text))


def _text_search(queryset: QuerySet, q: str, sort: str) -> tuple[QuerySet, list]:
    """The matching consultations, and what orders them before the deadline: the exact
    reference first, then (on request, PostgreSQL) the rank of the match.

    The reference is compared only when the query could be one: comparing it on
    every match of a common word would cost more than the search.
    """
    reference = _looks_like_reference(q)
    order = []
    if reference:
        order.append(
            Case(When(reference__iexact=q, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
    if connection.vendor == "postgresql":
        # The reference is in the vector (weight A), split by the same parser as the query:
        # no separate comparison, which no index would serve.
        query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
        queryset = queryset.filter(search_vector=query)
        if sort == NoticeSort.RELEVANCE:
            queryset = queryset.annotate(rank=SearchRank(F("search_vector"), query))
            order.append("-rank")
        return queryset, order
    words = search_words(q)
    condition = Q(reference__iexact=q) if reference or not words else Q(pk__in=[])
    if words:
        every_word = Q()
        for word in words:
            every_word &= Q(search_text__contains=word)
        condition |= every_word
    return queryset.filter(condition), order


def notices_search(filters: NoticeFilters) -> QuerySet:
    """Public consultations matching ``filters``: online ones (and, on request, the
    closed ones after them), soonest deadline first. The buyer comes in the same query."""
    # The search columns are big and never shown: they are not read.
    queryset = Consultation.objects.select_related("organisation").defer("search_text", "search_vector")
    queryset = queryset.filter(public_q()) if filters.include_closed else queryset.filter(state=State.ONLINE)
    # The platform's practice consultation (« consultation de test ») is not a notice.
    queryset = queryset.exclude(is_practice=True)
    if filters.category:
        queryset = queryset.filter(category=filters.category)
    if filters.procedure:
        queryset = queryset.filter(procedure_type=filters.procedure)
    if filters.buyer_id:
        queryset = queryset.filter(organisation_id=filters.buyer_id)
    if filters.cpv:
        in_lot = Lot.objects.filter(consultation=OuterRef("pk"), cpv_code__startswith=filters.cpv)
        queryset = queryset.filter(Q(cpv_code__startswith=filters.cpv) | Exists(in_lot))
    if filters.place:
        queryset = queryset.filter(place_of_execution__icontains=filters.place)
    if filters.deadline_before:
        # « Au plus tard le 31 mars »: the whole of that day, in Paris.
        end = datetime.combine(filters.deadline_before + timedelta(days=1), time.min, tzinfo=PARIS)
        queryset = queryset.filter(deadline__lt=end)
    order = []
    if filters.q:
        queryset, order = _text_search(queryset, filters.q, filters.sort)
    if filters.include_closed:
        # Consultations still open first, then the others.
        order.insert(
            0, Case(When(state=State.ONLINE, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
    return queryset.order_by(*order, "deadline", "pk")


class NoticeResults:
    """The results of a search as a Paginator pages through them.

    A page is read in two steps: the ids of the page, sorted on narrow rows (a word
    may match thousands of consultations), then the rows of those ids with their
    buyer and whatever the caller prefetches. Sorting whole rows to keep twenty of
    them cost more than the search itself (see bench/notices_search.py).
    """

    def __init__(self, queryset: QuerySet, *, prefetch=()):
        self.queryset = queryset
        self.model = queryset.model
        self.prefetch = list(prefetch)

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        ids = list(self.queryset.values_list("pk", flat=True)[index])
        rows = (
            self.model.objects.filter(pk__in=ids)
            .order_by()
            .select_related("organisation")
            .defer("search_text", "search_vector")
            .prefetch_related(*self.prefetch)
        )
        by_id = {row.pk: row for row in rows}
        return [by_id[pk] for pk in ids if pk in by_id]


def notices_latest(*, limit: int = 5) -> list[Consultation]:
    """The consultations put online most recently (home page)."""
    return list(
        Consultation.objects.online()
        .exclude(is_practice=True)
        .select_related("organisation")
        .order_by("-published_at", "-pk")[:limit]
    )


def notices_buyers() -> QuerySet:
    """Buyers with at least one public consultation, for the « Acheteur » filter."""
    public = Consultation.objects.filter(public_q(), organisation=OuterRef("pk")).exclude(is_practice=True)
    return Organisation.objects.filter(Exists(public)).order_by("name")


# --- The filters as GET parameters ------------------------------------------------------

# Code names are English; the parameters people see in the address are French.
PARAMETERS = {
    "q": "q",
    "category": "categorie",
    "procedure": "procedure",
    "buyer": "acheteur",
    "cpv": "cpv",
    "place": "lieu",
    "deadline_before": "date_limite_avant",
    "include_closed": "cloturees",
    "sort": "tri",
}


class NoticeFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Recherche rapide"),
        required=False,
        max_length=200,
        help_text=_("Une référence ou des mots-clés, par exemple « toiture » ou « nettoyage locaux »."),
    )
    category = forms.ChoiceField(
        label=_("Catégorie"), required=False, choices=[("", _("Toutes les catégories")), *Category.choices]
    )
    procedure = forms.ChoiceField(
        label=_("Type de procédure"),
        required=False,
        choices=[("", _("Toutes les procédures")), *ProcedureType.choices],
    )
    buyer = forms.ModelChoiceField(
        label=_("Acheteur"), required=False, queryset=Organisation.objects.none(), empty_label=_("Tous")
    )
    cpv = forms.CharField(
        label=_("Code CPV"),
        required=False,
        max_length=12,
        help_text=_("Le début du code suffit : « 45 » pour tous les travaux, « 452610 » pour la couverture."),
    )
    place = forms.CharField(label=_("Lieu d'exécution"), required=False, max_length=100)
    deadline_before = forms.DateField(
        label=_("Date limite au plus tard le"),
        required=False,
        validators=[validate_plausible_date],
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Saisissez une date valide, par exemple 31/03/2026.")},
    )
    include_closed = forms.BooleanField(
        label=_("Afficher aussi les consultations clôturées"), label_suffix="", required=False
    )
    sort = forms.ChoiceField(label=_("Trier par"), required=False, choices=NoticeSort.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buyer"].queryset = notices_buyers()

    def add_prefix(self, field_name: str) -> str:
        return PARAMETERS.get(field_name, field_name)

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"].split())

    def clean_cpv(self) -> str:
        value = self.cleaned_data["cpv"].strip()
        prefix = value.split("-", 1)[0]
        if value and not re.fullmatch(r"\d{2,8}", prefix):
            raise ValidationError(
                _("Saisissez le début d'un code CPV : de 2 à 8 chiffres, par exemple « 4526 »."),
                code="invalid",
            )
        return prefix

    def filters(self) -> tuple[NoticeFilters, list[str]]:
        """The valid filters, and a French sentence for each ignored one."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        ignored = [
            _("Le filtre « %(label)s » a été ignoré : %(error)s")
            % {"label": self.fields[name].label, "error": e}
            for name, errors in self.errors.items()
            if name in self.fields
            for e in errors
        ]
        buyer = data.get("buyer")
        filters = NoticeFilters(
            q=data.get("q") or "",
            category=data.get("category") or "",
            procedure=data.get("procedure") or "",
            buyer_id=buyer.pk if buyer else None,
            cpv=data.get("cpv") or "",
            place=(data.get("place") or "").strip(),
            deadline_before=data.get("deadline_before"),
            include_closed=bool(data.get("include_closed")),
            sort=data.get("sort") or NoticeSort.DEADLINE,
        )
        return filters, ignored

    def parameter_errors(self) -> dict[str, list[str]]:
        """Errors keyed by their GET parameter (the API answers them with a 400)."""
        self.is_valid()
        return {self.add_prefix(name): list(errors) for name, errors in self.errors.items()}
