import io

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from audit.services import event_record
from tests.conftest import login_verified


@pytest.fixture
def superuser_client(client, db):
    call_command("seed_demo", stdout=io.StringIO())
    event_record(action="test.admin")
    superuser = User.objects.get(email="admin@plateforme.local")
    login_verified(client, superuser)
    return client


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_every_admin_list_search_and_change_page_loads(superuser_client, model):
    model_admin = admin.site._registry[model]
    changelist = superuser_client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    if model_admin.search_fields:
        assert superuser_client.get(admin_url(model, "changelist"), {"q": "démo"}).status_code == 200
    request = changelist.wsgi_request
    if model_admin.has_add_permission(request):
        assert superuser_client.get(admin_url(model, "add")).status_code == 200
    obj = model._default_manager.first()
    if obj is not None:
        assert superuser_client.get(admin_url(model, "change", obj.pk)).status_code == 200


def test_the_admin_covers_every_model_of_the_platform():
    from django.apps import apps

    ours = {"accounts", "audit", "consultations", "deposits", "messaging", "signatures", "awards"}
    missing = [
        m._meta.label
        for m in apps.get_models()
        if m._meta.app_label in ours and m not in admin.site._registry and m.__name__ != "ChainHead"
    ]
    assert missing == []


@pytest.mark.django_db
def test_audit_events_cannot_be_changed_in_the_admin(superuser_client):
    from audit.models import Event

    event = Event.objects.first()
    response = superuser_client.post(admin_url(Event, "change", event.pk), {"action": "autre"})
    assert response.status_code == 403
    response = superuser_client.post(admin_url(Event, "delete", event.pk), {"post": "yes"})
    assert response.status_code == 403
