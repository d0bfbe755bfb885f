"""The public API: read only, the notices' search and filters, one consultation with its lots and DCE."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.validation import validate_schema

from consultations.models import Access, Amendment, Category, DceVersion, State
from consultations.search import search_refresh
from tests.factories import T0, ConsultationFactory, LotFactory, consultation_online, dce_file_make

LIST = "/api/consultations/"


def detail_url(consultation):
    return f"/api/consultations/{consultation.pk}/"


@pytest.fixture
def roof(organisation):
    consultation = consultation_online(
        organisation=organisation,
        reference="2026-TX-001",
        title="Réfection de la toiture de l'école",
        object="Couverture et étanchéité.",
        deadline=T0 + timedelta(days=20),
    )
    LotFactory(
        consultation=consultation, number=1, title="Couverture", description="Zinc", cpv_code="45261210-9"
    )
    LotFactory(consultation=consultation, number=2, title="Étanchéité", cpv_code="45261420-4")
    search_refresh(consultation)
    return consultation


@pytest.fixture
def meals(other_organisation):
    return consultation_online(
        organisation=other_organisation,
        reference="DEP-2026-16",
        title="Fourniture de repas pour la restauration scolaire",
        object="Repas livrés aux collèges.",
        category=Category.SUPPLIES,
        deadline=T0 + timedelta(days=10),
    )


# --- List and filters ------------------------------------------------------------------------------


def test_the_list_gives_online_consultations_soonest_deadline_first(client, roof, meals, organisation, clock):
    ConsultationFactory(organisation=organisation, title="Brouillon")
    response = client.get(LIST)
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2
    assert [c["reference"] for c in data["results"]] == ["DEP-2026-16", "2026-TX-001"]
    first = data["results"][0]
    assert first["buyer"] == {"id": meals.organisation_id, "name": "Département voisin"}
    assert first["category"] == "supplies"
    assert first["page_url"] == f"http://testserver/consultations/{meals.pk}/"
    assert first["api_url"] == f"http://testserver/api/consultations/{meals.pk}/"
    assert first["deadline"] == "2026-03-12T09:00:00+01:00"
    assert "access_code" not in first and "estimated_value" not in first


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"q": "toiture"}, ["2026-TX-001"]),
        ({"q": "Toîture"}, ["2026-TX-001"]),
        ({"q": "repas"}, ["DEP-2026-16"]),
        ({"q": "étanchéité"}, ["2026-TX-001"]),
        ({"categorie": "supplies"}, ["DEP-2026-16"]),
        ({"cpv": "452614"}, ["2026-TX-001"]),  # a lot's code
        ({"date_limite_avant": "2026-03-12"}, ["DEP-2026-16"]),
        ({"q": "2026-TX-001"}, ["2026-TX-001"]),
    ],
)
def test_the_list_has_the_same_search_and_filters_as_the_notices(
    client, roof, meals, clock, params, expected
):
    assert [c["reference"] for c in client.get(LIST, params).json()["results"]] == expected
    page = client.get("/annonces/", params)
    assert [c.reference for c in page.context["page"].object_list] == expected


def test_a_bad_filter_is_a_400_with_a_french_message_on_the_parameter(client, roof, clock):
    response = client.get(LIST, {"categorie": "chateaux", "date_limite_avant": "31/02/2026"})
    assert response.status_code == 400
    errors = response.json()
    assert "Sélectionnez un choix valide" in errors["categorie"][0]
    assert errors["date_limite_avant"] == ["Saisissez une date valide, par exemple 31/03/2026."]


def test_the_list_is_paginated_with_a_fixed_number_of_queries(client, organisation, clock):
    for n in range(3):
        consultation_online(organisation=organisation, reference=f"R-{n}")
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(LIST).json()["results"]) == 3
    for n in range(3, 60):
        consultation_online(organisation=organisation, reference=f"R-{n}")
    with CaptureQueriesContext(connection) as many:
        data = client.get(LIST).json()
    assert data["count"] == 60
    assert len(data["results"]) == 50
    assert data["next"] == "http://testserver/api/consultations/?page=2"
    assert len(many.captured_queries) == len(few.captured_queries)


# --- One consultation ----------------------------------------------------------------------------------


def test_the_detail_gives_lots_and_dce_files_with_sizes_hashes_and_download_urls(client, roof, clock):
    data = client.get(detail_url(roof)).json()
    assert data["reference"] == "2026-TX-001"
    assert data["lots"] == [
        {"number": 1, "title": "Couverture", "description": "Zinc", "cpv_code": "45261210-9"},
        {"number": 2, "title": "Étanchéité", "description": "", "cpv_code": "45261420-4"},
    ]
    [version] = data["dce_versions"]
    assert version["number"] == 1 and version["current"] is True
    assert version["published_at"] == "2026-03-02T09:00:00+01:00"
    files = {f["name"]: f for f in version["files"]}
    rules = roof.dce_versions.get().files.get(name="RC.pdf")
    assert files["RC.pdf"] == {
        "name": "RC.pdf",
        "size": rules.size,
        "sha256": rules.sha256,
        "rules_document": True,
        "download_url": f"http://testserver/consultations/{roof.pk}/dce/{rules.pk}/?mode=anonyme",
    }
    assert data["dce_zip_url"] == f"http://testserver/consultations/{roof.pk}/dce/?mode=anonyme"
    assert data["question_deadline"] is not None

    download = client.get(files["RC.pdf"]["download_url"].removeprefix("http://testserver"))
    assert b"".join(download.streaming_content) == b"%PDF-1.4 reglement de consultation"


def test_older_versions_are_listed_without_download_urls(client, roof, buyer, clock):
    version_2 = DceVersion.objects.create(
        consultation=roof, number=2, created_by=buyer.user, published_at=T0 + timedelta(days=2)
    )
    dce_file_make(version_2, "RC.pdf", b"RC v2", is_rules=True)
    Amendment.objects.create(
        consultation=roof, created_at=T0 + timedelta(days=2), created_by=buyer.user, reason="Nouveau RC"
    )
    data = client.get(detail_url(roof)).json()
    assert [(v["number"], v["current"]) for v in data["dce_versions"]] == [(2, True), (1, False)]
    assert data["dce_versions"][0]["files"][0]["download_url"] is not None
    assert all(f["download_url"] is None for f in data["dce_versions"][1]["files"])
    assert data["amendments"] == [{"date": "2026-03-04T09:00:00+01:00", "reason": "Nouveau RC"}]


def test_a_restricted_consultation_is_described_without_its_files(client, organisation, clock):
    restricted = consultation_online(
        organisation=organisation, access=Access.RESTRICTED, access_code="K7P-42QZ"
    )
    data = client.get(detail_url(restricted)).json()
    assert data["restricted"] is True
    assert data["dce_versions"][0]["files"] is None
    assert data["dce_zip_url"] is None
    assert "K7P-42QZ" not in json.dumps(data)


def test_a_cancelled_consultation_gives_its_reason_and_no_download(client, roof, clock):
    roof.state = State.CANCELLED
    roof.cancellation_reason = "Besoin redéfini"
    roof.save(update_fields=["state", "cancellation_reason"])
    data = client.get(detail_url(roof)).json()
    assert data["state"] == "cancelled"
    assert data["cancellation_reason"] == "Besoin redéfini"
    assert data["dce_zip_url"] is None
    assert all(f["download_url"] is None for f in data["dce_versions"][0]["files"])


@pytest.mark.parametrize("state", [State.DRAFT, State.PENDING_VALIDATION, State.SCHEDULED])
def test_an_unpublished_consultation_is_404(client, organisation, state, clock):
    consultation = ConsultationFactory(organisation=organisation, state=state)
    assert client.get(detail_url(consultation)).status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_api_writes_nothing(client, roof, method, clock):
    assert getattr(client, method)(LIST).status_code == 405
    assert getattr(client, method)(detail_url(roof)).status_code == 405


# --- OpenAPI description and Swagger UI ---------------------------------------------------------------


def test_the_schema_is_valid_openapi_3_with_our_paths(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert {"/api/consultations/", "/api/consultations/{id}/"} <= set(schema["paths"])
    parameters = {p["name"] for p in schema["paths"]["/api/consultations/"]["get"]["parameters"]}
    assert {
        "q",
        "categorie",
        "procedure",
        "acheteur",
        "cpv",
        "lieu",
        "date_limite_avant",
        "page",
    } <= parameters
    assert set(schema["paths"]["/api/consultations/"]) == {"get"}


def test_the_docs_page_loads_only_local_scripts_allowed_by_the_csp(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp

    assert "<style" not in page and " style=" not in page
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []  # no inline script
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page)
    stylesheets = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', page)
    assert len(scripts) == 3
    for url in scripts[:2] + stylesheets:
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), url
    init_script = scripts[2].replace("&amp;", "&")
    assert init_script.startswith("/api/docs/?")
    script = client.get(init_script)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    assert "/api/schema/" in script.content.decode()
