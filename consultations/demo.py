"""Demo consultations for `seed_demo`: created through the same services as a real
buyer's, so the newcomer sees them online, with their history, at once."""

import secrets
from datetime import datetime, time, timedelta

from django.core.files.base import ContentFile

from config import clock
from consultations.calendar import PARIS
from consultations.models import (
    Access,
    Category,
    Consultation,
    ContractType,
    EnvelopeKind,
    ProcedureType,
    RequestedDocument,
)
from consultations.services.dce import dce_file_add
from consultations.services.lifecycle import (
    consultation_approve,
    consultation_create,
    consultation_publish,
    consultation_validation_request,
)
from consultations.services.lots import lot_save
from deposits.services.keys import opening_key_generate


def _pdf(text: str) -> bytes:
    """A one-page PDF that any reader opens, without a PDF library."""
    stream = f"BT /F1 14 Tf 56 780 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


DEMO = [
    {
        "reference": "DEMO-2026-001",
        "title": "Réfection de la toiture de l'école Jules-Ferry",
        "object": "Travaux de couverture, d'étanchéité et de zinguerie de l'école élémentaire Jules-Ferry.",
        "category": Category.WORKS,
        "contract_type": ContractType.CONTRACT,
        "procedure_type": ProcedureType.ADAPTED_OVER_90K,
        "estimated_value": 360000,
        "cpv_code": "45261000-4",
        "place_of_execution": "Démoville (35)",
        "lots": [
            (1, "Couverture et zinguerie", "45261000-4"),
            (2, "Étanchéité des toitures-terrasses", "45261420-4"),
        ],
        "days": 30,
    },
    {
        "reference": "DEMO-2026-002",
        "title": "Élagage et entretien des arbres d'alignement",
        "object": "Élagage, abattage et entretien des arbres d'alignement, accord-cadre de 4 ans.",
        "category": Category.SERVICES,
        "contract_type": ContractType.FRAMEWORK,
        "procedure_type": ProcedureType.OPEN_TENDER,
        "estimated_value": 240000,
        "cpv_code": "77211400-6",
        "place_of_execution": "Démoville (35)",
        "lots": [],
        "days": 45,
    },
    {
        "reference": "DEMO-2026-003",
        "title": "Maintenance du parc informatique des écoles",
        "object": "Maintenance préventive et curative des ordinateurs et tablettes des écoles.",
        "category": Category.SERVICES,
        "contract_type": ContractType.CONTRACT,
        "procedure_type": ProcedureType.NEGOTIATED,
        "estimated_value": 80000,
        "cpv_code": "50312000-5",
        "place_of_execution": "Démoville (35)",
        "lots": [],
        "days": 20,
        "access": Access.RESTRICTED,
        "access_code": "DEMO7K4P",
    },
]


def demo_consultations_create(*, organisation, buyer, validator) -> list[Consultation]:
    """Create the demo consultations that do not exist yet, and put them online."""
    created = []
    today = clock.now().astimezone(PARIS).date()
    for spec in DEMO:
        if Consultation.objects.filter(organisation=organisation, reference=spec["reference"]).exists():
            continue
        deadline = datetime.combine(today + timedelta(days=spec["days"]), time(12, 0), tzinfo=PARIS)
        consultation = consultation_create(
            user=buyer,
            organisation=organisation,
            reference=spec["reference"],
            title=spec["title"],
            object=spec["object"],
            category=spec["category"],
            contract_type=spec["contract_type"],
            procedure_type=spec["procedure_type"],
            estimated_value=spec["estimated_value"],
            cpv_code=spec["cpv_code"],
            place_of_execution=spec["place_of_execution"],
            deadline=deadline,
            access=spec.get("access", Access.PUBLIC),
            access_code=spec.get("access_code", ""),
        )
        for number, title, cpv in spec["lots"]:
            lot_save(consultation=consultation, user=buyer, number=number, title=title, cpv_code=cpv)
        RequestedDocument.objects.create(
            consultation=consultation, envelope=EnvelopeKind.CANDIDATURE, label="DC1 – Lettre de candidature"
        )
        RequestedDocument.objects.create(
            consultation=consultation, envelope=EnvelopeKind.OFFER, label="Acte d'engagement"
        )
        for name, is_rules in (("Reglement_de_consultation.pdf", True), ("CCTP.pdf", False)):
            upload = ContentFile(_pdf(f"{spec['reference']} - {name}"), name=name)
            dce_file_add(consultation=consultation, user=buyer, uploaded=upload, is_rules=is_rules)
        # Its PKCS#12 is dropped at once, with a password nobody saw: the demo's bids stay sealed.
        opening_key_generate(
            consultation=consultation,
            user=buyer,
            password=secrets.token_urlsafe(24),
            label="Clé de démonstration",
        )
        consultation_validation_request(consultation=consultation, user=buyer)
        consultation_approve(
            consultation=consultation, user=validator, comment="Validé pour la démonstration."
        )
        # The ETA task would do it after commit; the newcomer should not depend on a worker.
        consultation_publish(consultation=consultation)
        consultation.refresh_from_db()
        created.append(consultation)
    return created
