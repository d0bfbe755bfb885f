"""The French templates agents start from, and the database's refusal to change a
sent message.

PostgreSQL (what production runs) refuses to delete a message or an attachment, to
change a message's content, and to change a first reading once written. SQLite, the
embedded default, refuses the same updates but not deletes: its tests flush tables
with DELETE. The model refuses both everywhere.
"""

from django.db import migrations

from messaging.default_templates import DEFAULT_TEMPLATES


def templates_create(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    for kind, (subject, body) in DEFAULT_TEMPLATES.items():
        MessageTemplate.objects.get_or_create(kind=kind, defaults={"subject": subject, "body": body})


PG_FORWARD = """
CREATE OR REPLACE FUNCTION messaging_message_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'a sent message is never deleted';
    END IF;
    IF (NEW.thread_id, NEW.direction, NEW.kind, NEW.subject, NEW.body, NEW.sent_at, NEW.sent_by_id,
        NEW.batch, NEW.in_reply_to_id, NEW.answer_due_at, NEW.is_late, NEW.content_sha256,
        NEW.sender_email, NEW.company_siret, NEW.consultation_reference)
       IS DISTINCT FROM
       (OLD.thread_id, OLD.direction, OLD.kind, OLD.subject, OLD.body, OLD.sent_at, OLD.sent_by_id,
        OLD.batch, OLD.in_reply_to_id, OLD.answer_due_at, OLD.is_late, OLD.content_sha256,
        OLD.sender_email, OLD.company_siret, OLD.consultation_reference) THEN
        RAISE EXCEPTION 'a sent message is never changed';
    END IF;
    IF OLD.first_read_at IS NOT NULL AND (NEW.first_read_at, NEW.first_read_by_id)
       IS DISTINCT FROM (OLD.first_read_at, OLD.first_read_by_id) THEN
        RAISE EXCEPTION 'the first reading of a message is never changed';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER messaging_message_immutable BEFORE UPDATE OR DELETE ON messaging_message
    FOR EACH ROW EXECUTE FUNCTION messaging_message_immutable();

CREATE OR REPLACE FUNCTION messaging_attachment_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a sent attachment is never changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER messaging_attachment_immutable BEFORE UPDATE OR DELETE ON messaging_attachment
    FOR EACH ROW EXECUTE FUNCTION messaging_attachment_immutable();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS messaging_message_immutable ON messaging_message;
DROP FUNCTION IF EXISTS messaging_message_immutable();
DROP TRIGGER IF EXISTS messaging_attachment_immutable ON messaging_attachment;
DROP FUNCTION IF EXISTS messaging_attachment_immutable();
"""
SQLITE_FORWARD = [
    """
CREATE TRIGGER messaging_message_immutable BEFORE UPDATE ON messaging_message
WHEN NEW.subject IS NOT OLD.subject OR NEW.body IS NOT OLD.body OR NEW.sent_at IS NOT OLD.sent_at
    OR NEW.content_sha256 IS NOT OLD.content_sha256 OR NEW.thread_id IS NOT OLD.thread_id
    OR NEW.kind IS NOT OLD.kind OR NEW.answer_due_at IS NOT OLD.answer_due_at
    OR NEW.is_late IS NOT OLD.is_late OR NEW.sent_by_id IS NOT OLD.sent_by_id
    OR NEW.direction IS NOT OLD.direction OR NEW.batch IS NOT OLD.batch
    OR NEW.in_reply_to_id IS NOT OLD.in_reply_to_id OR NEW.sender_email IS NOT OLD.sender_email
    OR NEW.company_siret IS NOT OLD.company_siret
    OR NEW.consultation_reference IS NOT OLD.consultation_reference
    OR (OLD.first_read_at IS NOT NULL AND (NEW.first_read_at IS NOT OLD.first_read_at
        OR NEW.first_read_by_id IS NOT OLD.first_read_by_id))
BEGIN
    SELECT RAISE(ABORT, 'a sent message is never changed');
END;
""",
    """
CREATE TRIGGER messaging_attachment_immutable BEFORE UPDATE ON messaging_attachment
BEGIN
    SELECT RAISE(ABORT, 'a sent attachment is never changed');
END;
""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS messaging_message_immutable;",
    "DROP TRIGGER IF EXISTS messaging_attachment_immutable;",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]
    operations = [
        migrations.RunPython(templates_create, migrations.RunPython.noop),
        migrations.RunPython(forward, backward),
    ]
