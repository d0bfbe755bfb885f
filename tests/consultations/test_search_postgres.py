"""What only PostgreSQL's French full-text search does: stems, the websearch syntax, the
ranking, and the GIN index serving the notices' query. (SQLite runs test_notices.py only.)"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consultations.notices import NoticeFilters, NoticeResults, notices_search
from tests.factories import T0, consultation_online

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="recherche plein texte PostgreSQL")


def found(client, **params) -> list[str]:
    return [c.reference for c in client.get("/annonces/", params).context["page"].object_list]


@pytest.fixture
def notices(organisation):
    consultation_online(
        organisation=organisation,
        reference="2026-TX-001",
        title="Réfection de la toiture de l'école",
        object="Couverture en zinc.",
        deadline=T0 + timedelta(days=20),
    )
    consultation_online(
        organisation=organisation,
        reference="2026-TX-002",
        title="Toiture du gymnase",
        object="Couverture du gymnase municipal.",
        deadline=T0 + timedelta(days=25),
    )
    consultation_online(
        organisation=organisation,
        reference="2026-SV-003",
        title="Nettoyage des locaux de la mairie",
        object="Entretien courant, y compris les abords de la toiture-terrasse.",
        deadline=T0 + timedelta(days=5),
    )
    consultation_online(
        organisation=organisation,
        reference="2026-SV-004",
        title="Restauration scolaire",
        object="Préparation des repas des écoles, restauration du personnel.",
        deadline=T0 + timedelta(days=15),
    )


def test_french_stems_find_other_forms_of_a_word(client, notices, clock):
    assert found(client, q="local") == ["2026-SV-003"]  # « locaux »
    assert found(client, q="gymnases") == ["2026-TX-002"]


def test_the_websearch_syntax_excludes_and_joins(client, notices, clock):
    assert found(client, q="toiture -gymnase") == ["2026-SV-003", "2026-TX-001"]
    assert found(client, q="gymnase or mairie") == ["2026-SV-003", "2026-TX-002"]
    assert found(client, q='"restauration scolaire"') == ["2026-SV-004"]


def test_relevance_puts_a_match_in_the_title_before_one_in_the_object(client, notices, clock):
    # By deadline the cleaning comes first; its « toiture » is only in the object.
    assert found(client, q="toiture") == ["2026-SV-003", "2026-TX-001", "2026-TX-002"]
    assert found(client, q="toiture", tri="pertinence")[-1] == "2026-SV-003"


def test_a_query_of_stop_words_only_finds_nothing_and_does_not_fail(client, notices, clock):
    response = client.get("/annonces/", {"q": "de la"})
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []


@pytest.mark.parametrize("query", ["toiture", "nettoyage locaux", "2026-TX-001"])
def test_the_gin_index_serves_the_search(notices, clock, query):
    """The plan of the count the page runs can use the GIN index: the query is written so
    that the index applies (same configuration, no wrapping). The test table is tiny, so
    the other ways are taken away, inside the test's transaction."""
    with CaptureQueriesContext(connection) as captured:
        NoticeResults(notices_search(NoticeFilters(q=query))).count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            ["consultations_consultation", "%(state%"],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {captured.captured_queries[-1]['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on consultation_search_vector_gin" in plan
