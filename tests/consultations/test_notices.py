"""« Annonces »: the search a company runs to find a consultation, on SQLite and on PostgreSQL alike."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consultations.models import Category, ProcedureType, State
from consultations.notices import NoticeFilterForm, NoticeFilters, notices_search, search_words
from consultations.search import search_refresh
from tests.factories import T0, ConsultationFactory, LotFactory, OrganisationFactory, consultation_online

URL = "/annonces/"


def online(*, lots=(), **fields):
    """An online consultation; ``lots`` as (number, title, cpv) and the search text refreshed after them."""
    fields.setdefault("object", "Prestations pour les services de la collectivité.")
    fields.setdefault("place_of_execution", "Testville (35)")
    consultation = consultation_online(**fields)
    for number, title, cpv in lots:
        LotFactory(consultation=consultation, number=number, title=title, cpv_code=cpv)
    search_refresh(consultation)
    return consultation


@pytest.fixture
def notices(organisation, other_organisation):
    """Five online consultations of two buyers, one closed, one draft, one scheduled."""
    roof = online(
        organisation=organisation,
        reference="2026-TX-001",
        title="Réfection de la toiture de l'école Jules Ferry",
        object="Couverture en zinc et étanchéité.",
        category=Category.WORKS,
        procedure_type=ProcedureType.ADAPTED_OVER_90K,
        cpv_code="45261000-4",
        deadline=T0 + timedelta(days=20),
    )
    pruning = online(
        organisation=organisation,
        reference="2026-EV-002",
        title="Élagage des arbres du parc municipal",
        object="Taille douce des platanes et tilleuls.",
        category=Category.SERVICES,
        procedure_type=ProcedureType.ADAPTED_UNDER_40K,
        cpv_code="77211400-6",
        place_of_execution="Rennes (35)",
        deadline=T0 + timedelta(days=10),
    )
    cleaning = online(
        organisation=other_organisation,
        reference="DEP-2026-15",
        title="Nettoyage des locaux administratifs",
        object="Entretien courant des bâtiments du département.",
        category=Category.SERVICES,
        procedure_type=ProcedureType.OPEN_TENDER,
        cpv_code="90900000-6",
        place_of_execution="Saint-Brieuc (22)",
        deadline=T0 + timedelta(days=40),
        lots=[
            (1, "Nettoyage de l'hôtel du département", "90911200-8"),
            (2, "Vitrerie des écoles", "90911300-9"),
        ],
    )
    meals = online(
        organisation=other_organisation,
        reference="DEP-2026-16",
        title="Fourniture de repas pour la restauration scolaire",
        object="Repas livrés aux cantines des collèges.",
        category=Category.SUPPLIES,
        procedure_type=ProcedureType.OPEN_TENDER,
        cpv_code="15894210-6",
        place_of_execution="Côtes-d'Armor",
        deadline=T0 + timedelta(days=30),
        lots=[(1, "Repas en liaison froide", "15894210-6")],
    )
    closed = online(
        organisation=organisation,
        reference="2025-TX-099",
        title="Toiture du gymnase",
        object="Couverture du gymnase.",
        deadline=T0 - timedelta(days=5),
    )
    closed.state = State.CLOSED
    closed.save(update_fields=["state"])
    ConsultationFactory(
        organisation=organisation, title="Toiture de la mairie (brouillon)", object="Toiture."
    )
    ConsultationFactory(
        organisation=organisation,
        title="Toiture de la salle des fêtes (programmée)",
        object="Toiture.",
        state=State.SCHEDULED,
    )
    return {"roof": roof, "pruning": pruning, "cleaning": cleaning, "meals": meals, "closed": closed}


def found(client, **params) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    return [c.reference for c in response.context["page"].object_list]


# --- What is listed, in which order ---------------------------------------------------------


def test_the_notices_list_online_consultations_soonest_deadline_first(client, notices, clock):
    assert found(client) == ["2026-EV-002", "2026-TX-001", "DEP-2026-16", "DEP-2026-15"]


def test_drafts_and_scheduled_consultations_are_never_listed(client, notices, clock):
    response = client.get(URL, {"q": "toiture", "cloturees": "1"})
    assert "brouillon" not in response.content.decode()
    assert "programmée" not in response.content.decode()


def test_closed_consultations_appear_only_on_request_after_the_open_ones(client, notices, clock):
    assert "2025-TX-099" not in found(client)
    assert found(client, cloturees="1") == [
        "2026-EV-002",
        "2026-TX-001",
        "DEP-2026-16",
        "DEP-2026-15",
        "2025-TX-099",
    ]


def test_a_page_shows_the_count_the_buyer_the_deadline_and_the_lots(client, notices, clock):
    page = client.get(URL).content.decode()
    assert "4 consultations trouvées" in page
    assert "Département voisin" in page
    assert "11/04/2026 09:00" in page  # the cleaning's deadline, in Paris time (summer time by then)
    assert "Vitrerie des écoles" in page
    assert f'href="/consultations/{notices["cleaning"].pk}/"' in page


# --- Full text: the same answers on SQLite and PostgreSQL -------------------------------------


@pytest.mark.parametrize(
    "query,expected",
    [
        ("toiture", ["2026-TX-001"]),
        ("Toîture", ["2026-TX-001"]),
        ("TOITURES", ["2026-TX-001"]),
        ("élagage", ["2026-EV-002"]),
        ("elagage", ["2026-EV-002"]),
        ("Élagage platanes", ["2026-EV-002"]),
        ("nettoyage locaux", ["DEP-2026-15"]),
        ("vitrerie", ["DEP-2026-15"]),  # a word of a lot's title
        ("liaison froide", ["DEP-2026-16"]),
        ("fourniture de repas", ["DEP-2026-16"]),
        ("restauration scolaire", ["DEP-2026-16"]),
        ("écoles", ["2026-TX-001", "DEP-2026-15"]),
        ("Département voisin", ["DEP-2026-16", "DEP-2026-15"]),  # the buyer's name
        ("étanchéité", ["2026-TX-001"]),
        ("etancheite zinc", ["2026-TX-001"]),
        ("toiture élagage", []),
        ("ascenseur", []),
    ],
)
def test_keywords_find_the_same_consultations_whatever_the_accents_and_the_database(
    client, notices, clock, query, expected
):
    assert found(client, q=query) == expected


@pytest.mark.parametrize("reference", ["2026-TX-001", "2026-tx-001", " 2026-TX-001 "])
def test_a_reference_finds_its_consultation(client, notices, clock, reference):
    assert found(client, q=reference) == ["2026-TX-001"]


def test_the_exact_reference_comes_before_the_consultations_that_mention_it(
    client, notices, organisation, clock
):
    online(
        organisation=organisation,
        reference="2026-TX-007",
        title="Maîtrise d'œuvre complémentaire au marché 2026-TX-001",
        deadline=T0 + timedelta(days=2),
    )
    assert found(client, q="2026-TX-001") == ["2026-TX-001", "2026-TX-007"]


def test_the_search_keeps_the_closed_filter(client, notices, clock):
    assert found(client, q="toiture", cloturees="1") == ["2026-TX-001", "2025-TX-099"]


def test_query_words_are_folded_and_plurals_tolerated():
    assert search_words("Toîtures de l'École, LOCAUX") == ["toiture", "ecole", "locau"]
    assert search_words("de la") == []


# --- Filters -----------------------------------------------------------------------------


def test_filter_by_category(client, notices, clock):
    assert found(client, categorie="supplies") == ["DEP-2026-16"]


def test_filter_by_procedure(client, notices, clock):
    assert found(client, procedure="open_tender") == ["DEP-2026-16", "DEP-2026-15"]


def test_filter_by_buyer(client, notices, other_organisation, clock):
    assert found(client, acheteur=other_organisation.pk) == ["DEP-2026-16", "DEP-2026-15"]


def test_the_buyer_filter_lists_only_buyers_with_public_consultations(client, notices, clock):
    OrganisationFactory(name="Syndicat sans annonce")
    page = client.get(URL).content.decode()
    assert "Département voisin" in page
    assert "Syndicat sans annonce" not in page


@pytest.mark.parametrize(
    "cpv,expected",
    [
        ("4526", ["2026-TX-001"]),  # main CPV
        ("45261000-4", ["2026-TX-001"]),  # a whole code with its check digit
        ("909113", ["DEP-2026-15"]),  # only a lot has it
        ("90", ["DEP-2026-15"]),
        ("77", ["2026-EV-002"]),
    ],
)
def test_filter_by_cpv_prefix_of_the_main_code_or_of_a_lot(client, notices, clock, cpv, expected):
    assert found(client, cpv=cpv) == expected


def test_filter_by_place(client, notices, clock):
    assert found(client, lieu="rennes") == ["2026-EV-002"]


def test_filter_by_deadline_includes_the_whole_day(client, notices, clock):
    # The pruning closes on 12/03 and the roof on 22/03, both at 09:00.
    assert found(client, date_limite_avant="2026-03-22") == ["2026-EV-002", "2026-TX-001"]
    assert found(client, date_limite_avant="21/03/2026") == ["2026-EV-002"]


def test_filters_combine_with_the_search(client, notices, clock):
    assert found(client, q="nettoyage", categorie="services", lieu="saint-brieuc") == ["DEP-2026-15"]
    assert found(client, q="nettoyage", categorie="works") == []


@pytest.mark.parametrize(
    "params,message",
    [
        ({"categorie": "chateaux"}, "Le filtre « Catégorie » a été ignoré"),
        ({"procedure": "tirage-au-sort"}, "Le filtre « Type de procédure » a été ignoré"),
        ({"acheteur": "abc"}, "Le filtre « Acheteur » a été ignoré"),
        ({"acheteur": "999999"}, "Le filtre « Acheteur » a été ignoré"),
        ({"cpv": "toit"}, "de 2 à 8 chiffres"),
        ({"date_limite_avant": "31/02/2026"}, "Saisissez une date valide"),
        ({"date_limite_avant": "demain"}, "Saisissez une date valide"),
        ({"tri": "prix"}, "Le filtre « Trier par » a été ignoré"),
        ({"q": "x" * 500}, "Le filtre « Recherche rapide » a été ignoré"),
    ],
)
def test_a_bad_filter_is_ignored_with_a_french_message(client, notices, clock, params, message):
    response = client.get(URL, params)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert len(response.context["page"].object_list) == 4


def test_a_bad_filter_does_not_drop_the_good_ones(client, notices, clock):
    assert found(client, categorie="supplies", date_limite_avant="n'importe quand") == ["DEP-2026-16"]


@pytest.mark.parametrize("page", ["abc", "0", "-1", "999"])
def test_a_bad_page_number_never_fails(client, notices, clock, page):
    assert client.get(URL, {"page": page}).status_code == 200


def test_filters_are_get_parameters_kept_by_the_pagination(client, organisation, clock):
    for n in range(25):
        online(
            organisation=organisation,
            reference=f"2026-V-{n:03d}",
            title=f"Voirie, tranche {n}",
            deadline=T0 + timedelta(days=10, hours=n),
        )
    response = client.get(URL, {"q": "voirie", "categorie": "works"})
    assert len(response.context["page"].object_list) == 20
    page = response.content.decode()
    assert "?q=voirie&amp;categorie=works&amp;page=2" in page
    second = client.get(URL, {"q": "voirie", "categorie": "works", "page": "2"})
    assert [c.reference for c in second.context["page"].object_list] == [
        f"2026-V-{n:03d}" for n in range(20, 25)
    ]


# --- Query count ----------------------------------------------------------------------------------


def _make(organisation, count, start):
    for n in range(start, start + count):
        online(
            organisation=organisation,
            reference=f"2026-Q-{n:03d}",
            title=f"Maintenance des ascenseurs, site {n}",
            lots=[(1, "Ascenseurs", "50750000-7"), (2, "Monte-charges", "50750000-7")],
        )


@pytest.mark.parametrize("params", [{}, {"q": "ascenseurs", "cpv": "5075", "cloturees": "1"}])
def test_the_notices_page_makes_as_many_queries_for_3_rows_as_for_25(
    client, organisation, clock, django_assert_max_num_queries, params
):
    _make(organisation, 3, 0)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(URL, params).context["page"].object_list) == 3
    _make(organisation, 22, 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(URL, params).context["page"].object_list) == 20


def test_the_selector_is_the_same_for_the_api_and_the_page(notices, clock):
    filters, ignored = NoticeFilterForm({"q": "repas", "categorie": "supplies"}).filters()
    assert ignored == []
    assert filters == NoticeFilters(q="repas", category="supplies")
    assert [c.reference for c in notices_search(filters)] == ["DEP-2026-16"]
