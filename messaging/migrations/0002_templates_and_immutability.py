"""The French templates agents start from, and the database's refusal to change a
sent message.

PostgreSQL (what production runs) refuses to delete a message or an attachment, to
change a message's content, and to change a first reading once written. SQLite, the
embedded default, refuses the same updates but not deletes: its tests flush tables
with DELETE. The model refuses both everywhere.
"""

from django.db import migrations

TEMPLATES = {
    "amendment": (
        "Modification de la consultation {reference}",
        "Madame, Monsieur,\n\n{acheteur} a modifié la consultation {reference} — {titre}.\n\n"
        "Le détail de la modification figure ci-dessous. La date limite de remise des plis est fixée "
        "au {date_limite}.\n\nLe dossier à jour se consulte sur : {lien}",
    ),
    "answer": (
        "Réponse aux questions — consultation {reference}",
        "Madame, Monsieur,\n\n{acheteur} a publié une réponse à une question posée sur la consultation "
        "{reference} — {titre}.\n\nLes questions et les réponses se lisent sur : {lien}",
    ),
    "documents_request": (
        "Demande de compléments — consultation {reference}",
        "Madame, Monsieur,\n\nDans le cadre de la consultation {reference} — {titre}, nous vous "
        "demandons de bien vouloir nous transmettre les pièces suivantes :\n\n- \n\n"
        "Merci de répondre depuis ce message, en joignant les documents, avant la date indiquée.\n\n"
        "Cordialement,\n{acheteur}",
    ),
    "negotiation": (
        "Négociation — consultation {reference}",
        "Madame, Monsieur,\n\nVotre offre pour la consultation {reference} — {titre} a été retenue pour "
        "la phase de négociation.\n\nNous vous invitons à préciser les points suivants :\n\n- \n\n"
        "Cordialement,\n{acheteur}",
    ),
    "invitation": (
        "Invitation à concourir — consultation {reference}",
        "Madame, Monsieur,\n\nVotre candidature à la consultation {reference} — {titre} a été retenue. "
        "Nous vous invitons à présenter une offre avant le {date_limite}.\n\n"
        "Le dossier de consultation est disponible sur : {lien}\n\nCordialement,\n{acheteur}",
    ),
    "rejection": (
        "Consultation {reference} : rejet de votre offre",
        "Madame, Monsieur,\n\nNous avons le regret de vous informer que votre offre pour la consultation "
        "{reference} — {titre} n'a pas été retenue.\n\nVotre note : \nNote de l'attributaire : \n"
        "Nom de l'attributaire : \nMotifs du rejet : \n\n"
        "Le marché ne sera pas signé avant l'expiration du délai de suspension.\n\n"
        "Cordialement,\n{acheteur}",
    ),
    "award": (
        "Consultation {reference} : attribution du marché",
        "Madame, Monsieur,\n\nNous avons le plaisir de vous informer que votre offre pour la consultation "
        "{reference} — {titre} a été retenue.\n\nAvant la signature du marché, merci de nous transmettre "
        "en réponse à ce message, dans un délai de 7 jours francs, les attestations de régularité fiscale "
        "et sociale.\n\nCordialement,\n{acheteur}",
    ),
    "notification": (
        "Consultation {reference} : notification du marché",
        "Madame, Monsieur,\n\nVous trouverez ci-joint le marché signé pour la consultation {reference} — "
        "{titre}. La date de première lecture de ce message vaut date de notification.\n\n"
        "Cordialement,\n{acheteur}",
    ),
    "cancellation": (
        "Consultation {reference} déclarée sans suite",
        "Madame, Monsieur,\n\n{acheteur} a déclaré sans suite la consultation {reference} — {titre}.",
    ),
    "free": ("Consultation {reference}", "Madame, Monsieur,\n\n\n\nCordialement,\n{acheteur}"),
}


def templates_create(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    for kind, (subject, body) in TEMPLATES.items():
        MessageTemplate.objects.get_or_create(kind=kind, defaults={"subject": subject, "body": body})


PG_FORWARD = """
CREATE OR REPLACE FUNCTION messaging_message_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'a sent message is never deleted';
    END IF;
    IF (NEW.thread_id, NEW.direction, NEW.kind, NEW.subject, NEW.body, NEW.sent_at, NEW.sent_by_id,
        NEW.batch, NEW.in_reply_to_id, NEW.answer_due_at, NEW.is_late, NEW.content_sha256)
       IS DISTINCT FROM
       (OLD.thread_id, OLD.direction, OLD.kind, OLD.subject, OLD.body, OLD.sent_at, OLD.sent_by_id,
        OLD.batch, OLD.in_reply_to_id, OLD.answer_due_at, OLD.is_late, OLD.content_sha256) THEN
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
    OR (OLD.first_read_at IS NOT NULL AND NEW.first_read_at IS NOT OLD.first_read_at)
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
