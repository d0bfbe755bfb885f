import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AppendOnlyError, Event
from audit.services import chain_verify, event_record


def tamper(sql: str, params=()) -> None:
    """What someone with direct database access could do, triggers out of the way."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_immutable")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS audit_event_immutable")
        cursor.execute(sql, params)


@pytest.fixture
def three_events(company_user):
    return [
        event_record(action="test.first", actor=company_user.user),
        event_record(action="test.second", target=company_user.company, data={"file": "offre.pdf"}),
        event_record(action="test.third"),
    ]


@pytest.mark.django_db
def test_events_are_numbered_in_order_and_chained(three_events):
    first, second, third = three_events
    assert [e.sequence for e in three_events] == [1, 2, 3]
    assert second.previous_hash == first.hash and third.previous_hash == second.hash
    assert chain_verify() == []
    call_command("audit_verify")


@pytest.mark.django_db
def test_altering_an_event_makes_the_verification_fail_and_name_it(three_events, capsys):
    tamper("UPDATE audit_event SET action = %s WHERE sequence = 2", ["test.innocent"])
    with pytest.raises(CommandError):
        call_command("audit_verify")
    err = capsys.readouterr().err
    assert "Événement n° 2" in err and "contenu modifié" in err


@pytest.mark.django_db
def test_deleting_an_event_makes_the_verification_fail_and_name_the_gap(three_events, capsys):
    tamper("DELETE FROM audit_event WHERE sequence = 2")
    with pytest.raises(CommandError):
        call_command("audit_verify")
    err = capsys.readouterr().err
    assert "Événement n° 3" in err and "supprimé" in err and "n° 2" in err


@pytest.mark.django_db
def test_deleting_the_latest_event_is_detected_too(three_events):
    tamper("DELETE FROM audit_event WHERE sequence = 3")
    problems = chain_verify()
    assert problems and "s'arrête au n° 2" in str(problems[-1])


@pytest.mark.django_db
def test_the_application_refuses_to_modify_or_delete_an_event(three_events):
    event = Event.objects.get(sequence=1)
    event.action = "autre"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


@pytest.mark.django_db
def test_the_database_refuses_an_update_of_an_event(three_events):
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_event SET action = 'x' WHERE sequence = 1")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrence réelle : PostgreSQL seulement")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    import threading

    from django.db import connections

    barrier = threading.Barrier(4)
    errors = []

    def write(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(15):
                event_record(action="test.concurrent", data={"worker": worker, "n": n})
        except Exception as error:  # reported below, not swallowed
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(Event.objects.values_list("sequence", flat=True)) == list(range(1, 61))
    assert chain_verify() == []


@pytest.mark.django_db
def test_values_the_database_would_give_back_changed_are_refused():
    with pytest.raises(TypeError):
        event_record(action="test.float", data={"amount": 1e16})
    with pytest.raises(TypeError):
        event_record(action="test.keys", data={1: "a"})


@pytest.mark.django_db
def test_an_ipv6_address_is_recorded_in_canonical_form_and_the_chain_holds(rf):
    request = rf.get("/", REMOTE_ADDR="2001:DB8:0:0:0:0:0:1")
    event = event_record(action="test.ipv6", request=request)
    assert Event.objects.get(pk=event.pk).ip_address == "2001:db8::1"
    assert chain_verify() == []


@pytest.mark.django_db
def test_a_trusted_proxy_gives_the_client_address_and_nothing_the_client_forged(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert event_record(action="test.proxy", request=request).ip_address == "203.0.113.7"
