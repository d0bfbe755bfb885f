"""Rotation of the platform's seal: what the old certificate sealed still verifies, a
retired certificate's later seals do not, and an expired one is judged at its timestamp."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from signatures import platform
from signatures.models import PlatformSealCertificate
from signatures.platform_history import fingerprint
from tests.signatures.test_platform import a_pdf, make_certificate, seal_configure

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_pki(settings, tmp_path):
    settings.PLATFORM_PKI_DIR = tmp_path / "platform-pki"
    return settings.PLATFORM_PKI_DIR


def test_after_a_rotation_old_and_new_seals_both_verify(fresh_pki, clock):
    # GIVEN a receipt and a manifest timestamp made with the first embedded PKI
    before = platform.pdf_seal(a_pdf("Accusé 1"), reason="Accusé de réception")
    token = platform.timestamp_token(b"manifeste 1")
    [first_root] = platform.trust_roots()
    # WHEN the administrator rotates the platform's seal
    clock.advance(days=1)
    call_command("platform_seal_rotate", verbosity=0)
    after = platform.pdf_seal(a_pdf("Accusé 2"), reason="Accusé de réception")
    # THEN the new receipt is sealed by a new certificate under a new root
    old_check, new_check = platform.pdf_check(before), platform.pdf_check(after)
    assert new_check.valid, new_check.message
    roots = platform.trust_roots()
    assert len(roots) == 2 and first_root in roots
    # AND what the old certificate sealed still verifies, as does its timestamp
    assert old_check.valid, old_check.message
    assert platform.timestamp_covers(token, b"manifeste 1")
    # AND the old keys are gone, the old certificates kept aside
    [retired] = (fresh_pki / "retired").iterdir()
    assert sorted(p.name for p in retired.iterdir()) == ["root.pem", "seal.pem", "tsa.pem"]
    history = list(PlatformSealCertificate.objects.order_by("first_used_at"))
    assert len(history) == 2
    assert history[0].retired_at is not None and history[1].retired_at is None


def test_a_seal_made_with_a_retired_certificate_after_its_retirement_is_not_recognised(fresh_pki, clock):
    old_identity = platform._identity()
    platform.pdf_seal(a_pdf(), reason="Accusé de réception")
    call_command("platform_seal_rotate", verbosity=0)
    # GIVEN someone who kept the old key seals a document after the retirement
    clock.advance(hours=1)
    forged = platform._pdf_seal_with(old_identity, a_pdf("Faux"), reason="Accusé", field_name="Sceau")
    # THEN the check refuses it, and says why
    result = platform.pdf_check(forged)
    assert not result.authentic
    assert "retiré" in result.message


def test_the_retire_command_stops_sealing_with_that_certificate(fresh_pki, clock):
    platform.pdf_seal(a_pdf(), reason="Accusé de réception")
    [row] = PlatformSealCertificate.objects.all()
    call_command("platform_seal_retire", row.fingerprint_sha256[:20], verbosity=0)
    with pytest.raises(ImproperlyConfigured, match="retiré"):
        platform.pdf_seal(a_pdf(), reason="Accusé de réception")


def test_the_retire_command_says_when_the_fingerprint_is_unknown(fresh_pki, clock):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Aucun certificat"):
        call_command("platform_seal_retire", "0" * 20, verbosity=0)


def short_lived_seal(settings, tmp_path, clock):
    """The platform seals with a production certificate valid one more day (timestamps by
    the embedded authority); returns that certificate."""
    root_key, root = make_certificate("Autorité de certification de test", ca=True)
    seal_key, seal = make_certificate(
        "Cachet de courte durée", issuer=(root_key, root), not_after=clock() + timedelta(days=1)
    )
    seal_configure(settings, tmp_path / "cachet.p12", seal_key, seal, [root])
    return seal


def test_a_seal_whose_certificate_has_since_expired_verifies_at_its_timestamp(
    fresh_pki, settings, tmp_path, clock
):
    # GIVEN a production seal certificate valid one more day, timestamps by the embedded authority
    seal = short_lived_seal(settings, tmp_path, clock)
    sealed = platform.pdf_seal(a_pdf(), reason="Accusé de réception")
    # WHEN the certificate has expired
    clock.advance(days=30)
    result = platform.pdf_check(sealed)
    # THEN the receipt still verifies: the timestamp proves it was sealed while valid
    assert result.valid, result.message
    assert result.signer == "Cachet de courte durée"
    assert fingerprint(seal) in set(
        PlatformSealCertificate.objects.values_list("fingerprint_sha256", flat=True)
    )


def test_rotation_is_refused_when_production_configures_the_seal(settings, tmp_path, clock):
    from django.core.management.base import CommandError

    settings.PLATFORM_SEAL_PKCS12 = str(tmp_path / "cachet.p12")
    settings.TIMESTAMP_URL = "https://horodatage.example/tsa"
    with pytest.raises(CommandError, match="PLATFORM_SEAL_PKCS12"):
        call_command("platform_seal_rotate", verbosity=0)
