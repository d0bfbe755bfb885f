"""The public essential data: the exports of a buyer (JSON and XML in the official formats)
and the public page."""

import json
from decimal import Decimal as D

import pytest
from django.urls import reverse
from jsonschema import Draft7Validator
from lxml import etree

from awards import decp
from awards.decp_xml import decp_xml_schema
from tests.awards.conftest import consultation_opened_make, deposit_received
from tests.awards.test_decp import COMPLEMENTS, PARTNER_SIRET, SCHEMA, awarded, published
from tests.factories import AgentFactory, CompanyUserFactory


@pytest.fixture
def contracts(buyer, other_organisation, company_user, other_company_user, clock):
    """The buyer's published consortium contract (with a modification), its unpublished one,
    and another organisation's published contract."""
    ours = consultation_opened_make(buyer, clock)
    deposit_received(ours, other_company_user)
    mine = published(awarded(ours, buyer, company_user, clock), buyer)
    clock.advance(days=30)
    decp.modification_record(
        user=buyer.user, essential_data=mine, notified_on=clock().date(), amount=D("275000")
    )
    draft_consultation = consultation_opened_make(buyer, clock)
    draft = awarded(draft_consultation, buyer, other_company_user, clock, members=False)
    other_buyer = AgentFactory(organisation=other_organisation, can_create=True, can_decide=True)
    theirs_consultation = consultation_opened_make(other_buyer, clock)
    theirs = published(
        awarded(theirs_consultation, other_buyer, CompanyUserFactory(), clock, members=False), other_buyer
    )
    return {"mine": mine, "draft": draft, "theirs": theirs}


def export(client, organisation, fmt):
    return client.get(reverse("awards:decp_export", args=[organisation.pk, fmt]))


def test_the_json_export_lists_only_the_buyers_published_records(client, contracts, organisation):
    response = export(client, organisation, "json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    document = json.loads(response.content)
    # the schema's top level, valid against it
    assert list(Draft7Validator(SCHEMA).iter_errors(document)) == []
    [record] = document["marches"]["marche"]
    assert record["id"] == contracts["mine"].record["id"]
    assert record["acheteur"]["id"] == organisation.siret
    assert [t["titulaire"]["id"] for t in record["titulaires"]][1] == PARTNER_SIRET
    assert record["modifications"][0]["modification"]["montant"] == 275000


def test_the_xml_export_is_valid_against_the_xsd_and_says_the_same(
    client, contracts, organisation, other_organisation
):
    response = export(client, organisation, "xml")
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    root = etree.fromstring(response.content)
    # lxml validates it against the official XSD
    assert decp_xml_schema().validate(root), decp_xml_schema().error_log
    [marche] = root.findall("marche")
    assert marche.findtext("id") == contracts["mine"].record["id"]
    assert marche.findtext("acheteur/id") == organisation.siret
    assert [t.findtext("id") for t in marche.findall("titulaires/titulaire")][1] == PARTNER_SIRET
    assert marche.findtext("ccag") == "Travaux"
    assert [t.text for t in marche.findall("techniques/technique")] == COMPLEMENTS["techniques"]
    assert marche.findtext("attributionAvance") == "true"
    assert marche.findtext("modifications/modification/montant") == "275000"
    # the other organisation's export holds its own record only
    theirs = etree.fromstring(export(client, other_organisation, "xml").content)
    assert [m.findtext("id") for m in theirs.findall("marche")] == [contracts["theirs"].record["id"]]


def test_an_organisation_without_publication_exports_an_empty_valid_list(client, other_organisation, db):
    document = json.loads(export(client, other_organisation, "json").content)
    assert document == {"marches": {"marche": []}}
    assert decp_xml_schema().validate(etree.fromstring(export(client, other_organisation, "xml").content))
    assert client.get(f"/donnees-essentielles/{other_organisation.pk}.csv").status_code == 404


def test_the_public_page_lists_published_records_by_organisation(
    client, contracts, organisation, monkeypatch
):
    url = reverse("awards:decp_public")
    page = client.get(url).content.decode()
    assert contracts["mine"].record["id"] in page
    assert contracts["theirs"].record["id"] in page
    # the unpublished contract is not there
    assert "2 marchés publiés" in page
    # filtered by organisation, with its exports
    page = client.get(url, {"organisation": organisation.pk}).content.decode()
    assert "1 marché publié" in page
    assert contracts["theirs"].record["id"] not in page
    assert reverse("awards:decp_export", args=[organisation.pk, "json"]) in page
    assert reverse("awards:award_notice", args=[contracts["mine"].decision_id]) in page
    # paginated
    monkeypatch.setattr("awards.views.public.PAGE_SIZE", 1)
    second = client.get(url, {"page": 2}).content.decode()
    assert "Page 2 sur 2" in second


def test_the_record_read_after_a_later_modification_keeps_its_first_publication_date(contracts, clock):
    mine = contracts["mine"]
    first = mine.record["datePublicationDonnees"]
    clock.advance(days=10)
    decp.modification_record(
        user=mine.decision.decided_by, essential_data=mine, notified_on=clock().date(), duration_months=30
    )
    record = decp.published_record(mine)
    assert record["datePublicationDonnees"] == first
    assert [m["modification"]["id"] for m in record["modifications"]] == [1, 2]
