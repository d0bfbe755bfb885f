"""The signatures of the deposited files, verified at the opening, in the system Chromium.

A company deposits, from its browser, an acte d'engagement signed in PAdES by Jeanne Dupont
(a valid signer of the test PKI), a memoir with its detached CAdES « .p7s » made by Rémi
Révoqué (revoked in 2024) and an unsigned file. The test PKI's root is in the platform's
trust store, and its CRLs are published by a real HTTP server on 127.0.0.1 that the platform
fetches (``SIGNATURE_REVOCATION_FETCH``). After the deadline the agent opens the responses
and reads, beside each file, the verdict and its report; the PV d'ouverture says the same.
"""

import concurrent.futures
import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from consultations.models import OpeningMode
from deposits.models import Deposit, DepositStatus, Opening
from signatures.models import CertificateCategory
from signatures.trust import certificate_add
from tests.browser.test_accessibility import assert_no_violation
from tests.browser.test_consultation_flow import log_in
from tests.browser.test_deposit_opening_flow import log_in_with_code, put_online
from tests.deposits.test_opening import P12_PASSWORD, consultation_p12
from tests.factories import AgentFactory, CompanyUserFactory, ConsultationFactory, OrganisationFactory
from tests.pdf import pdf_text
from tests.signatures import pki as test_pki

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTE = "Acte d'engagement signé.pdf"
MEMOIRE = "Mémoire technique.pdf"
JETON = "Mémoire technique.pdf.p7s"
KBIS = "Extrait Kbis.pdf"


# --- The test PKI, its CRLs published on 127.0.0.1 -----------------------------------------------


class CrlPoint:
    """A real HTTP server on 127.0.0.1 publishing CRLs (the « distribution points »)."""

    def __init__(self):
        files = self.files = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{name}"

    def publish(self, name: str, crl: x509.CertificateRevocationList):
        self.files[f"/{name}"] = crl.public_bytes(serialization.Encoding.DER)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@dataclass
class LocalPki:
    """The test PKI's authorities and signers (tests/signatures/pki.py), with CRL points the
    platform can reach; ``tsa`` is what ``test_pki.pades``/``cades`` timestamp with."""

    root: test_pki.Identity
    intermediate: test_pki.Identity
    signer: test_pki.Identity
    revoked: test_pki.Identity
    tsa: test_pki.Identity


@pytest.fixture
def pki():
    point = CrlPoint()
    try:
        root = test_pki.issue("Racine de test", organisation="Autorité de test", ca=True)
        intermediate = test_pki.issue(
            "AC Entreprises de test",
            issuer=root,
            organisation="Autorité de test",
            ca=True,
            crl_url=point.url("racine.crl"),
        )
        signer = test_pki.issue(
            "Jeanne Dupont",
            issuer=intermediate,
            organisation="Dupont BTP",
            policies=[test_pki.QCP_N_QSCD],
            qualified=True,
            crl_url=point.url("ac-entreprises.crl"),
        )
        revoked = test_pki.issue(
            "Rémi Révoqué",
            issuer=intermediate,
            organisation="Révocable SA",
            crl_url=point.url("ac-entreprises.crl"),
        )
        tsa = test_pki.issue(
            "Horodatage de test", issuer=intermediate, organisation="Autorité de test", time_stamping=True
        )
        point.publish("racine.crl", test_pki.crl(root))
        point.publish(
            "ac-entreprises.crl", test_pki.crl(intermediate, [(revoked.certificate, test_pki.REVOKED_ON)])
        )
        yield LocalPki(root, intermediate, signer, revoked, tsa)
    finally:
        point.close()


@pytest.fixture
def trusted(pki, settings):
    """The test root in the platform's trust store, revocation fetched from the CRL points."""
    certificate_add(
        pki.root.certificate.public_bytes(serialization.Encoding.PEM),
        name="Racine de test",
        category=CertificateCategory.ROOT,
    )
    settings.SIGNATURE_REVOCATION_FETCH = True


def signed_files(pki) -> dict[str, bytes]:
    """What the company's own signing tool made. pyHanko runs its own event loop, outside
    Playwright's (as in test_contract_flow)."""

    def make():
        memoire = test_pki.a_pdf("Mémoire technique — Dupont BTP")
        return {
            ACTE: test_pki.pades(test_pki.a_pdf("Acte d'engagement — Dupont BTP"), pki.signer, pki),
            MEMOIRE: memoire,
            JETON: test_pki.cades(memoire, pki.revoked, pki),
            KBIS: test_pki.a_pdf("Extrait Kbis — Dupont BTP"),
        }

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(make).result()


# --- The company's part -------------------------------------------------------------------------


def company_deposits(page, consultation, company_user, files: dict[str, bytes], folder: Path) -> Deposit:
    """The signed acte as the requested document, the other files as free files of the same
    envelope (a detached signature is paired with its file inside one envelope)."""
    folder.mkdir()
    paths = {}
    for name, content in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(content)
    log_in(page, company_user.user.email)
    page.goto(f"/consultations/{consultation.pk}/")
    page.get_by_role("main").get_by_role("button", name="Répondre à la consultation").click()
    expect(page.get_by_role("heading", name="Répondre à la consultation", level=1)).to_be_visible()
    page.get_by_label("Acte d'engagement", exact=True).set_input_files(str(paths[ACTE]))
    page.get_by_label("Autres fichiers (facultatif)").last.set_input_files(
        [str(paths[name]) for name in (MEMOIRE, JETON, KBIS)]
    )
    expect(page.locator("#overall-status")).to_have_text("4 fichiers sur 4 envoyés", timeout=30_000)
    page.get_by_label("J'ai lu et j'accepte les conditions d'utilisation").check()
    page.get_by_role("button", name="Valider", exact=True).click()
    expect(page.get_by_text("Votre dépôt a bien été reçu le")).to_be_visible()
    return Deposit.objects.get(consultation=consultation, company=company_user.company)


# --- What the agent sees ------------------------------------------------------------------------


def file_item(register, name: str):
    """The list item of one opened file, inside its envelope's item."""
    return (
        register.get_by_role("listitem")
        .get_by_role("listitem")
        .filter(has=register.page.get_by_role("link", name=name, exact=True))
    )


def verdict_badge(item):
    """The file's overall verdict, written out beside « Signature : »."""
    return item.locator(".file-signatures > .state-badge")


def open_report(item, name: str):
    """Unfold the file's verification report (a <details>) and return its body."""
    item.get_by_text(f"Rapport de vérification de la signature — {name}", exact=True).click()
    report = item.locator(".signature-report")
    expect(report).to_be_visible()
    return report


def fact(report, value):
    """A value of the report's facts (« Révocation : non révoqué »…), visible or not."""
    return report.locator("dd").filter(
        has_text=value if isinstance(value, re.Pattern) else re.compile(f"^{value}$")
    )


def squashed(text: str) -> str:
    """Without any white space: a PDF's text breaks its lines where the layout did."""
    return "".join(text.split())


def test_the_agent_reads_each_files_signature_verdict_at_the_opening_and_in_the_pv(
    page, browser, live_server, clock, tmp_path, pki, trusted
):
    files = signed_files(pki)
    # The platform's clock starts at the real time: the test PKI signs and timestamps now.
    clock.set(timezone.now().replace(microsecond=0))
    organisation = OrganisationFactory(name="Commune de Signac")
    agent = AgentFactory(
        organisation=organisation, can_create=True, can_open=True, user__email="ouverture@signac.fr"
    )
    device = TOTPDevice.objects.create(user=agent.user, name="Application", confirmed=True)
    company_user = CompanyUserFactory(company__name="Dupont BTP", user__email="offres@dupont-btp.fr")
    consultation = ConsultationFactory(
        organisation=organisation,
        created_by=agent.user,
        reference="SIG-2026-01",
        title="Réfection de la salle des fêtes",
        opening_mode=OpeningMode.BY_RESPONSE,
        deadline=clock() + timedelta(days=10),
    )
    put_online(consultation, published_at=clock() - timedelta(hours=1))
    key_file = tmp_path / "cle-de-la-consultation.p12"
    key_file.write_bytes(consultation_p12())

    # GIVEN a company that deposits, from its own browser, a PAdES-signed acte d'engagement,
    # a memoir with a detached CAdES signature by a revoked signer, and an unsigned file
    company_context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    try:
        deposit = company_deposits(
            company_context.new_page(), consultation, company_user, files, tmp_path / "offre"
        )
    finally:
        company_context.close()
    assert deposit.status == DepositStatus.ON_TIME

    # WHEN the deadline passes and the agent, with its one-time code, opens the responses
    clock.set(consultation.deadline + timedelta(seconds=1))
    log_in_with_code(page, agent.user.email, device)
    page.goto(f"/acheteur/consultations/{consultation.pk}/plis/")
    opening_form = page.get_by_role("form", name="Ouvrir les réponses")
    opening_form.get_by_label("Fichier de clé privée (.p12 ou .pfx)").set_input_files(str(key_file))
    opening_form.get_by_label("Mot de passe du fichier de clé").fill(P12_PASSWORD)
    opening_form.get_by_role("button", name="Ouvrir les réponses").click()
    expect(page.get_by_text("4 fichiers déchiffrés et vérifiés")).to_be_visible()
    assert Opening.objects.filter(consultation=consultation).count() == 1
    register = page.get_by_role("region", name="Plis reçus, dans l'ordre de réception (heure de Paris)")

    # THEN beside the acte d'engagement: « valide », signed by Jeanne Dupont, not revoked
    acte = file_item(register, ACTE)
    expect(acte).to_contain_text("Intègre")
    expect(verdict_badge(acte)).to_have_text("valide")
    report = open_report(acte, ACTE)
    expect(report.locator(".state-badge")).to_have_text("valide")
    expect(report).to_contain_text(re.compile(r"Jeanne Dupont \(Dupont BTP\), signé le \d\d/\d\d/\d{4} à"))
    expect(report).to_contain_text("Signature valide de Jeanne Dupont : document intègre")
    expect(fact(report, "non révoqué")).to_have_count(1)

    # AND beside the memoir and its .p7s: « invalide », because Rémi Révoqué was revoked
    revoked_reason = re.compile(
        r"Le certificat « Rémi Révoqué » a été révoqué le 01/01/2024 à .*, avant la signature"
    )
    for name, about in ((MEMOIRE, ""), (JETON, f"fichier « {MEMOIRE} »")):
        item = file_item(register, name)
        expect(item).to_contain_text("Intègre")
        expect(verdict_badge(item)).to_have_text("invalide")
        report = open_report(item, name)
        expect(report.locator(".state-badge")).to_have_text("invalide")
        expect(report).to_contain_text(f"{about} — Rémi Révoqué (Révocable SA)" if about else "Rémi Révoqué")
        expect(report.get_by_role("listitem").filter(has_text=revoked_reason)).to_be_visible()
        expect(fact(report, re.compile("^révoqué le 01/01/2024 à"))).to_have_count(1)
    # The memoir itself is not said signed by anyone else
    expect(file_item(register, MEMOIRE)).not_to_contain_text("Jeanne Dupont")

    # AND beside the unsigned file: « non signé », and no report to unfold
    kbis = file_item(register, KBIS)
    expect(kbis).to_contain_text("Intègre")
    expect(verdict_badge(kbis)).to_have_text("non signé")
    expect(kbis.locator("details")).to_have_count(0)

    # AND the page, reports unfolded, has no accessibility violation
    assert_no_violation(page)

    # AND the PV d'ouverture, downloaded from the page, says each file's verdict
    with page.expect_download() as minutes_download:
        page.get_by_role("link", name=re.compile("^PV d'ouverture \\(PDF\\)")).click()
    minutes = Path(minutes_download.value.path()).read_bytes()
    assert minutes.startswith(b"%PDF")
    text = squashed(pdf_text(minutes))
    assert squashed("Signature PAdES : valide — Jeanne Dupont (Dupont BTP), signé le") in text
    assert squashed("Signature CAdES : invalide — Rémi Révoqué (Révocable SA), signé le") in text
    assert squashed(f"Fichier « {MEMOIRE} » : Signature CAdES : invalide — Rémi Révoqué") in text
    assert squashed("Le certificat « Rémi Révoqué » a été révoqué le 01/01/2024") in text
    assert squashed("Signature : aucune (fichier non signé)") in text

    # AND every fact of the unfolded reports can be read on the page: inside the register's
    # narrow « Enveloppes et fichiers » cell the labels' column must leave the values room
    # (a max-content labels' column once left them 0 px wide, one letter per line; axe does
    # not see that).
    squeezed = register.locator(".signature-report dl.facts dd").evaluate_all(
        "values => values.filter(v => v.getBoundingClientRect().width < 80)"
        ".map(v => v.previousElementSibling.textContent.trim())"
    )
    assert squeezed == [], f"facts whose value is squeezed: {sorted(set(squeezed))}"
    expect(acte.get_by_text("non révoqué", exact=True)).to_be_visible()
