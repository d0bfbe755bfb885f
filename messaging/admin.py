"""The messaging in the admin: the message templates are edited here; the threads,
messages, attachments and e-mail notifications are legal records, shown read-only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from consultations.admin import ReadOnlyAdmin
from messaging.models import Attachment, Delivery, Message, MessageTemplate, Thread

PLACEHOLDERS_HELP = _(
    "Repères remplacés à l'ouverture du formulaire par l'agent : {reference} (référence de la "
    "consultation), {titre} (son intitulé), {acheteur} (l'organisme acheteur), {entreprise} "
    "(l'entreprise destinataire), {date_limite} (date limite de remise des plis, heure de Paris), "
    "{lien} (adresse de la consultation sur la plateforme). Tout autre texte entre accolades "
    "reste tel quel."
)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "subject", "updated_at"]
    search_fields = ["subject", "body"]
    readonly_fields = ["updated_at"]
    fields = ["kind", "subject", "body", "updated_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["help_texts"] = {
            "kind": _("Un seul modèle par type de message."),
            "subject": PLACEHOLDERS_HELP,
            "body": PLACEHOLDERS_HELP,
        }
        return super().get_form(request, obj, change, **kwargs)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["name", "size", "sha256", "scan"]


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = ["email", "status", "attempts", "sent_at", "error"]


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["sent_at", "direction", "kind", "subject", "first_read_at", "email_failed"]


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ["consultation", "company", "created_at"]
    search_fields = ["consultation__reference", "consultation__title", "company__name", "company__siret"]
    list_select_related = ["consultation", "company"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["subject", "kind", "direction", "thread", "sent_at", "first_read_at", "email_failed"]
    list_filter = ["kind", "direction", "email_failed", "is_late"]
    search_fields = [
        "subject",
        "thread__consultation__reference",
        "thread__company__name",
        "thread__company__siret",
        "sent_by__email",
        "content_sha256",
    ]
    list_select_related = ["thread__consultation", "thread__company"]
    date_hierarchy = "sent_at"
    inlines = [AttachmentInline, DeliveryInline]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "message", "size", "scan"]
    list_filter = ["scan"]
    search_fields = ["name", "sha256", "message__subject"]
    list_select_related = ["message"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["email", "message", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    search_fields = ["email", "message__subject"]
    list_select_related = ["message"]
