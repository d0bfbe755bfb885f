"""Opening keys (« bi-clé de chiffrement »): generated here and handed over once as a
PKCS#12 file, or imported as a certificate; the organisation's backup key; withdrawn
only before publication; and no encrypted consultation goes online without one."""

import base64
import io
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from audit.models import Event
from consultations.errors import ConsultationError
from consultations.models import Consultation, State
from consultations.services.lifecycle import (
    consultation_approve,
    consultation_missing_data,
    consultation_publish,
    consultation_validation_request,
)
from deposits.models import KeyOrigin, OpeningKey
from deposits.selectors import opening_keys_for
from deposits.services.keys import (
    OpeningKeyError,
    backup_key_generate,
    backup_key_import,
    key_fingerprint,
    opening_key_generate,
    opening_key_import,
    opening_key_revoke,
)
from tests.factories import T0, AgentFactory, ConsultationFactory, consultation_online

KEY_PASSWORD = "Un mot de passe solide 2026"
MISSING_KEY = (
    "Chiffrement : générez ou importez au moins une clé de chiffrement (bi-clé) pour ouvrir les plis."
)
WARNING = (
    "Le fichier de clé privée ne sera proposé qu'une seule fois : conservez-le, avec son mot de passe, "
    "en lieu sûr. Sans lui, les plis ne pourront pas être ouverts."
)

# --- Certificates made by the tests ------------------------------------------------------

_keys: dict = {}


def _private_key(kind: str):
    """One key per kind for the module: RSA generation is slow."""
    if kind not in _keys:
        if kind == "ec":
            _keys[kind] = ec.generate_private_key(ec.SECP256R1())
        else:
            _keys[kind] = rsa.generate_private_key(public_exponent=65537, key_size=int(kind))
    return _keys[kind]


def certificate_of(kind: str = "3072", *, not_before=T0 - timedelta(days=1), days: int = 3 * 365):
    key = _private_key(kind)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Certificat {kind}")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def pem(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def der(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


# --- Fixtures ----------------------------------------------------------------------------


@pytest.fixture
def consultation(buyer, clock):
    """A draft, complete but for its opening key."""
    return ConsultationFactory(
        organisation=buyer.organisation, created_by=buyer.user, reference="2026/CLE-01", opening_key=False
    )


@pytest.fixture
def agent_client(client, buyer):
    client.force_login(buyer.user)
    return client


def keys_url(consultation) -> str:
    return reverse("deposits:buyer_keys", args=[consultation.pk])


def generate_url(consultation) -> str:
    return reverse("deposits:buyer_key_generate", args=[consultation.pk])


def import_url(consultation) -> str:
    return reverse("deposits:buyer_key_import", args=[consultation.pk])


def generate_data(label="Clé de Mme Le Gall", password=KEY_PASSWORD, confirm=None) -> dict:
    return {
        "generer-label": label,
        "generer-password": password,
        "generer-password_confirm": password if confirm is None else confirm,
    }


def text_of(response) -> str:
    from html import unescape

    return unescape(response.content.decode())


# --- Generating ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_generating_a_key_answers_once_with_a_pkcs12_that_opens_with_the_password(agent_client, consultation):
    # WHEN the agent generates a key pair for the consultation
    response = agent_client.post(generate_url(consultation), generate_data())

    # THEN the answer is the PKCS#12 file itself, never cached
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pkcs12"
    assert "no-store" in response["Cache-Control"]
    key = OpeningKey.objects.get(consultation=consultation)
    assert f'filename="cle-2026-CLE-01-{key.fingerprint[:8]}.p12"' in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")

    # AND it opens with the password, holding the private key of the stored certificate
    private_key, certificate, _others = pkcs12.load_key_and_certificates(
        response.content, KEY_PASSWORD.encode()
    )
    stored = x509.load_pem_x509_certificate(key.certificate_pem.encode())
    assert certificate == stored
    assert key_fingerprint(private_key.public_key()) == key.fingerprint
    assert private_key.public_key().public_numbers() == stored.public_key().public_numbers()
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(response.content, b"pas le bon mot de passe")

    # AND the certificate says what it is: RSA 3072, the label and the reference, 5 years from now
    assert (key.key_size, key.origin, key.is_backup, key.created_by) == (
        3072,
        KeyOrigin.GENERATED,
        False,
        consultation.created_by,
    )
    common_name = stored.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert "Clé de Mme Le Gall" in common_name and "2026/CLE-01" in common_name
    organisation = stored.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert organisation == "Commune de Testville"
    assert stored.not_valid_before_utc == T0
    assert stored.not_valid_after_utc == T0.replace(year=T0.year + 5)
    assert (key.not_before, key.not_after) == (stored.not_valid_before_utc, stored.not_valid_after_utc)

    # AND the key is listed with its fingerprint by groups of four; no second download is offered
    page = text_of(agent_client.get(keys_url(consultation)))
    assert key.fingerprint_display in page and key.fingerprint_display.count(" ") == 15
    assert ".p12" not in page.split("Générer une bi-clé")[0]


@pytest.mark.django_db
def test_the_server_keeps_no_private_key_nor_the_pkcs12(agent_client, consultation, settings):
    # GIVEN a key generated through the page
    response = agent_client.post(generate_url(consultation), generate_data())
    p12 = response.content
    private_key, _certificate, _others = pkcs12.load_key_and_certificates(p12, KEY_PASSWORD.encode())
    secrets = [
        "PRIVATE KEY",
        base64.b64encode(p12[:48]).decode(),
        p12[:48].hex(),
        format(private_key.private_numbers().d, "x")[:64],
        str(private_key.private_numbers().d)[:64],
        KEY_PASSWORD,
    ]

    # THEN no column of the key's row, nor any audit event, holds any of it
    key = OpeningKey.objects.get(consultation=consultation)
    row = OpeningKey.objects.filter(pk=key.pk).values().get()
    for value in [*row.values(), *Event.objects.values_list("data", flat=True)]:
        text = str(value)
        assert not any(secret in text for secret in secrets), value
        if isinstance(value, bytes | memoryview):
            assert p12 not in bytes(value)
    assert "BEGIN CERTIFICATE" in row["certificate_pem"]

    # AND no stored file holds it (storage has the DCE only)
    for path in settings.MEDIA_ROOT.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert p12 not in content and b"PRIVATE KEY" not in content, path


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (generate_data(password="court2026"), "doit compter au moins 12 caractères"),
        (
            generate_data(confirm="Un autre mot de passe 2026"),
            "Les deux mots de passe ne sont pas identiques.",
        ),
        (generate_data(label="   "), "Ce champ est obligatoire."),
    ],
    ids=["weak-password", "mismatch", "no-label"],
)
def test_a_weak_or_mistyped_password_gives_no_key(agent_client, consultation, data, message):
    response = agent_client.post(generate_url(consultation), data)

    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert message in text_of(response)
    assert not OpeningKey.objects.exists()


@pytest.mark.django_db
def test_the_service_refuses_a_short_password(consultation, buyer):
    with pytest.raises(OpeningKeyError, match="au moins 12 caractères") as refused:
        opening_key_generate(consultation=consultation, user=buyer.user, password="x" * 11, label="Clé")
    assert refused.value.field == "password"
    assert not OpeningKey.objects.exists()


# --- Importing -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", [pem, der], ids=["PEM", "DER"])
def test_a_certificate_is_imported_in_pem_or_der(consultation, buyer, encoding):
    certificate = certificate_of("3072")

    key = opening_key_import(
        consultation=consultation, user=buyer.user, certificate=encoding(certificate), label="Carte agent"
    )

    assert key.origin == KeyOrigin.IMPORTED and key.key_size == 3072
    assert key.fingerprint == key_fingerprint(certificate.public_key())
    assert x509.load_pem_x509_certificate(key.certificate_pem.encode()) == certificate
    assert consultation_missing_data(consultation) == []


@pytest.mark.django_db
def test_a_certificate_is_imported_through_the_page(agent_client, consultation):
    upload = SimpleUploadedFile("agent.cer", der(certificate_of("4096")), "application/pkix-cert")

    response = agent_client.post(
        import_url(consultation),
        {"importer-label": "Clé du service", "importer-certificate": upload},
        follow=True,
    )

    assert "est enregistré comme clé de chiffrement de la consultation" in text_of(response)
    key = OpeningKey.objects.get(consultation=consultation)
    assert (key.label, key.key_size) == ("Clé du service", 4096)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda: b"", "est vide"),
        (lambda: b"ceci n'est pas un certificat", "n'est pas un certificat X.509 lisible"),
        (lambda: b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n", "n'est pas un certificat"),
        (lambda: pem(certificate_of("ec")), "courbe elliptique"),
        (lambda: der(certificate_of("2048")), "ne fait que 2048 bits : il en faut au moins 3072"),
        (
            lambda: pem(certificate_of("3072", not_before=T0 - timedelta(days=400), days=365)),
            "Ce certificat a expiré le",
        ),
        (lambda: pem(certificate_of("3072", days=20)), "avant la date limite de remise des plis"),
        (
            lambda: (
                pem(certificate_of("3072"))
                + _private_key("3072").private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            "Ce fichier contient une clé privée",
        ),
        (lambda: b"0" * (64 * 1024 + 1), "trop volumineux"),
    ],
    ids=[
        "empty",
        "garbage",
        "broken-pem",
        "ec",
        "rsa-2048",
        "expired",
        "expires-before-deadline",
        "private-key",
        "big",
    ],
)
def test_an_unfit_certificate_is_refused_in_french(agent_client, consultation, content, message):
    upload = SimpleUploadedFile("cle.pem", content(), "application/x-pem-file")

    response = agent_client.post(
        import_url(consultation), {"importer-label": "Clé", "importer-certificate": upload}
    )

    assert response.status_code == 200
    assert message in text_of(response)
    assert not OpeningKey.objects.exists()


@pytest.mark.django_db
def test_the_service_says_why_a_certificate_is_unfit(consultation, buyer):
    cases = {
        b"garbage": "n'est pas un certificat X.509",
        pem(certificate_of("ec")): "courbe elliptique",
        der(certificate_of("2048")): "2048 bits",
        pem(certificate_of("3072", not_before=T0 - timedelta(days=400), days=365)): "a expiré",
    }
    for content, message in cases.items():
        with pytest.raises(OpeningKeyError, match=message):
            opening_key_import(consultation=consultation, user=buyer.user, certificate=content, label="Clé")
    assert not OpeningKey.objects.exists()


@pytest.mark.django_db
def test_the_same_certificate_is_not_imported_twice(consultation, buyer):
    certificate = pem(certificate_of("3072"))
    opening_key_import(consultation=consultation, user=buyer.user, certificate=certificate, label="Une")

    with pytest.raises(OpeningKeyError, match="déjà une clé de chiffrement de cette consultation"):
        opening_key_import(consultation=consultation, user=buyer.user, certificate=certificate, label="Deux")


# --- Who may do what -----------------------------------------------------------------------


def _all_urls(consultation, key) -> list[tuple[str, str, dict]]:
    return [
        ("get", keys_url(consultation), {}),
        ("post", generate_url(consultation), generate_data()),
        ("post", import_url(consultation), {"importer-label": "Clé"}),
        ("get", reverse("deposits:buyer_key_revoke", args=[consultation.pk, key.pk]), {}),
        ("post", reverse("deposits:buyer_key_revoke", args=[consultation.pk, key.pk]), {}),
    ]


@pytest.mark.django_db
def test_an_agent_of_another_organisation_gets_404_everywhere(
    client, consultation, buyer, other_organisation
):
    key = opening_key_import(
        consultation=consultation, user=buyer.user, certificate=pem(certificate_of()), label="Clé"
    )
    stranger = AgentFactory(organisation=other_organisation, can_create=True, can_administer=True)
    client.force_login(stranger.user)

    for method, url, data in _all_urls(consultation, key):
        assert getattr(client, method)(url, data).status_code == 404, url
    key.refresh_from_db()
    assert key.is_active and OpeningKey.objects.count() == 1


@pytest.mark.django_db
def test_an_agent_without_the_create_permission_reads_the_keys_but_changes_nothing(
    client, consultation, buyer, validator
):
    key = opening_key_import(
        consultation=consultation, user=buyer.user, certificate=pem(certificate_of()), label="Clé"
    )
    client.force_login(validator.user)

    page = client.get(keys_url(consultation))
    assert page.status_code == 200 and key.fingerprint_display in text_of(page)
    assert "Seul un agent habilité à créer des consultations" in text_of(page)
    assert "Générer une bi-clé" not in text_of(page)
    for method, url, data in _all_urls(consultation, key)[1:]:
        assert getattr(client, method)(url, data).status_code == 403, url
    key.refresh_from_db()
    assert key.is_active and OpeningKey.objects.count() == 1
    with pytest.raises(PermissionDenied):
        opening_key_generate(consultation=consultation, user=validator.user, password=KEY_PASSWORD, label="X")


@pytest.mark.django_db
def test_a_company_user_and_an_anonymous_visitor_get_nothing(client, consultation, company_user):
    assert client.get(keys_url(consultation)).status_code == 302
    client.force_login(company_user.user)
    assert client.get(keys_url(consultation)).status_code == 403
    assert client.post(generate_url(consultation), generate_data()).status_code == 403
    assert not OpeningKey.objects.exists()


# --- Withdrawing ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_key_is_withdrawn_before_publication_after_confirmation(agent_client, consultation, buyer):
    key = opening_key_import(
        consultation=consultation, user=buyer.user, certificate=pem(certificate_of()), label="Perdue"
    )
    url = reverse("deposits:buyer_key_revoke", args=[consultation.pk, key.pk])

    confirm = agent_client.get(url)
    assert "Confirmer le retrait de la clé" in text_of(confirm)
    key.refresh_from_db()
    assert key.is_active

    response = agent_client.post(url, follow=True)
    assert "La clé « Perdue » est retirée." in text_of(response)
    key.refresh_from_db()
    assert key.revoked_at == T0 and key.revoked_by == buyer.user
    assert opening_keys_for(consultation) == []
    assert MISSING_KEY in consultation_missing_data(consultation)
    # The same certificate may come back after a mistaken withdrawal.
    opening_key_import(
        consultation=consultation, user=buyer.user, certificate=pem(certificate_of()), label="Revenue"
    )


@pytest.mark.django_db
def test_keys_never_change_once_the_consultation_is_online(agent_client, buyer, clock):
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    (key,) = consultation.opening_keys.all()

    with pytest.raises(OpeningKeyError, match="ne changent plus une fois la consultation mise en ligne"):
        opening_key_revoke(key=key, user=buyer.user)
    response = agent_client.post(reverse("deposits:buyer_key_revoke", args=[consultation.pk, key.pk]))
    assert "ne changent plus" in text_of(response)
    with pytest.raises(OpeningKeyError, match="ne changent plus"):
        opening_key_import(
            consultation=consultation, user=buyer.user, certificate=pem(certificate_of()), label="Tardive"
        )
    response = agent_client.post(generate_url(consultation), generate_data())
    assert response["Content-Type"].startswith("text/html") and "ne changent plus" in text_of(response)

    key.refresh_from_db()
    assert key.is_active and consultation.opening_keys.count() == 1
    assert "Générer une bi-clé" not in text_of(agent_client.get(keys_url(consultation)))


@pytest.mark.django_db
def test_the_last_key_stays_once_validation_is_asked(consultation, buyer):
    key = opening_key_import(
        consultation=consultation, user=buyer.user, certificate=pem(certificate_of()), label="Seule"
    )
    consultation_validation_request(consultation=consultation, user=buyer.user)

    with pytest.raises(OpeningKeyError, match="dernière clé de chiffrement"):
        opening_key_revoke(key=key, user=buyer.user)

    # A second key may be added while validation is pending; then the first may go.
    second, _p12 = opening_key_generate(
        consultation=consultation, user=buyer.user, password=KEY_PASSWORD, label="Seconde"
    )
    opening_key_revoke(key=key, user=buyer.user)
    assert opening_keys_for(consultation) == [second]


# --- The rule: no encrypted consultation online without a key ------------------------------


@pytest.mark.django_db
def test_an_encrypted_consultation_without_key_cannot_be_sent_to_validation(
    agent_client, consultation, buyer
):
    assert consultation_missing_data(consultation) == [MISSING_KEY]

    with pytest.raises(ConsultationError) as refused:
        consultation_validation_request(consultation=consultation, user=buyer.user)
    assert refused.value.problems == [MISSING_KEY]

    page = agent_client.get(reverse("consultations:buyer_validation", args=[consultation.pk]))
    assert MISSING_KEY in text_of(page)
    consultation.refresh_from_db()
    assert consultation.state == State.DRAFT


@pytest.mark.django_db
def test_a_consultation_without_key_cannot_be_approved_either(consultation, validator):
    Consultation.objects.filter(pk=consultation.pk).update(state=State.PENDING_VALIDATION)
    consultation.refresh_from_db()

    with pytest.raises(ConsultationError) as refused:
        consultation_approve(consultation=consultation, user=validator.user)
    assert MISSING_KEY in refused.value.problems
    consultation.refresh_from_db()
    assert consultation.state == State.PENDING_VALIDATION and consultation.published_at is None


@pytest.mark.django_db
def test_the_backup_key_alone_is_not_enough_and_an_unencrypted_consultation_needs_none(consultation, buyer):
    backup_key_import(
        organisation=buyer.organisation, user=buyer.user, certificate=pem(certificate_of()), label="Secours"
    )
    assert consultation_missing_data(consultation) == [MISSING_KEY]

    consultation.encrypted = False
    assert consultation_missing_data(consultation) == []


@pytest.mark.django_db
def test_with_a_key_the_consultation_goes_online(consultation, buyer, validator):
    opening_key_generate(consultation=consultation, user=buyer.user, password=KEY_PASSWORD, label="Clé")

    consultation_validation_request(consultation=consultation, user=buyer.user)
    consultation_approve(consultation=consultation, user=validator.user)
    consultation_publish(consultation=consultation)

    consultation.refresh_from_db()
    assert consultation.state == State.ONLINE


# --- The organisation's backup key ---------------------------------------------------------


@pytest.mark.django_db
def test_the_backup_key_is_what_every_consultation_also_encrypts_to(consultation, buyer):
    own = opening_key_import(
        consultation=consultation, user=buyer.user, certificate=pem(certificate_of("3072")), label="Propre"
    )
    backup, p12 = backup_key_generate(
        organisation=buyer.organisation, user=buyer.user, password=KEY_PASSWORD, label="Coffre"
    )

    assert opening_keys_for(consultation) == [own, backup]
    assert backup.is_backup and backup.consultation is None and backup.organisation == buyer.organisation
    private_key, _certificate, _others = pkcs12.load_key_and_certificates(p12, KEY_PASSWORD.encode())
    assert key_fingerprint(private_key.public_key()) == backup.fingerprint
    # Another organisation's backup key is not one of them.
    other = ConsultationFactory(opening_key=False)
    assert backup not in opening_keys_for(other)
    # The backup certificate cannot also be a consultation key.
    with pytest.raises(OpeningKeyError, match="déjà la clé de secours"):
        opening_key_import(
            consultation=consultation,
            user=buyer.user,
            certificate=backup.certificate_pem.encode(),
            label="Doublon",
        )


@pytest.mark.django_db
def test_a_new_backup_key_replaces_the_previous_one(buyer, clock):
    first, _p12 = backup_key_generate(
        organisation=buyer.organisation, user=buyer.user, password=KEY_PASSWORD, label="Première"
    )
    clock.advance(days=1)
    second = backup_key_import(
        organisation=buyer.organisation,
        user=buyer.user,
        certificate=der(certificate_of("4096")),
        label="Seconde",
    )

    first.refresh_from_db()
    assert first.revoked_at == T0 + timedelta(days=1) and second.is_active
    assert list(OpeningKey.objects.backup().active()) == [second]
    assert list(
        Event.objects.filter(action="backup_key.revoked").values_list("data__replaced_by", flat=True)
    ) == [second.pk]


@pytest.mark.django_db
def test_the_database_allows_one_active_backup_key_per_organisation(buyer):
    first, _p12 = backup_key_generate(
        organisation=buyer.organisation, user=buyer.user, password=KEY_PASSWORD, label="Première"
    )
    copy = {
        field.attname: getattr(first, field.attname)
        for field in OpeningKey._meta.concrete_fields
        if field.name not in {"id", "fingerprint"}
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningKey.objects.create(**copy, fingerprint="0" * 64)
    # Nor a backup key tied to a consultation, nor a consultation key without one.
    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningKey.objects.create(**{**copy, "is_backup": False}, fingerprint="1" * 64)


@pytest.mark.django_db
def test_the_backup_key_page_is_for_administrators(client, buyer, validator, other_organisation):
    url = reverse("deposits:buyer_backup_key")
    client.force_login(validator.user)
    assert client.get(url).status_code == 403
    assert client.post(reverse("deposits:buyer_backup_key_generate"), generate_data()).status_code == 403

    client.force_login(buyer.user)
    response = client.post(reverse("deposits:buyer_backup_key_generate"), generate_data(label="Coffre"))
    assert response["Content-Type"] == "application/x-pkcs12"
    key = OpeningKey.objects.backup().get()
    assert f"cle-de-secours-{key.fingerprint[:8]}.p12" in response["Content-Disposition"]
    page = text_of(client.get(url))
    assert key.fingerprint_display in page and WARNING in page

    # Another organisation's administrator does not see it, nor can withdraw it.
    stranger = AgentFactory(organisation=other_organisation, can_administer=True)
    client.force_login(stranger.user)
    assert key.fingerprint_display not in text_of(client.get(url))
    assert client.post(reverse("deposits:buyer_backup_key_revoke", args=[key.pk])).status_code == 404
    key.refresh_from_db()
    assert key.is_active


# --- Pages and traces ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_keys_page_explains_and_lists(agent_client, consultation, buyer):
    opening_key_import(
        consultation=consultation,
        user=buyer.user,
        certificate=pem(certificate_of()),
        label="Carte de M. Kerouac",
    )
    backup_key_import(
        organisation=buyer.organisation,
        user=buyer.user,
        certificate=der(certificate_of("4096")),
        label="Coffre",
    )

    page = text_of(agent_client.get(keys_url(consultation)))

    assert WARNING in page
    assert f'<a href="{keys_url(consultation)}">affichez de nouveau la liste des clés</a>' in page
    assert "Carte de M. Kerouac" in page and "RSA 3072 bits" in page and "Certificat importé" in page
    assert "Clé de secours de l'organisme" in page and "Coffre" in page and "RSA 4096 bits" in page
    assert "Gérer la clé de secours de l'organisme" in page
    # Reachable from the Modalités tab and from « Mes actions »
    for url in (
        reverse("consultations:buyer_tab", args=[consultation.pk, "modalites"]),
        reverse("consultations:buyer_detail", args=[consultation.pk]),
    ):
        assert keys_url(consultation) in text_of(agent_client.get(url))


@pytest.mark.django_db
def test_every_change_is_in_the_audit_log_without_secret(consultation, buyer):
    key, _p12 = opening_key_generate(
        consultation=consultation, user=buyer.user, password=KEY_PASSWORD, label="Clé"
    )
    opening_key_revoke(key=key, user=buyer.user)

    events = list(Event.objects.filter(action__startswith="opening_key.").order_by("sequence"))
    assert [event.action for event in events] == ["opening_key.generated", "opening_key.revoked"]
    assert all(event.target_id == str(consultation.pk) and event.actor == buyer.user for event in events)
    assert events[0].data["fingerprint"] == key.fingerprint
    assert KEY_PASSWORD not in str(events[0].data)


@pytest.mark.django_db
def test_the_demo_consultations_each_have_their_key():
    call_command("seed_demo", stdout=(output := io.StringIO()))

    for consultation in Consultation.objects.all():
        (key,) = consultation.opening_keys.all()
        assert key.origin == KeyOrigin.GENERATED and key.is_active
    assert "PRIVATE" not in output.getvalue() and ".p12" not in output.getvalue()
