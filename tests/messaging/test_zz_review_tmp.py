import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.test import Client

from messaging.models import Attachment, Direction, Kind, Message, Thread, Delivery
from messaging.services.sending import message_read, message_send, message_reply
from tests.factories import T0, AgentFactory, CompanyUserFactory, OrganisationFactory, consultation_online, download_record

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(organisation=buyer.organisation, created_by=buyer.user, reference="2026-REV-01")


@pytest.fixture
def setup(consultation, buyer, company_user, other_company_user):
    download_record(consultation, company_user)
    download_record(consultation, other_company_user)
    (m,) = message_send(user=buyer.user, consultation=consultation, companies=[company_user.company],
                        kind=Kind.DOCUMENTS_REQUEST, subject="S", body="secret body A",
                        files=[SimpleUploadedFile("a.pdf", PDF)])
    (mb,) = message_send(user=buyer.user, consultation=consultation, companies=[other_company_user.company],
                        kind=Kind.FREE, subject="S", body="secret body B",
                        files=[SimpleUploadedFile("b.pdf", PDF)])
    return m, mb


def pdf(name="x.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_company_b_cannot_reach_a(setup, other_company_user, client):
    m, mb = setup
    client.force_login(other_company_user.user)
    att = m.attachments.get()
    for url in [
        reverse("messaging:company_message", args=[m.pk]),
        reverse("messaging:company_thread", args=[m.thread_id]),
        reverse("messaging:company_proof", args=[m.pk]),
        reverse("messaging:company_attachment", args=[m.pk, att.pk]),
        reverse("messaging:company_attachment", args=[mb.pk, att.pk]),
        reverse("messaging:buyer_inbox", args=[m.thread.consultation_id]),
        reverse("messaging:buyer_message", args=[m.thread.consultation_id, m.pk]),
    ]:
        r = client.get(url)
        print(url, r.status_code)
        assert r.status_code in (302, 403, 404), url
    r = client.post(reverse("messaging:company_reply", args=[m.pk]), {"body": "x"})
    assert r.status_code == 404
    m.refresh_from_db()
    assert m.first_read_at is None


def test_proof_leaks_content_without_reading(setup, company_user, client):
    m, _ = setup
    client.force_login(company_user.user)
    r = client.get(reverse("messaging:company_proof", args=[m.pk]))
    assert r.status_code == 200
    m.refresh_from_db()
    print("first_read_at after proof:", m.first_read_at)
    from messaging.proof_pdf import message_proof_html
    from config import clock
    assert "secret body A" in message_proof_html(m, produced_at=clock.now())


def test_other_org_agent(setup, client, consultation):
    m, _ = setup
    stranger = AgentFactory(organisation=OrganisationFactory(), can_create=True, can_decide=True)
    client.force_login(stranger.user)
    att = m.attachments.get()
    for url in [
        reverse("messaging:buyer_inbox", args=[consultation.pk]),
        reverse("messaging:buyer_compose", args=[consultation.pk]),
        reverse("messaging:buyer_thread", args=[consultation.pk, m.thread_id]),
        reverse("messaging:buyer_message", args=[consultation.pk, m.pk]),
        reverse("messaging:buyer_proof", args=[consultation.pk, m.pk]),
        reverse("messaging:buyer_attachment", args=[consultation.pk, m.pk, att.pk]),
        reverse("messaging:company_inbox"),
        reverse("messaging:company_message", args=[m.pk]),
    ]:
        r = client.get(url)
        print(url, r.status_code)
        assert r.status_code in (302, 403, 404), url


def test_buyer_attachment_idor(setup, client, buyer, consultation):
    m, mb = setup
    client.force_login(buyer.user)
    r = client.get(reverse("messaging:buyer_attachment", args=[consultation.pk, m.pk, mb.attachments.get().pk]))
    assert r.status_code == 404


def test_odd_get_values(setup, client, buyer, consultation):
    client.force_login(buyer.user)
    base = reverse("messaging:buyer_inbox", args=[consultation.pk])
    for q in ["?type=garbage", "?etat=", "?etat=zzz", "?type=reply&etat=overdue", "?type[]=x", "?etat=sent", "?etat=failed"]:
        r = client.get(base + q)
        print(q, r.status_code)
        assert r.status_code == 200
    c = reverse("messaging:buyer_compose", args=[consultation.pk])
    for q in ["?entreprise=abc", "?entreprise=999999999999999999999999", "?entreprise=١٢", "?type=reply", "?type=garbage", "?type=cancellation", "?entreprise=99999999999999999"]:
        r = client.get(c + q)
        print(q, r.status_code)
        assert r.status_code == 200
    for url in [
        reverse("messaging:buyer_message", args=[consultation.pk, 99999999999999999999999]),
        reverse("messaging:buyer_thread", args=[consultation.pk, 99999999999999999999999]),
        reverse("messaging:buyer_inbox", args=[99999999999999999999999]),
    ]:
        r = client.get(url)
        print(url, r.status_code)
        assert r.status_code == 404


def test_company_huge_ids(setup, client, company_user):
    client.force_login(company_user.user)
    for url in [
        reverse("messaging:company_message", args=[99999999999999999999999]),
        reverse("messaging:company_thread", args=[99999999999999999999999]),
        reverse("messaging:company_attachment", args=[setup[0].pk, 99999999999999999999999]),
    ]:
        r = client.get(url)
        print(url, r.status_code)
        assert r.status_code == 404


def base_post(co, **kw):
    d = {"kind": "free", "recipients": "one", "company": str(co.pk), "subject": "Objet", "body": "Texte"}
    d.update(kw)
    return d


@pytest.mark.parametrize("extra", [
    {"answer_due_date": "2026-02-30", "answer_due_time": "12:00"},
    {"answer_due_time": "12:00"},
    {"answer_due_date": "2026-06-01"},
    {"answer_due_date": "99999-01-01", "answer_due_time": "12:00"},
    {"answer_due_date": "2026-03-29", "answer_due_time": "02:30"},
    {"answer_due_date": "2026-10-25", "answer_due_time": "02:30"},
    {"recipients": "garbage"},
    {"recipients": "selection", "companies": ["abc"]},
    {"recipients": "selection", "companies": ["99999999999999999999999"]},
    {"company": "abc"},
    {"company": "99999999999999999999999"},
    {"kind": "reply"},
    {"kind": "cancellation"},
    {"subject": " "},
    {"body": "   "},
    {"subject": "a\r\nBcc: x@example.com"},
])
def test_compose_bad_posts(setup, client, buyer, consultation, company_user, extra):
    client.force_login(buyer.user)
    before = Message.objects.count()
    r = client.post(reverse("messaging:buyer_compose", args=[consultation.pk]), base_post(company_user.company, **extra))
    print(extra, r.status_code, Message.objects.count() - before)
    assert r.status_code in (200, 302)


def test_compose_files(setup, client, buyer, consultation, company_user, settings, tmp_path):
    client.force_login(buyer.user)
    url = reverse("messaging:buyer_compose", args=[consultation.pk])
    before = Message.objects.count()
    r = client.post(url, {**base_post(company_user.company), "files": [pdf("ok.pdf"), SimpleUploadedFile("bad.exe", b"MZ")]})
    assert r.status_code == 200
    r = client.post(url, {**base_post(company_user.company), "files": [SimpleUploadedFile("empty.pdf", b"")]})
    assert r.status_code == 200
    long = "é" * 300 + ".pdf"
    r = client.post(url, {**base_post(company_user.company), "files": [pdf(long)]})
    print("long name", r.status_code)
    assert r.status_code in (200, 302)
    att = Attachment.objects.order_by("-pk").first()
    print("stored name len", len(att.name), att.name[-10:])
    r = client.post(url, {**base_post(company_user.company), "files": [pdf('a"b;c\u202e.pdf'), pdf("../../etc/passwd.pdf")]})
    print("weird", r.status_code, r.content.decode()[:0])
    from django.contrib.messages import get_messages
    assert r.status_code in (200, 302)
    for a in Attachment.objects.order_by("-pk")[:2]:
        print("name", repr(a.name), a.blob.name)
        r = client.get(reverse("messaging:buyer_attachment", args=[consultation.pk, a.message_id, a.pk]))
        print(r.status_code, r["Content-Disposition"])


def test_reply_paths(setup, client, company_user, clock):
    m, _ = setup
    client.force_login(company_user.user)
    url = reverse("messaging:company_reply", args=[m.pk])
    r = client.post(url, {}, content_type="application/x-www-form-urlencoded")
    print("empty", r.status_code)
    assert r.status_code == 200
    r = client.post(url, "garbage", content_type="text/plain")
    print("text/plain", r.status_code)
    assert r.status_code == 200
    r = client.post(url, {"body": "ok", "files": [pdf("ok.pdf"), SimpleUploadedFile("bad.exe", b"MZ")]})
    assert r.status_code == 200
    r = client.post(url, {"body": "ok", "files": [pdf("ok.pdf")]})
    assert r.status_code == 302
    reply = Message.objects.filter(direction=Direction.TO_BUYER).get()
    r = client.post(reverse("messaging:company_reply", args=[reply.pk]), {"body": "ok"})
    print("reply to reply", r.status_code)
    assert r.status_code == 302
    assert Message.objects.filter(direction=Direction.TO_BUYER).count() == 1


def test_first_read_not_by_agent_or_other(setup, buyer, other_company_user, company_user, clock):
    m, _ = setup
    assert not message_read(user=buyer.user, message=m)
    assert not message_read(user=other_company_user.user, message=m)
    assert message_read(user=company_user.user, message=m)
    first = Message.objects.get(pk=m.pk).first_read_at
    clock.advance(hours=1)
    colleague = CompanyUserFactory(company=company_user.company)
    assert not message_read(user=colleague.user, message=m)
    assert Message.objects.get(pk=m.pk).first_read_at == first


def test_late_at_due(setup, buyer, consultation, company_user, clock):
    from datetime import timedelta
    (m,) = message_send(user=buyer.user, consultation=consultation, companies=[company_user.company],
                        kind=Kind.DOCUMENTS_REQUEST, subject="S", body="b", answer_due_at=clock() + timedelta(hours=1))
    clock.advance(hours=1)
    r = message_reply(user=company_user.user, message=m, body="x")
    assert r.is_late


def test_reply_to_archived_or_other(setup, buyer, consultation, company_user):
    pass


def test_email_no_content(setup):
    for e in mail.outbox:
        assert "secret body" not in e.body and "secret" not in e.subject
    print(len(mail.outbox))


def test_decision_kind_by_plain_agent(setup, client, consultation, company_user):
    plain = AgentFactory(organisation=consultation.organisation)
    client.force_login(plain.user)
    r = client.post(reverse("messaging:buyer_compose", args=[consultation.pk]), base_post(company_user.company, kind="award"))
    print("plain award", r.status_code)
    assert r.status_code == 200


def test_queries_inbox(setup, client, buyer, consultation, company_user, django_assert_max_num_queries):
    for i in range(5):
        message_send(user=buyer.user, consultation=consultation, companies=[company_user.company],
                     kind=Kind.FREE, subject=f"S{i}", body="b")
    client.force_login(buyer.user)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    for url in [reverse("messaging:buyer_inbox", args=[consultation.pk]), reverse("messaging:buyer_thread", args=[consultation.pk, setup[0].thread_id]),
                reverse("messaging:buyer_inbox", args=[consultation.pk]) + "?etat=overdue"]:
        with CaptureQueriesContext(connection) as q:
            client.get(url)
        print(url, len(q))
    client.force_login(company_user.user)
    for url in [reverse("messaging:company_inbox"), reverse("messaging:company_thread", args=[setup[0].thread_id])]:
        with CaptureQueriesContext(connection) as q:
            client.get(url)
        print(url, len(q))
