"""Review of issue 7 (contract signature, public page, trust store, opening check): the
defects found, each with the behaviour a user would notice."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from signatures.models import ContractParty
from signatures.services.contract import ContractError, contract_document, contract_signature_upload

from . import pki as test_pki
from .contracts import holder_signed_cades, signature_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("contract_trust", "fresh_throttle")]


def _bomb(size: int, name: str = "rien.bin") -> bytes:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(name, "w", force_zip64=True) as entry,
    ):
        chunk = b"\0" * (1024 * 1024)
        for _ in range(size // len(chunk)):
            entry.write(chunk)
    return buffer.getvalue()


def _zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("nested", [False, True])
def test_the_public_page_does_not_unpack_a_zip_bomb(client, monkeypatch, nested):
    from signatures import views

    monkeypatch.setattr(views, "VERIFY_ZIP_MAX_UNPACKED", 4 * 1024 * 1024)
    bomb = _bomb(8 * 1024 * 1024)
    if nested:
        # The outer archive declares little: the bomb is one level down.
        bomb = _zipped({"dossier.zip": bomb, "lisez-moi.txt": b"rien"})
    assert len(bomb) < 100_000

    response = client.post("/verifier-une-signature/", {"document": SimpleUploadedFile("offre.zip", bomb)})

    assert response.status_code == 400
    page = response.content.decode()
    assert "trop volumineuse une fois décompressée (plus de 4 Mio" in page
    assert "non signé" not in page


def test_the_public_page_does_not_list_a_zip_of_countless_files(client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for number in range(12_000):
            archive.writestr(str(number), b"")

    response = client.post(
        "/verifier-une-signature/", {"document": SimpleUploadedFile("offre.zip", buffer.getvalue())}
    )

    assert response.status_code == 400
    assert "ou de 10 000 fichiers" in response.content.decode()


def test_the_public_page_still_verifies_an_ordinary_zip(client, monkeypatch):
    from signatures import views

    monkeypatch.setattr(views, "VERIFY_ZIP_MAX_UNPACKED", 4 * 1024 * 1024)
    archive = _zipped({"offre.txt": b"x" * 1000, "interne.zip": _zipped({"a.txt": b"a"})})

    response = client.post("/verifier-une-signature/", {"document": SimpleUploadedFile("offre.zip", archive)})

    assert response.status_code == 200
    assert "Aucune signature électronique n&#x27;a été trouvée." in response.content.decode()


def test_the_opening_does_not_unpack_a_zip_bomb(settings):
    from deposits.services.signature_check import OpenedFile, envelope_reports

    settings.SIGNATURE_CHECK_MAX_BYTES = 2 * 1024 * 1024
    bomb = _zipped({"dossier.zip": _bomb(8 * 1024 * 1024)})
    files = [OpenedFile(key="bombe.zip", name="bombe.zip", size=len(bomb), read=lambda: bomb)]

    reports = envelope_reports(files, trust={"trust_roots": []})

    assert [r["reasons"] for r in reports["bombe.zip"]] == [
        ["Fichier trop volumineux pour la vérification automatique des signatures."]
    ]


def test_the_buyer_cannot_pass_off_the_holders_detached_signature_as_its_counter_signature(
    decision, company_user, buyer, pki
):
    document = contract_document(decision)
    holder_p7s = test_pki.cades(document, pki.signer, pki)
    holder = signature_upload(
        company_user.user, decision, ContractParty.HOLDER, "acte.pdf", document, "acte.pdf.p7s", holder_p7s
    )
    assert holder.verdict == "valid"

    with pytest.raises(ContractError, match="signature du titulaire") as refused:
        signature_upload(
            buyer.user, decision, ContractParty.BUYER, "acte.pdf", document, "contresignature.p7s", holder_p7s
        )

    assert refused.value.field == "detached"
    decision.refresh_from_db()
    assert decision.signed_at is None


def test_the_buyers_own_detached_counter_signature_is_accepted(decision, company_user, buyer, pki):
    document = contract_document(decision)
    holder_signed_cades(decision, company_user, pki, document)

    signature = contract_signature_upload(
        user=buyer.user,
        decision=decision,
        party=ContractParty.BUYER,
        file=SimpleUploadedFile("acte.pdf", document),
        # Not a CAdES by the same key: signed in the same second it would be the very same signature.
        detached=SimpleUploadedFile("contresignature.xml", test_pki.xades(document, "acte.pdf", pki.agent)),
    )

    assert signature.verdict == "valid"
    decision.refresh_from_db()
    assert decision.signed_at is not None
