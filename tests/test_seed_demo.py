import io

import pytest
from django.core.management import call_command
from django.forms.models import model_to_dict

from accounts.models import Agent, Company, CompanyUser, Organisation, Service, User
from tests.conftest import can_log_in

MODELS = [Organisation, Service, Agent, Company, CompanyUser, User]


def snapshot():
    return {
        model.__name__: sorted(
            (
                model_to_dict(obj, exclude=["password", "last_login", "user_permissions", "groups"])
                for obj in model.objects.all()
            ),
            key=repr,
        )
        for model in MODELS
    }


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_data_and_prints_the_logins():
    first_output = io.StringIO()
    call_command("seed_demo", stdout=first_output)
    first = snapshot()
    User.objects.filter(email="acheteur@demoville.fr").update(first_name="Modifié")
    call_command("seed_demo", stdout=io.StringIO())
    assert snapshot() == first

    # The demo buyer, and the platform's own organisation of the practice consultation
    organisation = Organisation.objects.get(siret="21359999600013")
    assert Organisation.objects.count() == 2
    assert organisation.name == "Commune de Démoville"
    assert organisation.agents.filter(can_validate=True).count() == 1
    assert organisation.agents.filter(can_create=True).count() == 1
    assert Company.objects.count() == 2 and all(c.users.count() == 1 for c in Company.objects.all())

    # The demo consultations are online, once each, found in the notices
    from consultations.models import Consultation, State

    assert Consultation.objects.filter(is_practice=True).count() == 1
    assert sorted(Consultation.objects.filter(is_practice=False).values_list("reference", "state")) == [
        ("DEMO-2026-001", State.ONLINE),
        ("DEMO-2026-002", State.ONLINE),
        ("DEMO-2026-003", State.ONLINE),
    ]
    assert Consultation.objects.get(reference="DEMO-2026-001").lots.count() == 2

    # One demo exchange: a request for documents to Armor Bâtiment, awaiting its answer
    from messaging.models import Kind, Message

    (message,) = Message.objects.all()
    assert message.kind == Kind.DOCUMENTS_REQUEST and message.answer_due_at is not None
    assert message.thread.company.name == "Armor Bâtiment"
    assert "DEMO-2026-001" in message.subject and "responsabilité civile décennale" in message.body

    printed = first_output.getvalue()
    for email, password in [
        ("acheteur@demoville.fr", "Demoville-Acheteur-2026"),
        ("valideur@demoville.fr", "Demoville-Valideur-2026"),
        ("contact@armor-batiment.fr", "Armor-Batiment-2026"),
        ("contact@numerique-conseil.fr", "Numerique-Conseil-2026"),
    ]:
        assert email in printed and password in printed
        assert can_log_in(email, password)
