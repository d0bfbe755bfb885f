"""The platform's practice consultation (« consultation de test »).

Any company may deposit to it at any time to try its workstation: the same page, the same
resumable upload, the same encryption and the same receipt, marked as a test. It belongs
to an organisation of its own, is online with no deadline, and is encrypted to a key
whose private half was thrown away at once: nobody can ever open what is deposited there.
It never appears in the public list of consultations.
"""

import secrets

from django.db import transaction

from audit.services import event_record
from config import clock
from consultations.models import (
    Category,
    Consultation,
    ContractType,
    ElectronicResponse,
    EnvelopeKind,
    ProcedureType,
    RequestedDocument,
    State,
)
from deposits.models import KeyOrigin

ORGANISATION = {
    # A SIRET whose keys are right and that no real establishment holds (SIREN 999 999 998).
    "siret": "99999999800019",
    "name": "Plateforme — consultation de test",
    "street": "Consultation de test de la plateforme",
    "postal_code": "75001",
    "city": "Paris",
    "department_code": "75",
}
OWNER_EMAIL = "consultation-de-test@plateforme.invalid"
REFERENCE = "TEST-DEPOT"
KEY_LABEL = "Clé de la consultation de test (clé privée détruite)"
REQUESTED_DOCUMENTS = [
    (EnvelopeKind.CANDIDATURE, "DC1 – Lettre de candidature"),
    (EnvelopeKind.CANDIDATURE, "DUME"),
    (EnvelopeKind.OFFER, "Acte d'engagement"),
    (EnvelopeKind.OFFER, "Mémoire technique"),
]


def practice_consultation() -> Consultation | None:
    return Consultation.objects.filter(is_practice=True).select_related("organisation").first()


def _owner():
    from accounts.models import User

    user, created = User.objects.get_or_create(
        email=OWNER_EMAIL,
        defaults={"first_name": "Plateforme", "last_name": "Consultation de test", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _key_ensure(consultation: Consultation, owner) -> None:
    from deposits.services.keys import _key_create, _key_pair_make

    if consultation.opening_keys.active().exists():
        return
    now = clock.now()
    # The PKCS#12 (and the private key in it) is dropped here: deposits stay sealed for ever.
    certificate, _pkcs12 = _key_pair_make(
        common_name=f"Consultation de test - {REFERENCE}",
        organisation_name=ORGANISATION["name"],
        password=secrets.token_urlsafe(32),
        now=now,
    )
    del _pkcs12
    _key_create(
        organisation=consultation.organisation,
        consultation=consultation,
        certificate=certificate,
        public_key=certificate.public_key(),
        label=KEY_LABEL,
        origin=KeyOrigin.GENERATED,
        user=owner,
        now=now,
    )


@transaction.atomic
def practice_consultation_ensure() -> Consultation:
    """The practice consultation, created on first call; later calls change nothing
    (a key is added back only if none is active)."""
    from accounts.models import Organisation

    organisation, _created = Organisation.objects.get_or_create(
        siret=ORGANISATION["siret"], defaults=ORGANISATION
    )
    owner = _owner()
    consultation = Consultation.objects.select_for_update().filter(is_practice=True).first()
    if consultation is None:
        now = clock.now()
        consultation = Consultation.objects.create(
            organisation=organisation,
            created_by=owner,
            state=State.ONLINE,
            contract_type=ContractType.CONTRACT,
            procedure_type=ProcedureType.ADAPTED_UNDER_40K,
            identification_locked=True,
            category=Category.SERVICES,
            reference=REFERENCE,
            title="Consultation de test — s'entraîner au dépôt d'un pli",
            object=(
                "Consultation fictive de la plateforme, ouverte en permanence : déposez-y un pli pour "
                "essayer votre poste de travail (envoi des fichiers, chiffrement, accusé de réception). "
                "Aucun acheteur ne reçoit ni n'ouvre ces plis."
            ),
            variants_allowed=True,
            electronic_response=ElectronicResponse.MANDATORY,
            encrypted=True,
            published_at=now,
            validated_at=now,
            is_practice=True,
        )
        RequestedDocument.objects.bulk_create(
            RequestedDocument(consultation=consultation, envelope=envelope, label=label, position=position)
            for position, (envelope, label) in enumerate(REQUESTED_DOCUMENTS, start=1)
        )
        event_record(
            action="deposit.practice_consultation_created",
            target=consultation,
            data={"reference": REFERENCE},
        )
    _key_ensure(consultation, owner)
    return consultation
