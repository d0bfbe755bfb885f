"""Keeping a consultation findable: folded text for every database, a French tsvector on PostgreSQL.

The PostgreSQL text search configuration ``french_unaccent`` (French stemming on
unaccented words) and the GIN index are created by migration 0002.
"""

import unicodedata

from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import Value

SEARCH_CONFIG = "french_unaccent"


def fold(text: str) -> str:
    """Lower case without accents: « Élagage » and « elagage » are one word."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def search_document(consultation) -> tuple[str, str]:
    """(what weighs most, the rest) of what a bidder may type to find a consultation."""
    lots = " ".join(f"{lot.title} {lot.description} {lot.cpv_code}" for lot in consultation.lots.all())
    main = f"{consultation.reference} {consultation.title}"
    rest = " ".join(
        [
            consultation.object,
            consultation.organisation.name,
            consultation.place_of_execution,
            consultation.cpv_code,
            " ".join(consultation.cpv_additional or []),
            lots,
        ]
    )
    return main, rest


def search_refresh(consultation) -> None:
    from consultations.models import Consultation

    main, rest = search_document(consultation)
    consultation.search_text = fold(f"{main} {rest}")
    fields = {"search_text": consultation.search_text}
    if connection.vendor == "postgresql":
        fields["search_vector"] = SearchVector(Value(main), config=SEARCH_CONFIG, weight="A") + SearchVector(
            Value(rest), config=SEARCH_CONFIG, weight="B"
        )
    Consultation.objects.filter(pk=consultation.pk).update(**fields)
